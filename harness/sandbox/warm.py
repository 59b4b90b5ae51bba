"""Warm suite rooms: a long-lived template that has imported pytest (harness/inside/harness_warm.py), forking a
fresh child for each scoring run's suite, so that a run does not pay for an interpreter and pytest's imports.

The template runs only code the harness trusts; what a run loads (the suite, our plugin, the values the
implementation's room sends) is loaded by the child, which dies with its run. The child is held before it runs
anything of the run until the harness has put it in the run's cgroup and set its rlimits, as `spawn_held` holds a
cold child; its pid is the one the kernel gives with its "ready" (SO_PASSCRED: translated out of a sandbox's pid
namespace), its exit status the one the template reads from the kernel. A template that cannot be reached is
started again, and failing that the run is started cold; one that dies under a run makes the run `lost`, which
the scorer runs again (harness/scoring/rooms.py): never an outcome read from a run whose end was not seen.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from harness.config.schema import INSIDE
from harness.sandbox import starter, writable
from harness.sandbox.removal import remove_tree
from harness.sandbox.run_control import kill_group

log = logging.getLogger(__name__)
TEMPLATE = (INSIDE / "harness_warm.py").read_text()
# How long the harness waits for a template to start, a child to say "ready", or the template to report a
# child's end after it was killed: far past what each takes (milliseconds), short of hanging a trial.
PATIENCE_S = 30.0
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


PREFIX = "harness-warm-"  # harness-warm-<pid of the harness>-<random>: a template's folder in /tmp


def remove_stale(prefix: str) -> None:
    """Remove what a harness killed before its exit left in /tmp under `prefix` (its pid in the name, and that
    pid gone): a template's folder, or a bwrap template's root and the mounts on it."""
    for path in Path("/tmp").glob(f"{prefix}*-*"):
        owner = path.name[len(prefix):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                writable.clear(path)
            except OSError as exc:  # another harness's, being removed by it: not ours to insist on
                log.info("could not remove %s: %s", path, exc)


_afterwards: list[Callable[[], None]] = []  # what close_all removes once the templates are stopped


def after_templates(closer: Callable[[], None]) -> None:
    """Have `closer` run by close_all, after every template has stopped (a bwrap template's root)."""
    _afterwards.append(closer)


def close_all() -> None:
    """Stop every template and remove what they used: at exit, and before a command ends with os._exit (which
    skips exit handlers: harness/run/app.py)."""
    for warm in list(Warm._shared.values()):
        warm.close()
    while _afterwards:
        _afterwards.pop()()


atexit.register(close_all)


class WarmLost(Exception):
    """The template went away while one of its children ran: that run's end was not seen, so it must not count."""


@dataclass(frozen=True)
class WarmRequest:
    """One run asked of a template: pytest's arguments, the child's environment and cwd; under bwrap, the folders
    of the cwd it must not see (`hide`) and the size of its private /tmp (`tmp_bytes`)."""

    argv: list[str]
    env: dict
    cwd: str
    hide: tuple[str, ...] = ()
    tmp_bytes: int = 0


def warm_request(warm: Optional["Warm"], argv: Sequence[str], asked: bool, env: dict, cwd: Path,
                 hide: Sequence[Path] = (), tmp_bytes: int = 0) -> Optional[WarmRequest]:
    """What a warm template is asked to run; None to start `argv` cold: the sandbox is not warm, the caller did not
    ask, or `argv` is not the `python -m pytest` a template runs."""
    if warm is None or not asked or list(argv[:3]) != [sys.executable, "-m", "pytest"]:
        return None
    return WarmRequest(list(argv[3:]), dict(env), str(cwd), tuple(map(str, hide)), tmp_bytes)


class Warm:
    """One warm template per backend and harness process (a sandbox is built per trial; its template is not),
    started on first use and again whenever it is found dead. `launch(folder)` gives the command line and
    environment that start it with its socket in `folder` (a fresh 0700 folder of the harness), and descriptors it
    is passed (closed here once it started)."""

    _shared: dict[str, "Warm"] = {}

    def __init__(self, launch: Callable[[Path], tuple[list[str], dict, list[int]]]):
        self._launch = launch
        self._lock = threading.Lock()
        self._proc: Optional[subprocess.Popen] = None
        self._folder: Optional[Path] = None
        self._broken = False

    @classmethod
    def of(cls, backend: str, launch: Callable[[Path], tuple[list[str], dict, list[int]]]) -> "Warm":
        """The template of `backend`, made on first call."""
        with _made:
            if backend not in cls._shared:
                cls._shared[backend] = cls(launch)
            return cls._shared[backend]

    def spawn(self, request: WarmRequest, pass_fds: Sequence[int],
              limit: Callable[[int], None]) -> Optional["WarmProc"]:
        """The run forked from the template, held until `limit(pid)` has set its limits; None where no template
        can serve it (the caller starts it cold)."""
        message = json.dumps(dataclasses.asdict(request)).encode()
        failed = None
        for _ in range(2):  # a template found dead is started again, once
            path = self._socket(failed)
            if path is None:
                return None
            try:
                conn, pid = _request(path, message, pass_fds)
            except (OSError, ValueError):
                failed = path
                continue
            try:
                return _admit(conn, pid, limit)
            except OSError:  # the child went with its template before it was let go: nothing of the run began
                failed = path
        return None

    def _socket(self, failed: Optional[Path]) -> Optional[Path]:
        """The running template's socket, started anew if there is none, or if it is the one that `failed` (and
        not one another thread has started since, with runs of its own in flight)."""
        with self._lock:
            current = None if self._folder is None else self._folder / "warm.sock"
            if self._broken:
                return None
            if current is None or current == failed or self._proc.poll() is not None:
                self._start()
            return None if self._folder is None else self._folder / "warm.sock"

    def _start(self) -> None:
        self._stop()
        # In /tmp, not the temp dir of the moment: the template outlives whichever scoring run first needed it.
        remove_stale(PREFIX)
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir="/tmp"))
        argv, env, fds = self._launch(folder)
        try:
            with open(folder / "template.log", "wb") as errors:  # its own errors, if it fails to start
                # stdin a pipe the template watches: it ends when the harness does, however the harness ends.
                proc = starter.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env,
                                      start_new_session=True, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        if not _says_ready(proc.stdout.fileno()):
            kill_group(proc.pid)
            proc.wait()
            why = (folder / "template.log").read_text(errors="replace").strip().splitlines()[-1:]
            log.warning("the warm template did not start (%s): suites start cold", why[0] if why else "no output")
            self._broken = True  # not tried again in this process: every run would pay for the attempt
            remove_tree(folder)
            return
        self._proc, self._folder = proc, folder

    def _stop(self) -> None:
        if self._proc is not None:
            kill_group(self._proc.pid)
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                stream.close()
        if self._folder is not None:
            remove_tree(self._folder)
        self._proc = self._folder = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def pid(self) -> Optional[int]:
        """The template's pid (None before its first run): for tests that kill it."""
        return None if self._proc is None else self._proc.pid


_made = threading.Lock()


def _says_ready(fd: int) -> bool:
    """Whether a starting template wrote "ready" within PATIENCE_S. One that hangs on its way (an import, a mount)
    is given up on, so the run starts cold instead of waiting under the lock that every other run needs."""
    deadline, said = time.monotonic() + PATIENCE_S, b""
    while not said.endswith(b"\n") and len(said) < 64:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        part = os.read(fd, 64)
        if not part:  # it ended first
            return False
        said += part
    return said == b"ready\n"


def _request(path: Path, request: bytes, pass_fds: Sequence[int]) -> tuple[socket.socket, int]:
    """Ask the template for a child; its pid as this process sees it, once it says it is ready."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.settimeout(PATIENCE_S)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        conn.connect(str(path))
        socket.send_fds(conn, [request], list(pass_fds))
        message, ancillary, _, _ = conn.recvmsg(16, socket.CMSG_SPACE(_CRED.size))
        pids = [_CRED.unpack(data[:_CRED.size])[0] for level, kind, data in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
        if message != b"ready" or not pids:
            raise ValueError(f"the template answered {message!r}")
    except BaseException:
        conn.close()
        raise
    return conn, pids[0]


def _admit(conn: socket.socket, pid: int, limit: Callable[[int], None]) -> "WarmProc":
    # Its pidfd is taken while it waits for "go": the template reaps it, so its pid alone could name another
    # process by the time the caller looks (a cold child stays a zombie of the harness until it is waited for).
    pidfd = os.pidfd_open(pid)
    try:
        limit(pid)
        conn.send(b"go")
    except BaseException:
        kill_group(pid)
        os.close(pidfd)
        conn.close()
        raise
    return WarmProc(pid, conn, pidfd)


class WarmProc:
    """A child of the template, with what Running needs of a Popen: pid, wait() and returncode, and a pidfd to
    wait on (see _admit). Its stdout and stderr are the read ends the caller kept."""

    def __init__(self, pid: int, conn: socket.socket, pidfd: int):
        self.pid, self._conn, self.pidfd = pid, conn, pidfd
        self.returncode: Optional[int] = None
        self.lost = False
        self.stdout = self.stderr = None  # set by the caller: the read ends of the pipes it passed

    def wait(self) -> int:
        """The child's exit status, as the template read it from the kernel; -9 and `lost` if the template
        went away without saying (the caller has killed the child by then)."""
        if self.returncode is None:
            try:
                status = self._conn.recv(32)
                self.returncode = os.waitstatus_to_exitcode(int(status))
            except (OSError, ValueError):
                self.lost, self.returncode = True, -9
            finally:
                self._conn.close()
                os.close(self.pidfd)
        return self.returncode


def spawn_warm(warm: Warm, request: WarmRequest, pass_fds: Sequence[int],
               limit: Callable[[int], None]) -> Optional[WarmProc]:
    """`spawn_held` for a warm child: stdout and stderr piped (the read ends on the result), or None (start it
    cold)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    proc = None
    try:
        proc = warm.spawn(request, [out_w, err_w, *pass_fds], limit)
    finally:
        os.close(out_w)
        os.close(err_w)
        if proc is None:
            os.close(out_r)
            os.close(err_r)
    if proc is not None:
        proc.stdout, proc.stderr = open(out_r, "rb"), open(err_r, "rb")
    return proc
