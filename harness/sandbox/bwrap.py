"""The bubblewrap command line: what a bwrap child sees of the host, and the uid it runs as.

An empty root with /usr, the few files of /etc named in ETC, Python and the venv mounted read-only; the work dir
writable, or (while scoring) a capped tmpfs showing only the paths named; capped private /tmp; /dev, a private
/proc; the gateway's socket, when given, the one way out. As root, the command inside drops to uid `nobody` with
setpriv.
"""

from __future__ import annotations

import os
import stat
import struct
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
GATEWAY_SOCKET = "/run/gateway.sock"
# A warm template's: each child's mounts, IPC and network namespaces, then nobody with no capability left.
WARM_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_NET_ADMIN")
WARM_HOLD = "/run/warm-hold"  # where a warm child's own run folder is held while it builds its /tmp
# The kernel's keyrings are not namespaced by bwrap: as root, every child is uid nobody of the host's user
# namespace, whose user keyring outlives it, so one trial could leave code or answers there for the next. A
# seccomp filter makes add_key, request_key and keyctl fail with EPERM. Their numbers, by the audit arch of
# each ABI a Linux of ours may run (an x86_64 kernel also runs i386 and x32, an arm64 one arm):
KEYRING_CALLS = {0xC000003E: (248, 249, 250), 0x40000003: (286, 287, 288),  # x86_64 (and x32), i386
                 0xC00000B7: (217, 218, 219), 0x40000028: (309, 310, 311)}  # aarch64, arm


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


def _keyring_filter() -> bytes:
    """KEYRING_CALLS as a classic BPF program for seccomp: struct sock_filter {u16 code; u8 jt, jf; u32 k}."""
    load, jump_eq, mask, ret = 0x20, 0x15, 0x54, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_ALU|AND|K, BPF_RET|K
    program = [(load, 0, 0, 4)]  # seccomp_data.arch
    for arch, numbers in KEYRING_CALLS.items():
        program += [(jump_eq, 0, 6, arch), (load, 0, 0, 0), (mask, 0, 0, 0xBFFFFFFF)]  # nr, x32's bit cleared
        program += [(jump_eq, None, 0, number) for number in numbers] + [(ret, 0, 0, 0x7FFF0000)]  # allow
    program += [(ret, 0, 0, 0x7FFF0000), (ret, 0, 0, 0x00050000 | 1)]  # unknown arch: allow; else EPERM
    deny = len(program) - 1
    return b"".join(struct.pack("=HBBI", code, deny - i - 1 if jt is None else jt, jf, k)
                    for i, (code, jt, jf, k) in enumerate(program))


KEYRING_FILTER = _keyring_filter()


def filter_fd() -> int:
    """A descriptor bwrap's --seccomp reads KEYRING_FILTER from: a fresh pipe each time, as bwrap reads to its end."""
    read, write = os.pipe()
    os.write(write, KEYRING_FILTER)  # 248 bytes: far under a pipe's buffer, so this never blocks
    os.close(write)
    return read


def bwrap_argv(argv: list[str], env: dict, mounts: Mounts, disk_bytes: int, as_root: bool,
               seccomp_fd: int, template: bool = False) -> list[str]:
    """The bwrap command that runs `argv` with `env` in what `mounts` says, as uid nobody when run as root, with
    the filter bwrap reads from `seccomp_fd` (see filter_fd). A warm `template` (harness/sandbox/warm.py) stays
    root, with only the capabilities it needs to give each child a mount namespace of its own and then drop to
    nobody (harness/inside/harness_warm.py), and a folder, WARM_HOLD, for it to mount the child's folder on."""
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"]
    if not as_root:
        namespaces.append("--unshare-user")
    wrapped = ["bwrap", *namespaces, "--die-with-parent", "--new-session", "--hostname", "sandbox",
               "--seccomp", str(seccomp_fd)]
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
    wrapped += [arg for cap in WARM_CAPS for arg in ("--cap-add", cap)] + ["--dir", WARM_HOLD] if template else []
    wrapped += ["--chdir", str(cwd), "--clearenv"]
    for key, value in env.items():
        wrapped += ["--setenv", key, value]
    if as_root and not template:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--", *argv]
    return wrapped + ["--", *argv]


def scratch_full(bwrap_pid: int, paths: Sequence[str], own: bool = False) -> bool:
    """Whether one of a bwrap child's capped tmpfs mounts at `paths` is full (under 1 % free, or no inode left),
    seen through the root of bwrap's child, /proc/<pid>/root. Before the child has its root, that is the host's.
    `own`: the pid is the child itself (a warm template's, in a mount namespace of its own from the start)."""
    try:
        children = [bwrap_pid] if own else Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children").read_text().split()
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
