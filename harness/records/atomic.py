"""Atomic file writes (readers, other workers and a resumed sweep see the old file or the whole new one, never
half) and the lock that lets several harness processes share one experiment."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str).encode("utf-8"))


def quarantine(path: Path) -> Optional[Path]:
    """Move a corrupt file into `corrupt/` beside it, under a name that never overwrites an earlier one; None when
    another reader moved it first (and said so)."""
    folder = path.parent / "corrupt"
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.name}.{os.getpid()}.{len(list(folder.iterdir()))}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target


@contextmanager
def locked(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `path` (created if needed); yields False at once when `wait` is off and another
    process holds it. The kernel drops the lock when its holder exits or dies (SIGKILL included), so a crashed
    sweep never leaves a stale lock behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
