"""The folder under which a warm bwrap template sees scoring runs: a mount of its own, shared, so that the tmpfs
each run's folder is (harness/sandbox/writable.py), mounted after the template started, reaches the template's
namespace too (bwrap makes its copy a slave: mounts propagate in, never out). Each child of the template sees only
its own run's folder there (harness/inside/harness_warm.py): the template's view of the others is not theirs.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import tempfile
import threading
from pathlib import Path

from harness.sandbox.bwrap import NOBODY, Mounts, bwrap_argv, filter_fd
from harness.sandbox.removal import remove_tree
from harness.sandbox.warm import TEMPLATE, after_templates, remove_stale

MS_BIND, MS_SHARED, MNT_DETACH = 4096, 1 << 20, 2
PREFIX = "harness-warm-root-"  # then the pid of the harness, and a random name
_libc = ctypes.CDLL(None, use_errno=True)
_lock = threading.Lock()


def _check(done: int, what: str) -> None:
    if done != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), what)


@functools.lru_cache(maxsize=None)
def _made() -> Path:
    remove_stale(PREFIX)
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir="/tmp"))  # under the /tmp a child covers
    path = os.fsencode(root)
    try:
        _check(_libc.mount(path, path, None, MS_BIND, None), str(root))
    except OSError:
        os.rmdir(root)
        raise
    try:
        _check(_libc.mount(None, path, None, MS_SHARED, None), str(root))
    except OSError:
        _drop(root)
        raise
    after_templates(functools.partial(_drop, root))
    return root


def warm_root() -> Path:
    """The folder (made on first use, for the life of this process; a 0700 folder of root's)."""
    with _lock:
        return _made()


def _drop(root: Path) -> None:
    with _lock:
        _libc.umount2(os.fsencode(root), MNT_DETACH)
        remove_tree(root)
        _made.cache_clear()  # a run after this makes a root anew


def bwrap_template(folder: Path, env: dict, disk_bytes: int) -> tuple[list[str], dict, list[int]]:
    """The warm template in a long-lived bwrap of the same namespaces as a cold child's, seeing the scoring runs'
    folders (warm_root), as root with the few capabilities harness_warm.py drops in each child: its command
    line, the environment bwrap itself gets, and the seccomp filter's descriptor it is passed."""
    seccomp = filter_fd()
    argv = [sys.executable, "-c", TEMPLATE, str(folder / "warm.sock"), "--uid", str(NOBODY)]
    wrapped = bwrap_argv(argv, env, Mounts(folder, [], [warm_root()], True, None), disk_bytes, True, seccomp,
                         template=True)
    return wrapped, {"PATH": os.environ.get("PATH", "")}, [seccomp]


def hidden(cwd: Path, mounts: Mounts) -> list[Path]:
    """The folders of `cwd` a warm child must not see: those a cold child's view of it would not show (the
    implementation's copy, beside the suite's)."""
    shown = {p for p in [*mounts.read_only, *mounts.shared] if p.parent == cwd}
    return [p for p in cwd.iterdir() if p not in shown and p.is_dir() and not p.is_symlink()]
