"""Running a launcher job's batch of trials: several at once in one process, where they wait on the model and
on their suites, with the suites themselves limited to the machine's cores.

Trials run in threads. A trial's work is mostly waiting (on a model's reply, on a sandboxed suite in its own
processes), so threads overlap it; the suites are CPU work, and at most `launch.score_workers` run at once (one
per usable core by default). Every trial still runs through the front door (`harness.trial.front_door.run_trials`) with the
config the plan made for it, so a batch's records are what the trials would record one by one.

Ctrl-C: no new trial starts, the trials in flight are stopped (their sandboxed runs killed, their next model
call refused) and recorded `interrupted` with what they spent, and then the command ends as a single trial's
would (harness/sweep/interrupt.py).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from harness.config.schema import LaunchConfig, made_up_prices
from harness.sweep import interrupt
from harness.sweep.plan import Planned
from harness.sweep.progress import show
from harness.trial.front_door import run_trials
from harness.trial.run import TrialOutcome

log = logging.getLogger("harness")


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def run_batch(batch: list[Planned], launch: LaunchConfig, label: str = "") -> list[TrialOutcome]:
    """Run the batch's trials, `launch.concurrency` at once, and show progress as each ends; their outcomes, in
    the batch's order (a chain's one per generation reached; none for a trial a stop kept from starting)."""
    slots = threading.BoundedSemaphore(launch.score_workers or usable_cores())
    progress = _Progress(len(batch), label, all(made_up_prices(item.cfg.model.litellm_model) for item in batch))
    if launch.concurrency == 1 or len(batch) == 1:  # in this thread: Ctrl-C reaches the trial as it always has
        outcomes = []
        for item in batch:
            outcomes += run_trials(item.cfg, item.plain, slots)
            progress.ended(item.run_dir)
        return outcomes
    results: dict[int, list[TrialOutcome]] = {}
    with ThreadPoolExecutor(max_workers=min(launch.concurrency, len(batch)), thread_name_prefix="trial") as pool:
        pending = {pool.submit(_one, item, slots): i for i, item in enumerate(batch)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    results[i] = future.result()  # a harness bug in a trial's thread is raised here
                    progress.ended(batch[i].run_dir)
        except KeyboardInterrupt:
            interrupt.stop_all()  # the queued trials see it and do not start; running ones are stopped
            wait(pending)
            raise
    return [outcome for i in sorted(results) for outcome in results[i]]


def _one(item: Planned, slots: threading.BoundedSemaphore) -> list[TrialOutcome]:
    if interrupt.stopping():
        return []
    try:
        return run_trials(item.cfg, item.plain, slots)
    except KeyboardInterrupt:  # this thread's trial was stopped and recorded `interrupted`; the main thread exits
        return []


class _Progress:
    """The trials of this batch that ended, shown after each (harness.sweep.progress.show)."""

    def __init__(self, total: int, label: str, made_up: bool):
        self.total, self.label, self.ended_count, self.made_up = total, label, 0, made_up
        self.lock = threading.Lock()

    def ended(self, run_dir: Path) -> None:
        with self.lock:
            self.ended_count += 1
            show(run_dir, self.ended_count, self.total, self.label, self.made_up)
