"""The spending cap of an experiment: no new trial starts once recorded spend plus in-flight estimates would
pass `max_cost_usd`. Parallel workers see each other through small claim files, one per running trial."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from harness.records.atomic import locked, quarantine, write_json_atomic
from harness.records.store import RecordStore

log = logging.getLogger(__name__)
_HOST = socket.gethostname()  # a claim's pid means something only on the node that wrote it
STOP_FILE = "budget-stop.txt"  # one line per trial refused during this sweep, for the end-of-sweep summary


class Budget:
    def __init__(self, run_dir: Path, max_cost_usd: Optional[float]):
        self.store = RecordStore(run_dir)
        self.claims = Path(run_dir) / "inflight"
        self.max_cost_usd = max_cost_usd

    def spent_and_estimate(self) -> tuple[float, float]:
        """Recorded spend, and the expected cost of one more trial (mean over trials that cost anything)."""
        kept = self.store.totals()  # kept as each record is written, not summed from every record each time
        return kept.cost_usd, (kept.cost_usd / kept.costed if kept.costed else 0.0)

    def in_flight(self) -> float:
        """Estimates claimed by running trials; claims left by a killed worker (dead pid) do not count."""
        total = 0.0
        for path in self.claims.glob("*.json"):
            claim = _read_claim(path)
            if claim is None:
                continue
            if claim.get("host", _HOST) != _HOST or _alive(claim["pid"]):  # another node's: cannot tell, so counted
                total += claim["estimate_usd"]
        return total

    def refusal(self) -> Optional[str]:
        """Why a new trial may not start, or None when it may."""
        if self.max_cost_usd is None:
            return None
        (spent, estimate), flight = self.spent_and_estimate(), self.in_flight()
        if spent + flight + estimate > self.max_cost_usd:
            return (f"budget: spent ${spent:.4f} + in flight ${flight:.4f} + next trial ~${estimate:.4f} would pass "
                    f"max_cost_usd=${self.max_cost_usd:.4f}; no new trial starts (raise max_cost_usd to go on)")
        return None

    @contextmanager
    def admit(self, tid: str) -> Iterator[Optional[str]]:
        """Refuse the trial (yield why) or claim its estimate until it ends (yield None), for the other workers'
        arithmetic and the progress line. Deciding and claiming happen under the experiment's budget lock, so two
        processes cannot both fit into the last dollar."""
        path = self.claims / f"{tid}.json"
        with locked(self.store.run_dir / ".budget.lock"):
            refusal = self.refusal()
            if refusal is not None:  # said once, when the sweep ends (`stops`), however many trials are refused
                with open(self.store.run_dir / STOP_FILE, "a", encoding="utf-8") as refused:
                    refused.write(refusal + "\n")
            else:
                estimate = self.spent_and_estimate()[1] if self.max_cost_usd is not None else 0.0
                write_json_atomic(path, {"estimate_usd": estimate, "pid": os.getpid(), "host": _HOST})
        try:
            yield refusal
        finally:
            if refusal is None:
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
