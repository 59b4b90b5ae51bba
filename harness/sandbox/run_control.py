"""A child a sandbox starts: starting it under its limits, waiting for it within them, stopping it, and killing
all it left behind."""

from __future__ import annotations

import errno
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from harness.sandbox.cgroups import RunGroup
from harness.sandbox.pipes import Drain, OutputLimit
from harness.seams import Events, ExecResult
from harness.sweep import interrupt

# How often, while a child runs, the dirs it may write are measured against the disk limit.
DISK_CHECK_S = 0.25
# A child's first process waits here until the harness has put its limits on it from outside, then becomes the
# command: one exec of a small shell. Setting them inside, with a preexec_fn, made Popen fork the whole harness
# (100 to 200 ms a spawn from a harness holding 1 GB, benchmarks/sandbox_wait.py) and run Python in the child of
# a process that may have other threads, which can deadlock it.
HOLD = ["/bin/sh", "-c", 'read -r go && exec "$@" </dev/null', "sh"]


def spawn_held(argv: Sequence[str], cwd: Path, env: Mapping[str, str], pass_fds: Sequence[int],
               limit: Callable[[int], None]) -> subprocess.Popen:
    """Start `argv` in a session of its own, stdin /dev/null, stdout and stderr piped, once `limit(pid)` has set
    its limits: until then its first process waits in HOLD, having run nothing of the command."""
    _must_exist(argv[0], cwd, env)
    gate_r, gate_w = os.pipe()
    try:
        proc = subprocess.Popen([*HOLD, *argv], cwd=cwd, env=env, stdin=gate_r, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, pass_fds=pass_fds)
    except BaseException:
        os.close(gate_w)
        raise
    finally:
        os.close(gate_r)
    try:
        limit(proc.pid)
        os.write(gate_w, b"go\n")
    except BaseException:
        kill_group(proc.pid)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        raise
    finally:
        os.close(gate_w)
    return proc


def _must_exist(program: str, cwd: Path, env: Mapping[str, str]) -> None:
    """Raise for a program that is not there or cannot run, as Popen does: behind HOLD, it would only be exit
    status 127 or 126 and a line on stderr."""
    if os.sep in program:
        path: Optional[str] = os.path.join(cwd, program)
    else:
        path = shutil.which(program, path=os.pathsep.join(os.get_exec_path(dict(env))))
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)


@dataclass(frozen=True)
class DiskWatch:
    """Where a child's writes go, each with its test of being full: the writable dirs it may write (a capped tmpfs whose
    free space is read, or a folder walked and measured: harness/sandbox/writable.py) and bwrap's private tmpfs
    mounts. A cap the kernel holds stops the writes; being found full ends the run as `disk`."""

    checks: Sequence[Callable[[], bool]]

    def over(self) -> bool:
        return any(full() for full in self.checks)


class Running:
    """A started child. `wait` lets it run to its end or a limit, `stop` ends it now; either kills everything it
    started and returns what came back. Used as a context manager, it is stopped on the way out."""

    def __init__(self, proc: subprocess.Popen, drains: list[Drain], flood: OutputLimit, timeout_s: float,
                 watch: DiskWatch, returncode: Callable[[int], int], kill: Callable[[int], None],
                 group: Optional[RunGroup] = None):
        self.proc, self.drains, self.flood, self._kill, self.group = proc, drains, flood, kill, group
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s
        self.watch, self._returncode = watch, returncode
        self._result: Optional[ExecResult] = None

    def wait(self) -> ExecResult:
        """Wait until the child ends, its time is up or the dirs it may write outgrow the disk limit.

        The wait blocks on the child's pidfd, which wakes it the moment the child ends (Popen.wait with a timeout
        sleeps in steps growing to 50 ms instead, so a run took 25 ms longer on average). The writable dirs it uses
        are looked at every DISK_CHECK_S and the child killed once one is full (a capped one holds by itself; a
        walked one is overshot by what a fast writer writes in that time). The pidfd belongs to this run alone, so waits in
        several threads share nothing, and the child is reaped only after the wait, so the pid killed at a
        limit cannot be another process's."""
        timed_out = disk_exceeded = False
        if self._result is None:
            # A sweep's trials run in threads; Ctrl-C reaches only the main thread, which kills the runs in flight
            # through this registration (harness/sweep/interrupt.py).
            with interrupt.killable(lambda: self._kill(self.proc.pid)):
                timed_out, disk_exceeded = self._wait_for_end()
        return self._finish(timed_out, disk_exceeded)

    def _wait_for_end(self) -> tuple[bool, bool]:
        """Block until the child ends (False, False), its time is up (True, False) or its dirs outgrow the disk
        limit (False, True)."""
        own = getattr(self.proc, "pidfd", None)  # a warm child's, taken while it was alive (harness/sandbox/warm.py)
        pidfd = os.dup(own) if own is not None else os.pidfd_open(self.proc.pid)
        try:
            ended = select.poll()
            ended.register(pidfd, select.POLLIN)
            while not ended.poll(1000 * min(DISK_CHECK_S, max(0.0, self.deadline - time.monotonic()))):
                if time.monotonic() >= self.deadline:
                    return True, False
                if self.watch.over():
                    return False, True
            return False, False
        finally:
            os.close(pidfd)

    def stop(self) -> ExecResult:
        return self._finish(False, False)

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _finish(self, timed_out: bool, disk_exceeded: bool) -> ExecResult:
        if self._result is None:
            disk_exceeded = disk_exceeded or self.watch.over()  # left full as it ended (bwrap's tmpfs: before the kill)
            self._kill(self.proc.pid)  # also takes down grandchildren left behind by a finished child
            self.proc.wait()
            # The cgroup holds whatever the tree walk missed: a daemon that left the session and its parents.
            events = self.group.close() if self.group else Events()
            for drain in self.drains:
                drain.join(timeout=5)  # a grandchild that left the group may hold a pipe open: do not wait for it
            report = self.drains[2].text() if len(self.drains) > 2 else ""
            self._result = ExecResult(self._returncode(self.proc.returncode), self.drains[0].text(),
                                      self.drains[1].text(), timed_out and not self.flood.exceeded,
                                      time.monotonic() - self.started, self.flood.exceeded, report, disk_exceeded,
                                      events)
        return self._result


def kill_tree(root: int) -> None:
    """SIGKILL `root`'s process group, its descendants, and every process in a session one of them leads.

    The group alone misses children that made a group or session of their own (the implementation's room makes
    one per connection); their parents are looked up before anyone dies, as orphans lose the link. Reading
    /proc costs milliseconds, so a second look, for children forked meanwhile, is taken only if the first found
    more than `root`."""
    table = _processes()
    doomed, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent and pid not in doomed]
        doomed.update(children)
        frontier.extend(children)
    leaders = {pid for pid in doomed if pid in table and table[pid][2] == pid}
    for look in range(2):
        doomed |= {pid for pid, (_, pgid, sid) in table.items() if sid in leaders or pgid == root}
        kill_group(root)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if len(doomed) == 1:
            break
        table = _processes() if look == 0 else table


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _processes() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent, process group, session), from /proc (os.read: a file object per process costs double)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
                try:
                    fields = os.read(fd, 4096).rsplit(b")", 1)[1].split()
                finally:
                    os.close(fd)
                table[int(name)] = (int(fields[1]), int(fields[2]), int(fields[3]))
            except (OSError, IndexError, ValueError):
                pass
    return table
