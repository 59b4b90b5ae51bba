"""How the trials left to run become launcher jobs: batches of trials, a plan file the jobs read them from, and
the command line Hydra is handed.

Hydra's basic launcher runs its jobs one after another in this process, so it gets one job holding every trial
(run concurrently inside it, harness/sweep/pool.py). Another launcher gets the trials spread over its workers
(joblib's `n_jobs`), or one job per trial (submitit), unless `launch.trials_per_job` says how many each job
carries: on a SLURM cluster, enough that a job's start-up is paid for many trials. The plan file lives in the
experiment folder, on the filesystem the jobs share, under a name made from its content. Hydra's launchers log
each job by its overrides (`#0 : seed=0 ... launch.plan=... launch.batch=0`), which for us are only the job's
frame and read as if one trial ran: `JobLine` rewrites that line to say how many trials the job runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config.schema import from_plain
from harness.records.atomic import write_bytes_atomic
from harness.sweep.plan import Planned
from harness.sweep.pool import usable_cores

if TYPE_CHECKING:
    from harness.sweep.preflight import Sweep

BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
_in_memory: dict[str, list[list[Planned]]] = {}  # plans made by this process: its jobs need not re-read them


def split(todo: list[Planned], launcher: dict, per_job: int, cores: int) -> list[list[Planned]]:
    """The batches the launcher's jobs run, in the plan's order."""
    if per_job <= 0:
        if launcher.get("_target_") == BASIC:
            per_job = len(todo)
        else:
            workers = launcher.get("n_jobs")
            workers = cores if not isinstance(workers, int) or workers <= 0 else workers
            per_job = math.ceil(len(todo) / workers) if "n_jobs" in launcher else 1
    return [todo[i:i + per_job] for i in range(0, len(todo), per_job)]


def hydra_argv(sweep: "Sweep") -> list[str]:
    """Write the plan and return what Hydra is handed: the command's flags, each swept key at its first value
    (the job's config is only the frame: its trials come from the plan), and one job per batch."""
    launch = sweep.todo[0].cfg.launch
    parts = split(sweep.todo, sweep.launcher, launch.trials_per_job, usable_cores())
    path = write(parts, sweep.todo[0].run_dir / "plans")
    jobs = ",".join(str(i) for i in range(len(parts)))
    multirun = ["hydra.mode=MULTIRUN"] if len(parts) > 1 else []
    return [*sweep.flags, *sweep.overrides, "hydra.sweeper.params={}", *multirun,
            f"launch.plan={path}", f"launch.batch={jobs}"]


def write(parts: list[list[Planned]], folder: Path) -> Path:
    """Write the plan under a name made from its content; a file of that name that does not hold it (torn,
    edited) is replaced, so a launcher's worker never reads a broken plan."""
    data = json.dumps([[item.plain for item in part] for part in parts], sort_keys=True).encode()
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.json"
    try:
        same = path.read_bytes() == data
    except OSError:
        same = False
    if not same:
        write_bytes_atomic(path, data)
    _in_memory[str(path)] = parts
    return path


def load(path: Path, index: int) -> tuple[list[Planned], str]:
    """A job's batch, and its label for the progress line when the plan has several."""
    parts = _parts(path)
    return parts[index], (f"job {index + 1}/{len(parts)}" if len(parts) > 1 else "")


def _parts(path: Path) -> list[list[Planned]]:
    parts = _in_memory.get(str(path))
    if parts is None:  # a launcher's worker in another process (joblib, submitit)
        plains = json.loads(Path(path).read_text())
        parts = [[Planned(from_plain(plain), plain, None) for plain in part] for part in plains]
    return parts


# The loggers of the launchers that log each job as `#<n> : <overrides>` (Hydra's basic launcher and its plugins).
LAUNCHER_LOGGERS = ("hydra._internal.core_plugins.basic_launcher", "hydra_plugins.hydra_joblib_launcher._core",
                    "hydra_plugins.hydra_submitit_launcher.submitit_launcher")
_JOB = re.compile(r"(\s*#\d+ : ).*launch\.plan=(\S+) launch\.batch=(\d+)")


class JobLine(logging.Filter):
    """Rewrites a launcher's `#0 : <overrides>` line for a job of ours into what the job runs:
    `#0 : 18 trial(s), batch 1 of 1 of this sweep (the plan runs/demo/plans/<hash>.json gives each its config)`."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = _JOB.match(record.getMessage())
        if found:
            prefix, path, index = found.group(1), found.group(2), int(found.group(3))
            parts = _parts(Path(path))
            size = len(parts[index]) if index < len(parts) else "?"
            record.msg, record.args = (f"{prefix}{size} trial(s), batch {index + 1} of {len(parts)} of this sweep "
                                       f"(the plan {path} gives each its config)"), ()
        return True


def explain_job_lines() -> None:
    """Make the launchers' job lines say what each job runs (`JobLine`); once per process."""
    for name in LAUNCHER_LOGGERS:
        launcher_log = logging.getLogger(name)
        if not any(isinstance(f, JobLine) for f in launcher_log.filters):
            launcher_log.addFilter(JobLine())
