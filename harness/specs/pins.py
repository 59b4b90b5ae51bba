"""Pinned remote files (a URL plus its sha256): fetched once into a local cache, verified, offline afterwards.

Used for the paper's original spec text and for importing a published implementation. A file whose hash does not
match is never stored and never used.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.records.atomic import write_bytes_atomic

FETCH_TIMEOUT_S = 30


@dataclass(frozen=True)
class Pin:
    url: str
    sha256: str


def cached_path(pin: Pin, cache_dir: Path) -> Path:
    return Path(cache_dir) / "pins" / pin.sha256


def fetch(pin: Pin, cache_dir: Path) -> Path:
    """The local copy of a pinned file, downloading and verifying it on first use."""
    target = cached_path(pin, cache_dir)
    if target.is_file() and _sha256(target.read_bytes()) == pin.sha256:
        return target
    try:
        with urllib.request.urlopen(pin.url, timeout=FETCH_TIMEOUT_S) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(
            f"cannot fetch {pin.url} ({exc.__class__.__name__}: {getattr(exc, 'reason', exc)}) and it is not cached; "
            f"fetch it once with network access, or place the verified file at {target}"
        ) from exc
    digest = _sha256(data)
    if digest != pin.sha256:
        raise ConfigError(f"{pin.url} has sha256 {digest}, but the pin says {pin.sha256}; the file was not used")
    try:
        write_bytes_atomic(target, data)
    except OSError as exc:
        raise ConfigError(f"cannot keep {pin.url} at {target} ({exc.strerror}); set downloads_dir to a folder you "
                          "can write") from None
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
