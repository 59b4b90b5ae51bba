"""Reading trees the harness did not write: an agent's work dir, an imported folder, a parent's impl (copies and
hashes of them, in harness/sandbox/copies.py, read them the same way).

Such a tree is hostile. It is read through the one walker (harness/sandbox/walk.py): no link followed at any step,
capped in entries, depth and bytes: `leak.txt -> /proc/self/environ` would otherwise hand the harness's own
environment to the next generation. Only regular files and folders are taken, under names a shell can handle
(printable, not starting with '-', no space at either end; a name that is not UTF-8 is refused as such), each
file at most SOURCE_FILE_MB. What is refused comes back as data with its reason, never as an exception: a
hostile tree is the model's failure, not the harness's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterator, Sequence

from harness.sandbox.walk import CACHES, MB, TreeCaps, Walk, open_folder, read_regular  # noqa: F401 (TreeCaps: re-exported)

SOURCE_FILE_MB = 8  # a file past this is not source code: refused (a spec's implementations are a few hundred KB)
NAMED_PER_REASON = 3  # a record's detail names this many refused entries per reason, then counts the rest


def refusal(name: str, st: os.stat_result) -> str:
    """Why an entry of an untrusted tree is left out, or '' to take it."""
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return "not a regular file"
    return unsafe_name(name)


def unsafe_name(name: str) -> str:
    """Why a file name would trouble a user's shell or tools, or '': not UTF-8, unprintable (a newline, an escape
    sequence), starting with '-' (read as an option), or with a space at either end."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name not UTF-8"
    if not name.isprintable() or name.startswith("-") or name != name.strip():
        return "name a shell cannot handle"
    return ""


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


class _Taker:
    """Takes regular files one by one against the byte caps, noting what it refuses."""

    def __init__(self, caps: TreeCaps):
        self.caps, self.left, self.refused = caps, caps.bytes, []

    def take(self, dir_fd: int, name: str, rel: str) -> bytes | None:
        limit = min(self.left, SOURCE_FILE_MB * MB)
        try:
            data = read_regular(dir_fd, name, limit)
        except OSError as exc:
            self.refused.append((rel, f"unreadable: {exc.strerror}"))
            return None
        except ValueError:  # no longer the regular file it was a moment ago
            self.refused.append((rel, "not a regular file"))
            return None
        if len(data) > limit:
            over_total = limit == self.left
            self.refused.append((rel, f"over the {self.caps.bytes / MB:g} MB total" if over_total
                                 else f"larger than {SOURCE_FILE_MB} MB"))
            return None
        self.left -= len(data)
        return data


class Reading:
    """One pass over an untrusted tree under an open folder: the files named in `first` that are regular files at
    those paths, then every other file the walk takes (`first` are then skipped). The walk notes its refusals."""

    def __init__(self, root_fd: int, caps: TreeCaps, first: Sequence[str]):
        self.root_fd, self.first, self.taker = root_fd, first, _Taker(caps)
        self.walk = Walk(root_fd, caps.entries, caps.depth, refusal, CACHES)

    def files(self) -> Iterator[tuple[str, int, str]]:
        """(rel, fd of its folder, name) of each file taken; the fd is valid until the next item."""
        taken = set()
        for rel in self.first:
            found = _lookup(self.root_fd, rel)
            if found is not None:
                taken.add(rel)
                try:
                    yield rel, found[0], found[1]
                finally:
                    os.close(found[0])
        for entry in self.walk:
            if not entry.is_dir and entry.rel not in taken:
                yield entry.rel, entry.dir_fd, entry.name

    def tree(self, files: dict[str, str]) -> Tree:
        stopped = self.walk.entries if self.walk.stopped else 0
        return Tree(files, tuple(self.walk.refused + self.taker.refused), stopped)


def _lookup(root_fd: int, rel: str) -> tuple[int, str] | None:
    """An fd of the folder holding `rel` and its name, if every step is a folder and it a regular file, under
    names the walk would take; else None (the walk will meet it and say why)."""
    *folders, name = rel.split("/")
    if any(part in ("", ".", "..") for part in (*folders, name)):
        return None
    fd = os.dup(root_fd)
    try:
        for part in folders:
            st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if refusal(part, st) or not stat.S_ISDIR(st.st_mode):
                raise FileNotFoundError(rel)
            below = open_folder(part, fd, st)
            os.close(fd)
            fd = below
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if refusal(name, st) or not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(rel)
        return fd, name
    except OSError:
        os.close(fd)
        return None


def unreadable(exc: OSError) -> Tree:
    return Tree({}, ((".", f"unreadable: {exc.strerror}"),))


def read_tree(root: os.PathLike | str, caps: TreeCaps, first: Sequence[str] = ()) -> Tree:
    """The UTF-8 text files under `root` (those named in `first` read first, so that no cap meets them), and what
    was refused: links, special files, names a shell cannot handle, binary files, folders past `caps.depth`, files
    past SOURCE_FILE_MB or `caps.bytes` in all. `root` itself must be a folder, not a link to one."""
    try:
        root_fd = open_folder(os.fspath(root))
    except OSError as exc:
        return unreadable(exc)
    files: dict[str, str] = {}
    try:
        reading = Reading(root_fd, caps, first)
        for rel, dir_fd, name in reading.files():
            data = reading.taker.take(dir_fd, name, rel)
            if data is None:
                continue
            try:
                files[rel] = data.decode("utf-8")
            except UnicodeDecodeError:
                reading.taker.refused.append((rel, "binary"))
                reading.taker.left += len(data)
    finally:
        os.close(root_fd)
    return reading.tree(files)
