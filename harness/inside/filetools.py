"""The built-in agent's four file tools (read_file, write_file, list_files, search_text), run as a script inside
the sandbox, in the agent's work dir: `python -I -S -B filetools.py request.json` prints the tool's result.

Every path is relative to the work dir; `..` and absolute paths are refused whatever they would reach, and no
step of a path may be a link, so the tools see exactly the regular files the harness collects at the end,
through the same walker (harness/sandbox/walk.py, mounted at its own path: both import nothing but the standard
library).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import sys

# In the sandbox, harness/sandbox/walk.py is mounted at its own path, and nothing else of the harness is.
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sandbox"))
from walk import CACHES, TreeCaps, Walk, read_regular  # noqa: E402

MAX_MATCHES = 200  # lines search_text returns


def _parts(path: str, what: str = "path") -> list[str]:
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"the {what} must be a non-empty string relative to the work dir")
    if path.startswith("/"):
        raise ValueError(f"{path}: absolute paths are refused; give a {what} relative to the work dir")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{path}: '..' is refused; the tools stay inside the work dir")
    if not parts:
        raise ValueError(f"{path}: names the work dir itself, not a file")
    return parts


def _no_link(dir_fd: int, name: str, path: str) -> None:
    try:
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise ValueError(f"{path}: {name} is a link; links are not followed")
    except FileNotFoundError:
        pass


def _folder(root_fd: int, parts: list[str], path: str, create: bool = False) -> int:
    """An fd of the folder `parts` under the root, each step opened without following a link."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            _no_link(fd, part, path)
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_file(root_fd: int, caps: TreeCaps, path: str, start_line: int = 1, end_line: int | None = None) -> str:
    *folders, name = _parts(path)
    fd = _folder(root_fd, folders, path)
    try:
        _no_link(fd, name, path)
        data = read_regular(fd, name, caps.bytes)
    finally:
        os.close(fd)
    try:
        lines = data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    return "".join(lines[max(start_line, 1) - 1: end_line])


def write_file(root_fd: int, caps: TreeCaps, path: str, content: str) -> str:
    if not isinstance(content, str):
        raise ValueError("content must be a string")
    *folders, name = _parts(path)
    fd = _folder(root_fd, folders, path, create=True)
    try:
        _no_link(fd, name, path)
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644,
                      dir_fd=fd)
    finally:
        os.close(fd)
    with open(out, "wb") as handle:
        if not stat.S_ISREG(os.fstat(out).st_mode):
            raise ValueError(f"{path} is not a regular file")
        handle.write(content.encode("utf-8"))
    return "OK"


def _matches(parts: list[str], pattern: list[str]) -> bool:
    """pathlib's glob on path parts: `**` spans any number of folders; `*`, `?`, `[...]` stay within one."""
    def spread(states: set[int]) -> set[int]:  # a `**` may also span no folder at all
        stack = list(states)
        while stack:
            j = stack.pop()
            if j < len(pattern) and pattern[j] == "**" and j + 1 not in states:
                states.add(j + 1)
                stack.append(j + 1)
        return states

    states = spread({0})  # how much of the pattern the parts seen so far can have matched
    for part in parts:
        following = set()
        for j in states:
            if j < len(pattern) and pattern[j] == "**":
                following.add(j)  # `**` spans this folder too
            elif j < len(pattern) and fnmatch.fnmatchcase(part, pattern[j]):
                following.add(j + 1)
        states = spread(following)
    return len(pattern) in states


def _files(root_fd: int, caps: TreeCaps):
    """(rel, fd of its folder, name) of each regular file under the work dir, links neither followed nor listed."""
    for entry in Walk(root_fd, caps.entries, caps.depth, skip=CACHES):
        if stat.S_ISREG(entry.st.st_mode):
            yield entry.rel, entry.dir_fd, entry.name


def list_files(root_fd: int, caps: TreeCaps, pattern: str) -> str:
    wanted = _parts(pattern, "pattern")
    return "\n".join(sorted(rel for rel, _, _ in _files(root_fd, caps) if _matches(rel.split("/"), wanted)))


def search_text(root_fd: int, caps: TreeCaps, pattern: str, glob: str = "**/*") -> str:
    regex, wanted, hits, left = re.compile(pattern), _parts(glob, "glob"), [], caps.bytes
    for rel, dir_fd, name in _files(root_fd, caps):
        if not _matches(rel.split("/"), wanted):
            continue
        data = read_regular(dir_fd, name, left)
        left -= len(data)
        if left < 0:
            break
        lines = data.decode("utf-8", errors="replace").splitlines()
        hits += [f"{rel}:{number}: {line}" for number, line in enumerate(lines, 1) if regex.search(line)]
        if len(hits) >= MAX_MATCHES:
            break
    return "\n".join(hits[:MAX_MATCHES])


TOOLS = {"read_file": read_file, "write_file": write_file, "list_files": list_files, "search_text": search_text}


def run_tool(request: dict) -> str:
    """One tool call, in the current directory: its result, or `ERROR: ...`."""
    root_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        return TOOLS[request["tool"]](root_fd, TreeCaps(**request["caps"]), **request["args"])
    except (OSError, ValueError, TypeError, re.error) as exc:
        return f"ERROR: {exc}"
    finally:
        os.close(root_fd)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as request_file:
        sys.stdout.buffer.write(run_tool(json.load(request_file)).encode("utf-8", "backslashreplace"))
