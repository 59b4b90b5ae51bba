"""Sweep progress, read from the records and running-trial claims on disk (so it works across workers).

On a terminal it is one line rewritten in place on stderr; otherwise (a log file, CI) it is a plain log line
after each job.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from harness.records import RETRIED_STATUSES, RecordStore, TrialStatus

log = logging.getLogger("harness")
JOBS_VARIABLE = "HARNESS_SWEEP_JOBS"  # set by the preflight, which knows the sweep's size


def progress_line(run_dir: Path, job: int, jobs: int) -> str:
    """`jobs 3/18 | trials: 3 done, 1 failed, 0 infra | running 0 | cost $0.0123`."""
    records = RecordStore(run_dir).all()
    retried = {s.value for s in RETRIED_STATUSES}
    failed = sum(r["status"] != TrialStatus.scored.value and r["status"] not in retried or (
        r["status"] == TrialStatus.scored.value and not r["passed_all"]) for r in records)
    infra = sum(r["status"] in retried for r in records)
    running = len(list((Path(run_dir) / "inflight").glob("*.json")))
    cost = sum(r.get("cost_usd") or 0.0 for r in records)
    total = f"/{jobs}" if jobs else ""
    return (f"jobs {job}{total} | trials: {len(records)} done, {failed} not passing, {infra} infra | "
            f"running {running} | cost ${cost:.4f}")


def show(run_dir: Path, job: int) -> None:
    """Print progress after a job; in sweeps of more than 100 jobs, after every hundredth of them and the last."""
    jobs = int(os.environ.get(JOBS_VARIABLE, "0") or 0)
    every = max(1, -(-jobs // 100))  # reading every record after every job would grow quadratically
    if job % every and job != jobs:
        return
    line = progress_line(run_dir, job, jobs)
    if sys.stderr.isatty():
        end = "\n" if jobs and job >= jobs else ""
        sys.stderr.write("\r\033[K" + line + end)
        sys.stderr.flush()
    else:
        log.info("progress: %s", line)
