"""Writable dirs: each folder a child may write is a filesystem of its own, whose size the kernel caps.

As root, the harness mounts a tmpfs of `sandbox.disk_mb` over each folder it gives children to write (an agent's
work dir and HOME, a scoring run's folder with the rooms' shared dir), for as long as it is in use: a file
unlinked while open, space fallocated past a file's size (FALLOC_FL_KEEP_SIZE) and a tree past PATH_MAX all count
against it, and the host's disk is never reached. The harness holds its root open and reads its free
space with fstatvfs: a run that fills it is stopped and recorded `disk` (harness/sandbox/run_control.py). What
must outlive a writable dir (an agent's work dir, kept under runs/) is copied out inert (harness/sandbox/copies.py)
before the tmpfs is unmounted. Where no tmpfs can be mounted (not root), a writable dir is a plain folder, measured by
walking it, which cannot see a file unlinked while open or KEEP_SIZE blocks (docs/sandbox.md says so).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import secrets
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from harness.sandbox.copies import copy_tree
from harness.sandbox.removal import move_aside, remove_tree
from harness.sandbox.untrusted import Tree
from harness.sandbox.walk import OWN_TREES, TreeCaps, disk_usage, open_folder

log = logging.getLogger(__name__)

MS_NOSUID, MS_NODEV, MNT_DETACH, UMOUNT_NOFOLLOW = 2, 4, 2, 8
SOURCE = b"harness-writable"  # the device name `mount` lists: a tmpfs left by a harness that was killed shows as this
# A plain folder (no tmpfs) is measured by walking it, no further than OWN_TREES: a tree past that counts as full.
WALKED_ENTRIES, WALKED_DEPTH = OWN_TREES.entries, OWN_TREES.depth

_libc = ctypes.CDLL(None, use_errno=True)
_lock = threading.Lock()
_in_use: dict[str, "WritableDir"] = {}


@dataclass
class WritableDir:
    """A folder children may write, capped at `disk_bytes`; `fd` holds its root open while it is in use."""

    path: Path
    fd: int
    mounted: bool  # a tmpfs of its own; else a plain folder, walked to be measured
    disk_bytes: int
    kept: Optional[Tree] = None  # what the copy kept on release refused (see `writable`)

    def full(self) -> bool:
        """Whether the children have used it up: a tmpfs under 1 % free or out of inodes, or a plain folder
        holding more than `disk_bytes` (or more than can be measured)."""
        if self.mounted:
            found = os.fstatvfs(self.fd)
            return found.f_bavail < found.f_blocks / 100 or bool(found.f_files and found.f_favail == 0)
        used, whole = disk_usage(self.fd, self.disk_bytes, WALKED_ENTRIES, WALKED_DEPTH)
        return used > self.disk_bytes or not whole


def watch(path: Path, disk_bytes: int) -> Callable[[], bool]:
    """What tells whether a folder a child writes is full: its writable dir's check, or, for a folder no writable dir holds
    (one a caller made by hand), a walk of it from its path."""
    wdir = dir_of(path)
    if wdir is not None:
        return wdir.full

    def walked() -> bool:
        try:
            fd = open_folder(str(path))
        except OSError:
            return False
        try:
            used, whole = disk_usage(fd, disk_bytes, WALKED_ENTRIES, WALKED_DEPTH)
        finally:
            os.close(fd)
        return used > disk_bytes or not whole
    return walked


def dir_of(path: os.PathLike | str) -> Optional[WritableDir]:
    """The writable dir in use that holds `path`, if one does."""
    path = os.path.abspath(path)
    with _lock:
        for root, wdir in _in_use.items():
            if path == root or path.startswith(root + os.sep):
                return wdir
    return None


@contextmanager
def writable(path: os.PathLike | str, disk_bytes: int, keep: Optional[TreeCaps] = None) -> Iterator[WritableDir]:
    """A fresh writable dir at `path` for the duration: whatever was there (a leftover of a killed attempt, a tree past
    PATH_MAX, a tmpfs left mounted) is moved aside and removed, never reused. On the way out, with `keep`, what
    the children left is copied out inert to `path` under those caps (`WritableDir.kept` says what was refused);
    without, `path` is gone."""
    path = Path(os.path.abspath(path))
    clear(path)
    path.mkdir(parents=True, mode=0o755)
    mounted = _mount(path, disk_bytes)
    wdir = WritableDir(path, open_folder(str(path)), mounted, disk_bytes)
    with _lock:
        _in_use[str(path)] = wdir
    staging = path.with_name(f".{path.name}.keep-{secrets.token_hex(6)}")
    try:
        yield wdir
    finally:
        with _lock:
            del _in_use[str(path)]
        try:
            if keep is not None:
                wdir.kept = copy_tree(wdir.fd, staging, keep)
        finally:
            os.close(wdir.fd)
            _release(path, mounted)
        if keep is not None:
            os.rename(staging, path)


def clear(path: Path) -> None:
    """Take whatever is at `path` out of the way: a mount left there (a run's tmpfs, a warm template's root) is
    detached with every mount under it, the rest moved aside."""
    if mount_point(path):
        _unmount(path)
    move_aside(path)


def mount_point(path: Path) -> bool:
    """Whether something is mounted at `path` itself (a link there is not followed)."""
    try:
        if not os.path.lexists(path) or os.path.islink(path):
            return False
        if os.path.ismount(path):
            return True
    except OSError:
        return False
    # os.path.ismount compares devices and inodes with the parent's, so it misses a folder bind-mounted on itself
    # (a warm template's root, harness/sandbox/warm_root.py): the kernel's own list says.
    here = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
    return os.fsencode(here) in _mount_points()


def _mount_points() -> set[bytes]:
    # /proc/self/mountinfo: the mount point is the fifth field, with space, tab, newline and backslash as \ooo.
    with open("/proc/self/mountinfo", "rb") as info:
        points = [line.split(b" ")[4] for line in info if line.count(b" ") >= 5]
    return {re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), p) for p in points}


def _release(path: Path, mounted: bool) -> None:
    if mounted:
        _unmount(path)
        try:
            os.rmdir(path)
        except OSError:
            move_aside(path)
    else:
        remove_tree(path)


@functools.lru_cache(maxsize=None)
def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root, with CAP_SYS_ADMIN): tried once, on a folder of its own."""
    if os.geteuid() != 0:
        return False
    probe = tempfile.mkdtemp(prefix="harness-mount-probe-")
    try:
        _mount(Path(probe), 1024 * 1024, probing=True)
        _unmount(Path(probe))
        return True
    except OSError as exc:
        log.warning("cannot mount a tmpfs here (%s): the folders children write are measured by walking them, "
                    "which misses a file unlinked while open and space fallocated past a file's size", exc.strerror)
        return False
    finally:
        os.rmdir(probe)


def _mount(path: Path, disk_bytes: int, probing: bool = False) -> bool:
    if not probing and not can_mount():
        return False
    inodes = max(disk_bytes // 4096, 1024)  # a tmpfs's inodes cost memory its size does not count
    options = f"size={disk_bytes},nr_inodes={inodes},mode=0755".encode()
    # Mounted on the folder itself, through a handle opened without following a link: mount(2) would follow one
    # put in its place meanwhile.
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        done = _libc.mount(SOURCE, f"/proc/self/fd/{fd}".encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options)
    finally:
        os.close(fd)
    if done != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(path))
    return True


def _unmount(path: Path) -> None:
    # Detached, not unmounted: a process that outlived its run (under the process backend) may still hold it.
    if _libc.umount2(os.fsencode(path), MNT_DETACH | UMOUNT_NOFOLLOW) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(path))
