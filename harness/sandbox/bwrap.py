"""The bubblewrap command line: what a bwrap child sees of the host, and the uid it runs as.

An empty root with /usr, the few files of /etc named in ETC, Python and the venv mounted read-only; the work dir
writable, or (while scoring) a capped tmpfs showing only the paths named; capped private /tmp; /dev, a private
/proc; the gateway's socket, when given, the one way out. As root, the command inside drops to uid `nobody` with
setpriv.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from harness.sandbox.walk import OWN_TREES, Walk, open_folder

NOBODY = 65534
# What of the host's /etc a child sees, and why; nothing else there (a key or credentials file a user keeps
# under /etc stays out of reach). A file the host lacks is skipped.
ETC = {
    "passwd": "names for uids (Python's getpass, Node's os.userInfo, ps, id)",
    "group": "names for gids",
    "nsswitch.conf": "how glibc looks those two up",
    "hosts": "`localhost` resolves (an agent may be told its gateway is at http://localhost:8000)",
    "ld.so.cache": "where the dynamic linker finds shared libraries",
    "localtime": "the local time zone",
    "alternatives": "Debian's links behind commands such as awk and editor",
}
GATEWAY_SOCKET = "/run/gateway.sock"  # where the gateway's Unix socket is bound inside the sandbox


@dataclass(frozen=True)
class Mounts:
    """What a bwrap child sees of the host besides the system and Python."""

    cwd: Path
    read_only: list[Path]
    shared: list[Path]  # writable, and possibly bound into another child too
    keep_writes: bool  # cwd itself writable; else a capped tmpfs showing only read_only and shared
    gateway: Optional[Path]


def hand_over(folder: Path, uid: int) -> None:
    """Let the unprivileged uid write in its work dir (and nowhere else): the folder and what is in it, walked by
    descriptor, no link followed. A sticky folder was laid out by the harness for several writers (the rooms'
    shared dir, owned by root so that neither room can rename what the other relies on): it is left as it is."""
    fd = open_folder(str(folder))
    try:
        if os.fstat(fd).st_mode & stat.S_ISVTX:
            return
        os.fchown(fd, uid, uid)
        for entry in Walk(fd, OWN_TREES.entries, OWN_TREES.depth):
            if entry.st.st_uid != uid:
                try:  # a shared dir may be in use already by the other child bound to it
                    os.chown(entry.name, uid, uid, dir_fd=entry.dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    pass
    finally:
        os.close(fd)


def bwrap_argv(argv: list[str], env: dict, mounts: Mounts, disk_bytes: int, as_root: bool) -> list[str]:
    """The bwrap command that runs `argv` with `env` in what `mounts` says, as uid nobody when run as root."""
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"]
    if not as_root:
        namespaces.append("--unshare-user")
    wrapped = ["bwrap", *namespaces, "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    wrapped += ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    for name in ETC:
        wrapped += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for path in ("/bin", "/lib", "/lib64", "/sbin"):  # symlinks into /usr on Debian
        host = Path(path)
        if host.is_symlink():
            wrapped += ["--symlink", os.readlink(host), path]
        elif host.exists():
            wrapped += ["--ro-bind", path, path]
    scratch = ["--perms", "1777", "--size", str(disk_bytes), "--tmpfs"]
    wrapped += [*scratch, "/tmp", "--dev", "/dev", "--proc", "/proc"]
    cwd, read_only = mounts.cwd, mounts.read_only
    python = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})
    # e.g. a chain's agent, run from its copy
    outside = [p for p in [*read_only, *mounts.shared] if not p.is_relative_to(cwd)]
    for path in [*python, cwd, *outside]:
        for parent in reversed(path.parents[:-1]):  # traversable parents: nobody must reach the mount
            if str(parent) != "/tmp":
                wrapped += ["--perms", "0755", "--dir", str(parent)]
    for path in python:
        wrapped += ["--ro-bind", str(path), str(path)]
    if mounts.keep_writes:
        wrapped += ["--bind", str(cwd), str(cwd)]
    else:  # the work dir is a capped tmpfs showing only the paths named: writes never reach the disk
        wrapped += [*scratch, str(cwd)]
    for path in dict.fromkeys(read_only):  # inside the work dir, these are mounted over it
        wrapped += ["--ro-bind", str(path), str(path)]
    for path in mounts.shared:
        wrapped += ["--bind", str(path), str(path)]
    if mounts.gateway is not None:  # the one way out: connecting to a socket needs it bound writable
        wrapped += ["--perms", "0755", "--dir", "/run", "--bind", str(mounts.gateway), GATEWAY_SOCKET]
    wrapped += ["--chdir", str(cwd), "--clearenv"]
    for key, value in env.items():
        wrapped += ["--setenv", key, value]
    if as_root:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--", *argv]
    return wrapped + ["--", *argv]


def scratch_full(bwrap_pid: int, paths: Sequence[str]) -> bool:
    """Whether one of a bwrap child's capped tmpfs mounts at `paths` is full (under 1 % free, or no inode left),
    seen through the root of bwrap's child, /proc/<pid>/root. Before the child has its root, that is the host's."""
    try:
        children = Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children").read_text().split()
    except OSError:
        return False
    for child in children:
        for path in paths:
            try:
                found = os.statvfs(f"/proc/{child}/root{path}")
            except OSError:
                continue
            if found.f_bavail < found.f_blocks / 100 or (found.f_files and found.f_favail == 0):
                return True
    return False
