"""A cgroup per sandboxed run: limits the kernel holds over everything the run starts, the events it counts when
they bite, and every process of the run, found and killed at its end.

cgroup v1, memory and pids controllers (what this harness's machines mount). Each run gets a group of its own in
each, made under the harness's own group (so whatever limits and accounting hold the harness hold the run too);
the harness moves the run's first process into it before that process runs anything: all it starts inherits the
membership, whatever session, process group or parent it takes, and only a process allowed to write the cgroup
files can leave. Where the groups cannot be made (no v1 hierarchy, cgroup v2 only, not root), `usable()` says so
and the sandbox falls back to rlimits, whose hits leave no trace the harness can read.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from pathlib import Path
from typing import Optional

from harness.seams import Events

ROOT = Path("/sys/fs/cgroup")
PREFIX = "harness-"  # harness-<pid of the harness>-<serial>
CONTROLLERS = ("memory", "pids")
_serial = itertools.count()


def _own_path(controller: str) -> Optional[Path]:
    """The folder of the harness's own group in `controller`'s v1 hierarchy, from /proc/self/cgroup."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return ROOT / controller / path.lstrip("/")
    return None


class RunGroup:
    """The groups of one run, one per controller, made with the run's limits."""

    def __init__(self, memory_bytes: int, max_pids: int):
        name = f"{PREFIX}{os.getpid()}-{next(_serial)}"
        self.folders = [_own_path(c) / name for c in CONTROLLERS]  # usable() checked both exist
        self._procs = [str(folder / "cgroup.procs") for folder in self.folders]
        memory, pids = self.folders
        try:
            for folder in self.folders:
                folder.mkdir()
            (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            if (memory / "memory.memsw.limit_in_bytes").exists():  # no escape into swap either
                (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            (pids / "pids.max").write_text(str(max_pids))
        except OSError:
            self._remove()
            raise

    def admit(self, pid: int) -> None:
        """Move process `pid` into the groups: the run's first process, held before it runs anything."""
        for path in self._procs:
            with open(path, "w") as procs:
                procs.write(str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill_all(self, patience_s: float = 10.0) -> None:
        """SIGKILL every process in the groups until none is left: a process forking meanwhile is caught on a
        later pass, and the pids limit keeps the passes few."""
        deadline = time.monotonic() + patience_s
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.005)

    def events(self) -> Events:
        memory, pids = self.folders
        oom = dict(line.split() for line in (memory / "memory.oom_control").read_text().splitlines())
        refused = dict(line.split() for line in (pids / "pids.events").read_text().splitlines())
        return Events(int(oom.get("oom_kill", 0)), int(refused.get("max", 0)),
                      int((memory / "memory.failcnt").read_text()))

    def close(self) -> Events:
        """Kill what is left, read the counts and remove the groups."""
        self.kill_all()
        events = self.events()
        self._remove()
        return events

    def _remove(self) -> None:
        for folder in self.folders:
            for _ in range(200):  # a killed process leaves its group a moment after it is reaped
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)


@functools.lru_cache(maxsize=None)
def usable() -> bool:
    """Whether runs get cgroups here: a group can be made, limited and removed in both controllers."""
    try:
        if any(_own_path(c) is None or not _own_path(c).is_dir() for c in CONTROLLERS):
            return False
        RunGroup(64 * 1024 * 1024, 64).close()
    except OSError:
        return False
    _remove_stale()
    return True


def _remove_stale() -> None:
    """Remove the empty groups a harness killed mid-run left behind (a group with processes in it stays)."""
    for controller in CONTROLLERS:
        for folder in _own_path(controller).glob(f"{PREFIX}*-*"):
            owner = folder.name[len(PREFIX):].split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                try:
                    folder.rmdir()
                except OSError:
                    pass
