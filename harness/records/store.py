"""Trial records: one JSON file per finished trial, written atomically (the tables built from them: harness/records/tables.py).

The record on disk is the only source of truth. Tables are rebuilt from the folder of records, never from a
worker's memory, so parallel workers, interrupted sweeps and re-runs all end in the same table.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from harness import __version__
from harness.config.schema import PROJECT_ROOT
from harness.records import totals
from harness.records.atomic import locked, quarantine, write_json_atomic
from harness.records.redact import redact
from harness.records.totals import Totals
from harness.seams import TrialStatus, counts_against_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialRecord:
    trial_id: str
    experiment: str
    spec: str
    spec_sha256: str
    suite_sha256: str
    generator: str
    model: str
    litellm_model: str
    temperature: float
    seed: int
    sample: int
    status: TrialStatus
    detail: str
    ground_truth: Optional[str]
    tests_total: int
    tests_passed: int
    tests_failed: int
    tests_errored: int
    tests_skipped: int
    pass_rate: float
    passed_all: bool
    impl_lines: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Optional[float]
    model_calls: int
    cache_hits: int
    gen_seconds: float
    score_seconds: float
    generation: int = 0
    parent_trial_id: Optional[str] = None
    chain_model: Optional[str] = None  # in a chain, the model driving generations 1, 2, ...; generation 0 may call none
    spec_text: str = "ours"  # the text the model was given: "ours" (spec.md) or "upstream" (the pinned original)
    selection: str = "all"  # the tests that judged it: "all", or the clause tags they carry ("paper")
    sandbox: str = ""  # the sandbox backend that ran the code ("bwrap" or "process"), never "auto"
    harness_version: str = __version__
    git_sha: str = field(default_factory=lambda: git_sha())
    created_at: str = ""
    tests: tuple = ()  # ({test_id, clause, outcome, seconds[, message]}, ...): goes to the per-test table
    config: dict = field(default_factory=dict)  # resolved config, for provenance; not a table column

    def row(self) -> dict[str, Any]:
        """The flat table row: every field except the per-test list and the config."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("tests", "config")}
        data["status"] = self.status.value
        return data


def trial_id(**defining: Any) -> str:
    """A short hash of what defines a trial (spec and suite hashes, generator, model, temperature, seed, sample...)."""
    canonical = json.dumps(defining, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """The harness checkout's commit, with "+dirty" when it has uncommitted changes; "unknown" outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10).stdout

    try:
        sha = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+dirty" if dirty else "")) if sha else "unknown"


class RecordStore:
    """The records of one experiment: `<runs_dir>/<experiment>/trials/<trial_id>.json`."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.trials_dir = self.run_dir / "trials"

    def path(self, tid: str) -> Path:
        return self.trials_dir / f"{tid}.json"

    def lock_path(self, tid: str) -> Path:
        """Held (flock) by the process running the trial."""
        return self.trials_dir / ".locks" / f"{tid}.lock"

    def artifacts(self, tid: str) -> Path:
        """Folder for a trial's transcript, implementation and logs."""
        return self.trials_dir / tid

    def load(self, tid: str) -> Optional[dict]:
        """The record, or None when there is none (a corrupt one is moved aside and counts as none)."""
        return _read_json(self.path(tid))

    def is_done(self, tid: str) -> bool:
        """A trial is done once recorded with a status that is not retried on the next run."""
        record = self.load(tid)
        return record is not None and counts_against_model(record["status"])

    def write(self, record: TrialRecord) -> None:
        """Write the record and keep the experiment's running totals (harness/records/totals.py) in step with it."""
        data = redact({**record.row(), "tests": list(record.tests), "config": record.config})
        with locked(self.run_dir / totals.LOCK):
            old, before = self.load(record.trial_id), totals.read(self.run_dir)
            write_json_atomic(self.path(record.trial_id), data)
            if before is None:
                totals.write(self.run_dir, totals.recount(self.each(), counts_against_model))
            else:
                totals.write(self.run_dir, before - Totals.of(old, counts_against_model)
                             + Totals.of(data, counts_against_model))

    def totals(self, verify: bool = False) -> Totals:
        """The running totals, recounted from the records when missing, or (with `verify`, once per sweep) when
        they do not account for the number of records on disk."""
        found = totals.read(self.run_dir)
        if found is not None and not (verify and found.records != totals.record_files(self.trials_dir)):
            return found
        with locked(self.run_dir / totals.LOCK):
            counted = totals.recount(self.each(), counts_against_model)
            if self.trials_dir.is_dir():
                totals.write(self.run_dir, counted)
            return counted

    def all(self) -> list[dict]:
        return list(self.each())

    def each(self) -> Iterator[dict]:
        """The records one at a time, in file-name order (trial-id order), so a reader of thousands holds one."""
        for path in sorted(self.trials_dir.glob("*.json"), key=str):  # as Paths sort here, without their __lt__
            record = _read_json(path)
            if record is not None:
                yield record


def _read_json(path: Path) -> Optional[dict]:
    """A JSON file's content; None when it does not exist, or when it is corrupt, in which case it is moved into a
    `corrupt/` folder beside it (named in a warning) so that the trial runs again instead of failing every job."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        aside = quarantine(path)
        log.warning("%s is corrupt (%s); moved to %s, and its trial will run again", path, type(exc).__name__, aside)
        return None
