"""Reading files the harness did not write: an agent's work dir, an imported folder, a parent's impl.

Such a tree is treated as hostile. Only regular files are read; no link is ever followed (every step is opened
relative to an open folder, with O_NOFOLLOW), because a link resolves on the host, outside the sandbox that made
it: `leak.txt -> /proc/self/environ` would hand the harness's own environment to the next generation. The walk
is capped in entries, depth and bytes. What is refused comes back as data with its reason, never as an
exception: a hostile tree is the model's failure, not the harness's.

The built-in agent's file tools (harness/inside/filetools.py) walk and read with the same functions inside the sandbox,
where this file is mounted beside them: it imports nothing but the standard library.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Mapping

if TYPE_CHECKING:
    from harness.config.schema import SandboxConfig

MB = 1024 * 1024
SKIPPED = {"__pycache__", ".pytest_cache"}  # caches: left out silently, as specs.iter_files does
NAMED_PER_REASON = 3  # a record's detail names this many refused entries per reason, then counts the rest


@dataclass(frozen=True)
class TreeCaps:
    entries: int  # entries of any kind examined (files, folders, links); the walk stops there
    depth: int  # folders below the root; deeper ones are refused
    bytes: int  # bytes read in all; files past it are refused

    @classmethod
    def of(cls, sandbox: "SandboxConfig") -> "TreeCaps":
        """From a SandboxConfig: a tree may hold no more than the disk a sandboxed child may fill (`disk_mb`)."""
        return cls(sandbox.tree_entries, sandbox.tree_depth, sandbox.disk_mb * MB)


@dataclass(frozen=True)
class Tree:
    files: dict[str, str]  # relative posix path -> text
    refused: tuple[tuple[str, str], ...]  # (relative path, reason), in walk order
    stopped_at: int = 0  # the entry cap that ended the walk early, if it did

    def note(self) -> str:
        """What was left out, short enough for a record's detail: names grouped by reason."""
        groups: dict[str, list[str]] = {}
        for path, reason in self.refused:
            groups.setdefault(reason, []).append(_shown(path))
        listed = ", ".join(_named(names) + f" ({reason})" for reason, names in groups.items())
        count = len(self.refused)
        parts = [f"refused {count} entr{'y' if count == 1 else 'ies'}: {listed}"] if count else []
        if self.stopped_at:
            parts.append(f"read no further than {self.stopped_at} entries")
        return "; ".join(parts)


def _named(names: list[str]) -> str:
    rest = len(names) - NAMED_PER_REASON
    return ", ".join(names[:NAMED_PER_REASON]) + (f" and {rest} more" if rest > 0 else "")


def _shown(path: str) -> str:
    path = "".join(c if c.isprintable() else "?" for c in path)
    return path if len(path) <= 60 else f"{path[:28]}...{path[-28:]}"


class Walk:
    """Regular files under an open folder, in name order; every other entry is refused with its reason."""

    def __init__(self, caps: TreeCaps):
        self.caps, self.seen, self.refused, self.stopped = caps, 0, [], False

    def files(self, dir_fd: int, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, int, str]]:
        """(relative path, fd of its folder, name) of each regular file; the fd is valid until the next item."""
        for name in self._names(dir_fd):
            if self.seen >= self.caps.entries:
                self.stopped = True
                return
            self.seen += 1
            rel = prefix + name
            try:
                name.encode("utf-8")
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            except UnicodeEncodeError:
                self.refused.append((rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                                     "name not UTF-8"))
                continue
            except OSError as exc:
                self.refused.append((rel, f"unreadable: {exc.strerror}"))
                continue
            if stat.S_ISREG(mode):
                yield rel, dir_fd, name
            elif not stat.S_ISDIR(mode):
                self.refused.append((rel, "symlink" if stat.S_ISLNK(mode) else "not a regular file"))
            elif depth >= self.caps.depth:
                self.refused.append((rel, f"deeper than {self.caps.depth} folders"))
            else:
                yield from self._below(dir_fd, name, rel, depth)

    def _names(self, dir_fd: int) -> list[str]:
        # No more names than the cap leaves room for: a folder of a million entries costs no more than the cap.
        room = max(self.caps.entries - self.seen + 1, 0)
        with os.scandir(dir_fd) as entries:
            names = [entry.name for _, entry in zip(range(room), entries)]
        return sorted(name for name in names if name not in SKIPPED)

    def _below(self, dir_fd: int, name: str, rel: str, depth: int) -> Iterator[tuple[str, int, str]]:
        try:
            below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        except OSError as exc:  # replaced by a link since it was looked at, or unreadable
            self.refused.append((rel, f"unreadable: {exc.strerror}"))
            return
        try:
            yield from self.files(below, rel + "/", depth + 1)
        finally:
            os.close(below)


def read_regular(dir_fd: int, name: str, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the regular file `name`, opened without following a link (and without
    blocking, should a FIFO have taken its place)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
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


def read_tree(root: os.PathLike | str, caps: TreeCaps) -> Tree:
    """The UTF-8 text files under `root`, and what was refused: links, special files, binary files, folders past
    `caps.depth`, files past `caps.bytes` in all. `root` itself must be a folder, not a link to one (a work dir
    the agent replaced, say)."""
    walk, files, left = Walk(caps), {}, caps.bytes
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        return Tree({}, ((".", f"unreadable: {exc.strerror}"),))
    try:
        for rel, dir_fd, name in walk.files(root_fd):
            try:
                data = read_regular(dir_fd, name, left)
            except OSError as exc:
                walk.refused.append((rel, f"unreadable: {exc.strerror}"))
                continue
            except ValueError:  # no longer the regular file it was a moment ago
                walk.refused.append((rel, "not a regular file"))
                continue
            if len(data) > left:
                walk.refused.append((rel, f"over the {caps.bytes / MB:g} MB total"))
                continue
            try:
                files[rel] = data.decode("utf-8")
            except UnicodeDecodeError:
                walk.refused.append((rel, "binary"))
                continue
            left -= len(data)
    finally:
        os.close(root_fd)
    return Tree(files, tuple(walk.refused), caps.entries if walk.stopped else 0)


def write_tree(folder: os.PathLike | str, files: Mapping[str, str]) -> None:
    """Write `files` (relative paths from read_tree, or checked ones) into a fresh `folder` of ours."""
    shutil.rmtree(folder, ignore_errors=True)  # a retried trial must not inherit files from its last attempt
    for rel, text in files.items():
        target = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
