"""Removing a tree a child wrote, by descriptor, however deep, and moving aside what must not be reused.

Each folder is opened from its parent's descriptor without following a link (harness/sandbox/walk.py) and its
entries unlinked relative to it (unlinkat), so a tree past PATH_MAX goes like any other, and a link is removed,
never followed. At most MAX_OPEN folders are held open: a deeper one is first moved up to the top of the tree
(a rename by descriptor, within the tree being removed) and emptied from there. Nothing recurses in Python.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field

from harness.sandbox.walk import open_folder

# Folders held open at once while removing a tree; a deeper folder is first moved up to the tree's top.
MAX_OPEN = 32
BATCH = 4096  # subfolder names taken from one listing while removing: a huge flat folder costs no huge list


def remove_tree(path: os.PathLike | str) -> None:
    """Remove `path` and everything under it, never following a link, however deep; what cannot be removed (a file
    made immutable, say) is left where it is. Its parent is ours: only `path` itself is looked at, not followed."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        remove_entry(parent_fd, name)
    finally:
        os.close(parent_fd)


def remove_entry(parent_fd: int, name: str) -> None:
    """Remove the entry `name` of the open folder `parent_fd`, and all under it if it is a folder."""
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=parent_fd)
            return
        fd = open_folder(name, parent_fd, st)
    except OSError:
        return
    try:
        _empty(fd)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except OSError:
        pass


@dataclass
class _Emptying:
    fd: int
    name: str  # in the folder below it on the stack
    todo: list = field(default_factory=list)  # subfolders to empty next
    stuck: set = field(default_factory=set)  # entries that could not be removed: not tried again


def _empty(root_fd: int) -> None:
    """Remove everything in the open folder. At most MAX_OPEN folders are held open: a folder deeper than that is
    moved up into the root first (a rename within the tree, by descriptor), to be emptied from there."""
    stack = [_Emptying(root_fd, "")]
    while stack:
        top = stack[-1]
        if not top.todo:
            top.todo = _clear_files(top.fd, top.stuck)
        if not top.todo:  # empty, but for what could not be removed
            stack.pop()
            if stack:
                os.close(top.fd)
                try:
                    _unlink(stack[-1].fd, top.name, folder=True)
                except OSError:
                    stack[-1].stuck.add(top.name)
            continue
        name = top.todo.pop()
        if len(stack) >= MAX_OPEN:
            if not _move_up(top.fd, name, root_fd):
                top.stuck.add(name)
            continue
        try:
            stack.append(_Emptying(open_folder(name, top.fd), name))
        except OSError:
            try:  # no longer a folder (a link now, say): remove the entry itself
                os.unlink(name, dir_fd=top.fd)
            except OSError:
                top.stuck.add(name)


def _clear_files(fd: int, stuck: set) -> list[str]:
    """Unlink every entry of the open folder but its subfolders; return up to BATCH of those."""
    folders = []
    with os.scandir(fd) as found:
        for entry in found:
            if entry.name in stuck:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir:
                    _unlink(fd, entry.name)
            except OSError:
                stuck.add(entry.name)
                continue
            if is_dir:
                folders.append(entry.name)
                if len(folders) >= BATCH:
                    break
    return folders


def _unlink(fd: int, name: str, folder: bool = False) -> None:
    remove = os.rmdir if folder else os.unlink
    try:
        remove(name, dir_fd=fd)
    except PermissionError:  # a folder made read-only (as the shown parent is): opened to its owner, by descriptor
        os.fchmod(fd, stat.S_IRWXU)
        remove(name, dir_fd=fd)


def _move_up(fd: int, name: str, root_fd: int) -> bool:
    try:
        os.rename(name, f".harness-deep-{secrets.token_hex(8)}", src_dir_fd=fd, dst_dir_fd=root_fd)
        return True
    except OSError:
        return False


def move_aside(path: os.PathLike | str) -> None:
    """Take whatever is at `path` out of the way, never reusing it: renamed to a hidden sibling, then removed by
    descriptor (what cannot be removed stays there, under that name, never at `path`)."""
    parent, name = os.path.split(os.path.abspath(path))
    if not os.path.lexists(path):
        return
    aside = f".{name}.old-{secrets.token_hex(6)}"
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.rename(name, aside, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        remove_entry(parent_fd, aside)
    finally:
        os.close(parent_fd)
