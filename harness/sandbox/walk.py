"""Walking a folder a child wrote: its size, its entries, its removal.

A child's folder is walked without recursion and without following a link: it may be deeper than Python's
recursion limit, which os.walk and shutil.rmtree (3.11) recurse into, and a link in it leads anywhere.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator


def disk_usage(folder: Path, stop_above: int) -> int:
    """Bytes allocated under `folder` (sparse files count what they hold), counting no further than `stop_above`."""
    total = 0
    for _, st in entries(folder):
        total += st.st_blocks * 512
        if total > stop_above:
            break
    return total


def entries(root: os.PathLike | str) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` with its lstat, never following a link. Folders past the system's path length
    limit (about 2,000 levels of one-letter names) are not entered."""
    stack = [os.fspath(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                for entry in found:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    yield entry.path, st
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue


def remove_tree(root: os.PathLike | str) -> None:
    """shutil.rmtree(root, ignore_errors=True) without its recursion."""
    if not os.path.lexists(root):
        return
    if os.path.islink(root) or not os.path.isdir(root):
        os.unlink(root)
        return
    folders = [os.fspath(root)]
    for path, st in entries(root):
        if stat.S_ISDIR(st.st_mode):
            folders.append(path)  # found after its parent, so removed before it
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:
            pass
