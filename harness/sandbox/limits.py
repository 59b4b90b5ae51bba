"""A sandboxed run's limits, and how they are put on its first process before it runs anything."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Optional

from harness.sandbox.cgroups import RunGroup
from harness.sandbox.walk import MB


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096  # the run's memory (cgroup), or each process's address space (rlimit) without cgroups
    processes: int = 512  # the run's tasks (cgroup), or else RLIMIT_NPROC per uid (only for a non-root uid)
    file_mb: int = 256  # largest file a child may write
    open_files: int = 1024
    output_mb: int = 64  # stdout + stderr together; past this the child is killed (a flood, like a timeout)
    disk_mb: int = 512  # each dir a child may write, and each scratch tmpfs under bwrap
    tree_entries: int = 2000  # what is kept of a writable dir (harness/sandbox/copies.py): entries, depth
    tree_depth: int = 32

    def impose(self, pid: int, cpu_s: float, group: Optional[RunGroup]) -> None:
        """On a child held before it runs anything (harness.sandbox.run_control.spawn_held): move it into the run's cgroup, which
        then holds memory and processes, and set its rlimits (memory and processes among them without a cgroup)."""
        mb = MB
        limits = [(resource.RLIMIT_FSIZE, self.file_mb * mb), (resource.RLIMIT_NOFILE, self.open_files),
                  (resource.RLIMIT_CPU, int(cpu_s) + 1), (resource.RLIMIT_CORE, 0)]
        if group is None:
            limits += [(resource.RLIMIT_AS, self.memory_mb * mb), (resource.RLIMIT_NPROC, self.processes)]
        else:  # an rlimit would bite first, unseen: a refused allocation or fork leaves no count to read
            group.admit(pid)
        for name, value in limits:
            resource.prlimit(pid, name, (value, value))
