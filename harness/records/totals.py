"""An experiment's running totals (`totals.json`): records, how many count against the model and do not pass,
and spend. The progress line and the budget read them after every trial; reading every record instead cost
2.2 s per trial beside 10,000 records. `RecordStore.write` keeps them, under a lock, by taking out the old
record's share and adding the new one's (harness/records/store.py); `recount` rebuilds them from the records, once,
when they are missing or do not match the records on disk (written by hand, deleted, or by an older harness)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from harness.records.atomic import write_json_atomic

FILE = "totals.json"
LOCK = ".totals.lock"


@dataclass(frozen=True)
class Totals:
    records: int = 0
    counted: int = 0  # counts against the model (harness.seams.counts_against_model)
    not_passing: int = 0  # of those, not passing every test
    cost_usd: float = 0.0  # every record's spend (unknown counts as 0)
    costed: int = 0  # records that cost anything: the budget's estimate of the next trial is the mean over them

    @classmethod
    def of(cls, record: Optional[dict], counts: Callable[[str], bool]) -> "Totals":
        if record is None:
            return cls()
        counted = counts(record["status"])
        cost = record.get("cost_usd") or 0.0
        return cls(1, int(counted), int(counted and not record.get("passed_all")), cost, int(bool(cost)))

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def __sub__(self, other: "Totals") -> "Totals":
        return Totals(*(a - b for a, b in zip(astuple(self), astuple(other))))


def astuple(totals: Totals) -> tuple:
    return tuple(asdict(totals).values())


def read(run_dir: Path) -> Optional[Totals]:
    """The totals, or None when there are none or they are not totals (torn, edited): then they are recounted."""
    try:
        found = Totals(**json.loads((Path(run_dir) / FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    counts = (found.records, found.counted, found.not_passing, found.costed)
    if not all(type(n) is int and n >= 0 for n in counts) or type(found.cost_usd) not in (int, float) \
            or not 0 <= found.cost_usd < math.inf:
        return None
    return found


def write(run_dir: Path, totals: Totals) -> None:
    write_json_atomic(Path(run_dir) / FILE, asdict(totals))


def recount(records: Iterable[dict], counts: Callable[[str], bool]) -> Totals:
    return sum((Totals.of(r, counts) for r in records), Totals())


def record_files(trials_dir: Path) -> int:
    """How many records an experiment holds: a directory listing, not a read of each."""
    try:
        with os.scandir(trials_dir) as entries:
            return sum(e.name.endswith(".json") and not e.name.startswith(".") and e.is_file() for e in entries)
    except FileNotFoundError:
        return 0
