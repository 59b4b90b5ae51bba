"""Walking a tree a child wrote, by descriptor: its entries, for its size, a copy, a hash (and, in
harness/sandbox/removal.py, its removal).

The one way the harness goes through such a tree. Every folder is opened relative to its parent's open
descriptor (openat with O_NOFOLLOW | O_DIRECTORY) and every entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW),
so a link is an entry like any other, never a way out: a folder swapped for a link while the tree is walked is
refused by the open, and one swapped for another folder is caught by comparing what was opened with what was
looked at. Nothing recurses in Python and no path longer than one name reaches the kernel, so a tree 2,300
folders deep (past PATH_MAX) is removed like a shallow one. Names are str as os.fsdecode makes them: a name that
is not UTF-8 is data (surrogate escapes), never a crash.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional

if TYPE_CHECKING:
    from harness.config.schema import SandboxConfig

MB = 1024 * 1024
CACHES = frozenset({"__pycache__", ".pytest_cache"})  # left out silently by readers, as a spec's hash leaves them
FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# An entry gone, or no longer the folder it was, when the walk came to it: it changed under the walk (and what it
# holds is seen under its new name, or on the next walk), which hides nothing for good.
CHANGED = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ESTALE})

# Why an entry is left out ("" to take it), from its name and lstat: the policy of a reader of the tree.
Refusal = Callable[[str, os.stat_result], str]


def open_folder(name: str, dir_fd: Optional[int] = None, expect: Optional[os.stat_result] = None) -> int:
    """Open the folder `name` (relative to `dir_fd`) without following a link; with `expect` (its lstat), only
    while it is still that folder."""
    fd = os.open(name, FOLDER, dir_fd=dir_fd)
    if expect is not None:
        found = os.fstat(fd)
        if (found.st_dev, found.st_ino) != (expect.st_dev, expect.st_ino):
            os.close(fd)
            raise OSError(errno.ESTALE, "replaced while it was walked", name)
    return fd


@dataclass(frozen=True)
class TreeCaps:
    entries: int  # entries of any kind looked at (files, folders, links); the walk stops there
    depth: int  # folders below the root; deeper ones are not entered
    bytes: int  # bytes read in all

    @classmethod
    def of(cls, sandbox: "SandboxConfig") -> "TreeCaps":
        """From a SandboxConfig: a tree may hold no more than the disk a sandboxed child may fill (`disk_mb`)."""
        return cls(sandbox.tree_entries, sandbox.tree_depth, sandbox.disk_mb * MB)


# Walking a tree the harness laid out itself (a trial's impl/, a spec's suite, what it put in a work dir) or only
# measures: caps that only a mistake, or a child past every other limit, would meet.
OWN_TREES = TreeCaps(entries=100_000, depth=128, bytes=1024 * MB)


def read_regular(dir_fd: int, name: str, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the regular file `name`, opened without following a link (and without
    blocking, should a FIFO have taken its place)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{name} is not a regular file")
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(MB, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    rel: str  # its path below the root, '/'-separated
    name: str
    dir_fd: int  # the folder holding it, open until the walk moves on
    st: os.stat_result  # its lstat
    depth: int  # folders between the root and it (0: in the root itself)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)


@dataclass
class _Frame:
    fd: int
    prefix: str
    names: Iterator[str]
    depth: int
    own: bool = True  # closed when left (not the caller's root)

    def close(self) -> None:
        if self.own:
            os.close(self.fd)


@dataclass
class Walk:
    """Every entry under the open folder `root_fd`, each folder before what it holds, names in order within a
    folder. At most `entries` entries are looked at (then `stopped` is set) and no folder `depth` deep is entered;
    what `refuse` names a reason for is neither given nor entered. What is left out is in `refused`; `blind` says
    that some of it is out of sight for a reason other than a change under the walk (the depth cap, a folder that
    cannot be read)."""

    root_fd: int
    entries: int
    depth: int
    refuse: Optional[Refusal] = None
    skip: frozenset = frozenset()  # names left out silently (caches)
    seen: int = 0
    stopped: bool = False
    blind: bool = False
    refused: list = field(default_factory=list)  # (rel, reason)

    def __iter__(self) -> Iterator[Entry]:
        frames = [_Frame(self.root_fd, "", self._names(self.root_fd), 0, own=False)]
        try:
            while frames:
                frame = frames[-1]
                name = next(frame.names, None)
                if name is None:
                    frames.pop().close()
                elif self.seen >= self.entries:
                    self.stopped = True
                    return
                else:
                    self.seen += 1
                    entry = self._look(frame, name)
                    if entry is not None:
                        yield entry
                        if entry.is_dir:
                            frames.extend(self._enter(entry))
        finally:
            for frame in frames:
                frame.close()

    def _names(self, fd: int) -> Iterator[str]:
        # No more names than the cap leaves room for: a folder of a million entries costs no more than the cap.
        room = max(self.entries - self.seen + 1, 0)
        with os.scandir(fd) as found:
            names = [entry.name for _, entry in zip(range(room), found)]
        return iter(sorted(name for name in names if name not in self.skip))

    def _look(self, frame: _Frame, name: str) -> Optional[Entry]:
        rel = frame.prefix + name
        try:
            st = os.stat(name, dir_fd=frame.fd, follow_symlinks=False)
        except OSError as exc:
            self._unreadable(rel, exc)
            return None
        reason = self.refuse(name, st) if self.refuse else ""
        if not reason and stat.S_ISDIR(st.st_mode) and frame.depth >= self.depth:
            reason, self.blind = f"deeper than {self.depth} folders", True
        if reason:
            self.refused.append((rel, reason))
            return None
        return Entry(rel, name, frame.fd, st, frame.depth)

    def _enter(self, entry: Entry) -> list[_Frame]:
        try:
            fd = open_folder(entry.name, entry.dir_fd, entry.st)
        except OSError as exc:  # replaced by a link since it was looked at, or unreadable
            self._unreadable(entry.rel, exc)
            return []
        try:
            names = self._names(fd)
        except OSError as exc:
            os.close(fd)
            self._unreadable(entry.rel, exc)
            return []
        return [_Frame(fd, entry.rel + "/", names, entry.depth + 1)]

    def _unreadable(self, rel: str, exc: OSError) -> None:
        self.refused.append((rel, f"unreadable: {exc.strerror}"))
        self.blind = self.blind or exc.errno not in CHANGED


def disk_usage(root_fd: int, stop_above: int, entries: int, depth: int) -> tuple[int, bool]:
    """Bytes allocated under the open folder (sparse files count what they hold), counting no further than
    `stop_above`, and whether all of it was in sight (not cut short by a cap or an unreadable folder)."""
    walk, total = Walk(root_fd, entries, depth), 0
    for entry in walk:
        total += entry.st.st_blocks * 512
        if total > stop_above:
            break
    return total, not (walk.stopped or walk.blind)
