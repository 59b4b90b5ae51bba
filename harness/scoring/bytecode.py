"""Bytecode for what a scoring run imports, made once in the harness and laid out beside each run's copies.

The rooms cannot write a bytecode cache (read-only, PYTHONDONTWRITEBYTECODE), so each run compiled everything it
imported: our standalone files (~12 ms a run), and the hidden suite, whose test modules pytest also rewrites
(parse, rewrite the asserts, compile: 45 ms a run for semver's, 240 ms for the agent's). pytest and Python read
a cache they find, if it matches: a pyc per file, as each would have written it, made once per file's content.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import marshal
from pathlib import Path

from harness.scoring import pyast

# PEP 552 flags: hash-based; checked (the source is hashed and compared on load) or not.
UNCHECKED, CHECKED = (0b01).to_bytes(4, "little"), (0b11).to_bytes(4, "little")


@functools.lru_cache(maxsize=None)
def unchecked(source: Path, mtime_ns: int) -> bytes:
    """A .pyc of one of our standalone files that Python loads without checking the source (ours, laid out by
    the harness from this very file)."""
    data = source.read_bytes()
    code = compile(data, source.name, "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + UNCHECKED + importlib.util.source_hash(data) + marshal.dumps(code)


def lay_out_suite(folder: Path, plugins: tuple[Path, ...] = ()) -> None:
    """Beside every module of the suite copied to `folder`, the pyc Python's import reads and the one pytest's
    assertion rewriter reads: whichever imports the module finds its own; beside our `plugins` (which have their
    plain pyc already), the one pytest reads, since it rewrites the plugins it loads. Both are checked against the
    source's hash, so a stale one is never used; a module that does not compile gets none (the suite's run says
    why, as it would have)."""
    tail = _pytest_tail()
    modules = [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts and p.is_file() and not p.is_symlink()]
    for path in [*modules, *plugins]:
        data = path.read_bytes()
        try:
            plain = None if path in plugins else _checked(data, rewrite=False)
            rewritten = _checked(data, rewrite=True) if tail else None
        except (SyntaxError, ValueError):
            continue
        (path.parent / "__pycache__").mkdir(exist_ok=True)
        if plain is not None:
            Path(importlib.util.cache_from_source(str(path))).write_bytes(plain)
        if rewritten is not None:
            (path.parent / "__pycache__" / (path.name[:-3] + tail)).write_bytes(rewritten)


def _pytest_tail():
    """The name pytest gives its rewritten pycs (`.cpython-311-pytest-9.2.0.pyc`), or None without pytest."""
    try:
        from _pytest.assertion.rewrite import PYC_TAIL
    except ImportError:
        return None
    return PYC_TAIL


@functools.lru_cache(maxsize=256)
def _checked(data: bytes, rewrite: bool) -> bytes:
    with pyast.LOCK:  # the parse, the rewrite and the compile of the tree (harness/scoring/pyast.py says why)
        return _compiled(data, rewrite)


def _compiled(data: bytes, rewrite: bool) -> bytes:
    """A checked-hash pyc of `data`, compiled as Python would, or with its asserts rewritten as pytest would
    (no config: our pytest.ini sets nothing the rewriter reads). pytest gives the code its file's name on load."""
    tree = ast.parse(data, filename="<suite>")
    if rewrite:
        from _pytest.assertion.rewrite import rewrite_asserts
        rewrite_asserts(tree, data, "<suite>", None)
    code = compile(tree, "<suite>", "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + CHECKED + importlib.util.source_hash(data) + marshal.dumps(code)
