"""The spending cap of an experiment: spend never passes `max_cost_usd` by more than one trial's cost.

Before a trial starts it claims what it may cost at most (a bound from its generator's calls and the model's
prices: harness/trial/run.py). It starts at once when recorded spend, the claims of running trials and its own
bound fit under the cap; else it waits while trials of this machine are running (their claims will free room);
else, with nothing in flight, it runs alone if the mean cost so far still fits: the one trial that may pass the
cap. Alone, it claims its bound or the rest of the budget, whichever is more, so nothing else starts beside it.
An agent CLI has no bound, so under a cap its trials run one at a time. Parallel workers see each other through
small claim files, one per running trial (`inflight/`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from harness.records.atomic import locked, quarantine, write_json_atomic
from harness.records.store import RecordStore
from harness.sweep import interrupt

log = logging.getLogger(__name__)
_HOST = socket.gethostname()  # a claim's pid means something only on the node that wrote it
STOP_FILE = "budget-stop.txt"  # one line per trial refused during this sweep, for the end-of-sweep summary
WAIT_S = 0.2  # how often a waiting trial looks again


@dataclass(frozen=True)
class Decision:
    """Start with this claim (`claim` set), wait for running trials (`wait`), or do not start (`refusal`)."""

    claim: Optional[float] = None
    wait: bool = False
    refusal: Optional[str] = None


@dataclass(frozen=True)
class Flight:
    """The claims of running trials: those of live processes on this machine, and those of other nodes (whose
    pids cannot be checked from here, so they are counted and never waited for)."""

    local: float = 0.0
    remote: float = 0.0
    local_count: int = 0

    @property
    def total(self) -> float:
        return self.local + self.remote


class Budget:
    def __init__(self, run_dir: Path, max_cost_usd: Optional[float]):
        self.store = RecordStore(run_dir)
        self.claims = Path(run_dir) / "inflight"
        self.max_cost_usd = max_cost_usd

    def spent_and_estimate(self) -> tuple[float, float]:
        """Recorded spend, and the expected cost of one more trial (mean over trials that cost anything)."""
        kept = self.store.totals()  # kept as each record is written, not summed from every record each time
        return kept.cost_usd, (kept.cost_usd / kept.costed if kept.costed else 0.0)

    def flight(self) -> Flight:
        """The running trials' claims; claims left by a killed worker (dead pid) do not count."""
        local = remote = 0.0
        count = 0
        for path in self.claims.glob("*.json"):
            claim = _read_claim(path)
            if claim is None:
                continue
            if claim.get("host", _HOST) != _HOST:  # another node's: cannot tell whether it runs, so counted
                remote += claim["estimate_usd"]
            elif _alive(claim["pid"]):
                local, count = local + claim["estimate_usd"], count + 1
        return Flight(local, remote, count)

    def in_flight(self) -> float:
        return self.flight().total

    def decide(self, bound: Optional[float]) -> Decision:
        """Whether a trial whose cost is at most `bound` (None: unbounded) may start now; see the module's doc."""
        cap = self.max_cost_usd
        if cap is None:
            return Decision(claim=0.0)
        (spent, mean), flight = self.spent_and_estimate(), self.flight()
        if bound is not None and spent + flight.total + bound <= cap:
            return Decision(claim=bound)
        if flight.local_count:
            return Decision(wait=True)
        if not flight.remote and spent + mean <= cap and spent < cap:
            return Decision(claim=max(bound or 0.0, cap - spent))
        return Decision(refusal=(
            f"budget: spent ${spent:.4f} + in flight ${flight.total:.4f} + next trial ~${mean:.4f} (at most "
            f"{'unbounded' if bound is None else f'${bound:.4f}'}) would pass max_cost_usd=${cap:.4f}; no new "
            "trial starts (raise max_cost_usd to go on)"))

    @contextmanager
    def admit(self, tid: str, bound: Callable[[], Optional[float]] = lambda: 0.0) -> Iterator[Optional[str]]:
        """Refuse the trial (yield why) or claim what it may cost until it ends (yield None), for the other
        workers' arithmetic; wait first while running trials of this machine hold the room it needs. Deciding and
        claiming happen under the experiment's budget lock, so two processes cannot both fit into the last
        dollar. `bound` is asked only under a cap."""
        path = self.claims / f"{tid}.json"
        limit = bound() if self.max_cost_usd is not None else 0.0
        while True:
            with locked(self.store.run_dir / ".budget.lock"):
                decision = self.decide(limit)
                if decision.refusal is not None:  # said once, when the sweep ends (`stops`)
                    with open(self.store.run_dir / STOP_FILE, "a", encoding="utf-8") as refused:
                        refused.write(decision.refusal + "\n")
                elif not decision.wait:
                    write_json_atomic(path, {"estimate_usd": decision.claim, "pid": os.getpid(), "host": _HOST})
            if not decision.wait:
                break
            interrupt.check()  # Ctrl-C: a waiting trial never starts
            time.sleep(WAIT_S)
        try:
            yield decision.refusal
        finally:
            if decision.refusal is None:
                path.unlink(missing_ok=True)


def stops(run_dir: Path) -> list[str]:
    """The refusals of this sweep, oldest first, and forget them: the sweep that made them is over."""
    path = Path(run_dir) / STOP_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    path.unlink(missing_ok=True)
    return lines


def clear_stop(run_dir: Path) -> None:
    """Forget refusals left by a sweep that never reached its end (killed), before a new sweep starts."""
    (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)


def _read_claim(path: Path) -> Optional[dict]:
    """A running trial's claim, or None when it is gone (its trial ended) or is no claim (edited by hand: it is
    moved into `corrupt/` beside it, named in a warning, rather than stopping every trial's admission)."""
    try:
        claim = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        claim = None
    if (isinstance(claim, dict) and type(claim.get("pid")) is int and claim["pid"] > 0
            and type(claim.get("estimate_usd")) in (int, float) and 0 <= claim["estimate_usd"] < math.inf):
        return claim
    aside = quarantine(path)
    if aside is not None:
        log.warning("budget claim %s is corrupt; moved to %s", path, aside)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
