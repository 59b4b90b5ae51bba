"""Copies and hashes of trees a child wrote, read as harness/sandbox/untrusted.py reads them.

A copy (what lands under runs/ from a child, or a tree laid out in a scoring room) holds only what a reader takes:
regular files, text or not, mode 0644, in folders mode 0755, under names a shell can handle. No link, FIFO,
device, setuid, setgid, sticky or world-writable bit survives it; what was left out comes back with its reason.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Mapping

from harness.sandbox.removal import move_aside
from harness.sandbox.untrusted import Reading, Tree, refusal, unreadable, unsafe_name
from harness.sandbox.walk import CACHES, MB, TreeCaps, Walk, open_folder


def copy_tree(source: os.PathLike | str | int, target: os.PathLike | str, caps: TreeCaps) -> Tree:
    """Copy what a reader takes from the tree under `source` (a path, or an open folder) into `target`, made anew
    (whatever was there is moved aside): regular files, text or not, mode 0644, in folders mode 0755. Returns what
    was refused (its `files` empty)."""
    move_aside(target)
    os.mkdir(target, 0o755)
    try:
        root_fd = os.dup(source) if isinstance(source, int) else open_folder(os.fspath(source))
    except OSError as exc:
        return unreadable(exc)
    target_fd = open_folder(os.fspath(target))
    try:
        reading = Reading(root_fd, caps, ())
        _copy(reading, target_fd)
    finally:
        os.close(root_fd)
        os.close(target_fd)
    return reading.tree({})


def _copy(reading: Reading, target_fd: int) -> None:
    """Each file the reading takes, written at the same place under `target_fd`, folders made on the way."""
    path = [("", target_fd)]  # the target's folders open on the current path: (rel, fd), the root first
    try:
        for rel, dir_fd, name in reading.files():
            here = _descend(path, rel.rpartition("/")[0])
            data = reading.taker.take(dir_fd, name, rel)
            if data is not None:
                _write_new(here, name, data)
    finally:
        for _, fd in path[1:]:
            os.close(fd)


def _descend(path: list[tuple[str, int]], folder: str) -> int:
    """The fd of the target folder `folder`, made if need be; `path` keeps only its ancestors open."""
    while path[-1][0] and not (folder + "/").startswith(path[-1][0] + "/"):
        os.close(path.pop()[1])
    for part in filter(None, folder[len(path[-1][0]):].split("/")):
        fd = path[-1][1]
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass
        below = open_folder(part, fd)
        os.fchmod(below, 0o755)
        path.append((f"{path[-1][0]}/{part}".lstrip("/"), below))
    return path[-1][1]


def _write_new(dir_fd: int, name: str, data: bytes) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        os.fchmod(out, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]
    finally:
        os.close(out)


def hash_tree(root: os.PathLike | str, caps: TreeCaps) -> tuple[str, Tree]:
    """A hash of the files a reader takes under `root` (each file's relative path and bytes, in walk order, and
    each refusal with its reason), and what was refused. For a tree with nothing refused, the same digest as
    harness/specs/loading.py's sha256_tree always gave."""
    digest = hashlib.sha256()
    try:
        root_fd = open_folder(os.fspath(root))
    except OSError as exc:
        return "", unreadable(exc)
    try:
        reading = Reading(root_fd, caps, ())
        for rel, dir_fd, name in reading.files():
            data = reading.taker.take(dir_fd, name, rel)
            if data is not None:
                digest.update(os.fsencode(rel) + b"\0")
                digest.update(hashlib.sha256(data).digest())
    finally:
        os.close(root_fd)
    tree = reading.tree({})
    for rel, reason in tree.refused:
        digest.update(b"refused\0" + os.fsencode(rel) + b"\0" + reason.encode() + b"\0")
    return digest.hexdigest(), tree


def past_caps(root: os.PathLike | str, caps: TreeCaps) -> str:
    """Why the tree under `root` is past a reader's caps (more entries, deeper, more bytes), or '': looked at
    without reading a byte, so that a folder to import is refused before anything is spent on it."""
    try:
        root_fd = open_folder(os.fspath(root))
    except OSError as exc:
        return f"cannot be opened as a folder ({exc.strerror})"
    try:
        walk, total = Walk(root_fd, caps.entries, caps.depth, refusal, CACHES), 0
        for entry in walk:
            total += entry.st.st_size if stat.S_ISREG(entry.st.st_mode) else 0
            if total > caps.bytes:
                return f"holds more than {caps.bytes / MB:g} MB (sandbox.disk_mb)"
    finally:
        os.close(root_fd)
    if walk.stopped:
        return f"holds more than {caps.entries} entries (sandbox.tree_entries)"
    if any(reason.startswith("deeper") for _, reason in walk.refused):
        return f"is deeper than {caps.depth} folders (sandbox.tree_depth)"
    return ""


def write_tree(folder: os.PathLike | str, files: Mapping[str, str]) -> None:
    """Write `files` (relative paths from read_tree, or checked ones) into a fresh `folder` of ours: whatever was
    there is moved aside, never reused. A path a reader would refuse is a bug of its caller (ValueError)."""
    for rel in files:
        bad = [part for part in rel.split("/") if part in ("", ".", "..") or unsafe_name(part)]
        if bad:
            raise ValueError(f"refusing to write {rel!r}: {unsafe_name(bad[0]) or 'not a relative path'}")
    move_aside(folder)
    os.makedirs(folder)
    for rel, text in files.items():
        target = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
