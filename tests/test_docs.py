"""The README is a newcomer's page and docs/ holds the rest: every docs page is linked from the README, and no
doc names a file, folder or Python name of ours that does not exist."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, ROOT / "specs" / "README.md", ROOT / "runs" / "README.md"]
# A path of ours: it starts at one of the repository's top folders. Output under runs/ is made by a sweep, and a
# <placeholder> or a glob stands for many, so neither is checked.
PATH = re.compile(r"(?<![\w/.-])((?:harness|specs|conf|tests|benchmarks|notebooks|tools|docs|\.ci)/[\w./<>*{}-]*)")
# Named in the docs but not files of the repository: the synthetic model's model string, and what
# tools/install-agents installs (ignored by git).
NOT_PATHS = {"harness/synthetic", "tools/agents/node_modules", "tools/agents/aider-venv"}
DOTTED = re.compile(r"(?<![\w/.-])(harness(?:\.[A-Za-z_]\w*)+)")


def named_paths(text: str) -> set[str]:
    found = {m.rstrip(".,:;)") for m in PATH.findall(text) if not re.search(r"[<>*{}]", m)}
    return {p for p in found if p.rstrip("/") not in NOT_PATHS}


def resolves(dotted: str) -> bool:
    """Whether `harness.a.b.Name.attr` is a module followed by attributes that exist, the first of them defined in
    that module (a function or class only imported there is named where it is defined)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
            if obj is not module and getattr(obj, "__module__", module.__name__) != module.__name__ and (
                    inspect.isfunction(obj) or inspect.isclass(obj)) and attr == parts[cut]:
                return False
        return True
    return False


def test_the_readme_is_short_and_links_every_docs_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 250, "README.md is a newcomer's page: move long sections to docs/"
    unlinked = [p.name for p in DOCS if f"(docs/{p.name})" not in text]
    assert DOCS and not unlinked, f"docs pages the README does not link: {unlinked}"


def test_the_path_finder_finds_paths_and_leaves_placeholders():
    text = "see `harness/run/hello_world.py`, specs/<name>/suite and docs/x.md. (also conf/model/)"
    assert named_paths(text) == {"harness/run/hello_world.py", "docs/x.md", "conf/model/"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_doc_names_exists(page):
    missing = sorted(p for p in named_paths(page.read_text()) if not (ROOT / p).exists())
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_name_a_doc_gives_exists(page):
    stale = sorted({d.rstrip(".") for d in DOTTED.findall(page.read_text()) if not resolves(d.rstrip("."))})
    assert not stale, f"{page.relative_to(ROOT)} names modules or attributes that do not exist: {stale}"
