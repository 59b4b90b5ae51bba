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
import os
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from harness import __version__
from harness.config.schema import INT64, PROJECT_ROOT
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
    truncated_replies: int = 0  # the model's replies cut off at max_tokens (finish_reason "length"); still scored
    weights_sha256: Optional[str] = None  # a model the harness serves itself (model.local): its GGUF's sha256
    model_server: Optional[str] = None  # ... and the server that ran it ("xllamacpp 2026.10.11549")
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
        return _read_record(self.path(tid))

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
        """The records one at a time, in file-name order (trial-id order), so a reader of thousands holds one.
        Only regular files are records (as harness/records/table_index.py lists them): a FIFO would block the read."""
        try:
            with os.scandir(self.trials_dir) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(".json") and not e.name.startswith(".")
                               and e.is_file())
        except FileNotFoundError:
            return
        for name in names:
            record = _read_record(self.trials_dir / name)
            if record is not None:
                yield record


def _read_record(path: Path) -> Optional[dict]:
    """A record's content; None when it does not exist, or when it is corrupt (not JSON, or not a record: see
    `schema_problem`), in which case it is moved into a `corrupt/` folder beside it (named in a warning) so that
    the trial runs again instead of failing every job and every table build."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError, RecursionError, IsADirectoryError) as exc:
        problem: Optional[str] = f"not JSON ({type(exc).__name__})"
    else:
        problem = schema_problem(data)
        if problem is None:
            return data
    aside = quarantine(path)
    if aside is not None:
        log.warning("%s is corrupt (%s); moved to %s, and its trial will run again", path, problem, aside)
    return None


REQUIRED = ("trial_id", "status")  # every reader indexes these; a field missing otherwise (an older record) is empty
# A per-test entry's fields (test_id, outcome, clause, seconds) and the types each may hold: null (the tables keep
# it empty, as for a record from before `clause`), else one type per column.
_TEXT, _NUMBER = {str, type(None)}, {int, float, type(None)}
TEST_FIELDS = {"test_id": _TEXT, "outcome": _TEXT, "clause": _TEXT, "seconds": _NUMBER}


def schema_problem(data: Any) -> Optional[str]:
    """What keeps `data` from being a trial record, or None when it is one: the record's schema, defined once from
    TrialRecord's fields. Each field present has its type (an int fits in 64 bits, a status is one of
    TrialStatus), and `tests` is a list of per-test entries: a column of the tables then holds one type."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not a record"
    for name in REQUIRED:
        if name not in data:
            return f"no {name}"
    for name, (accepts, expected) in _FIELDS.items():
        if name in data and not accepts(data[name]):
            return f"{name} is {_shown(data[name])}, not {expected}"
    return _tests_problem(data.get("tests") or ())


def _tests_problem(tests: list) -> Optional[str]:
    """What is wrong with a record's per-test entries, or None. The types of each entry's fields are gathered
    into a set first (a few kinds among the ~150 tests of a record), as 1.5 million entries are checked per 10,000
    records (benchmarks/table_build.py)."""
    try:
        kinds = {(type(t.get("test_id")), type(t.get("outcome")), type(t.get("clause")), type(t.get("seconds")))
                 for t in tests}
    except AttributeError:  # an entry that is no object
        kinds = {None}
    if all(kind is not None and all(k in ok for k, ok in zip(kind, TEST_FIELDS.values())) for kind in kinds):
        return None
    bad = next(t for t in tests if not isinstance(t, dict) or any(
        type(t.get(name)) not in ok for name, ok in TEST_FIELDS.items()))
    return f"tests holds {_shown(bad)}, not {{test_id, clause, outcome: string; seconds: number}}"


def _accepts(hint: Any) -> tuple[Callable[[Any], bool], str]:
    """A check of one field's value for its type hint, and the hint's name for the user."""
    nullable = typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)
    base = next(h for h in typing.get_args(hint) if h is not type(None)) if nullable else hint
    check: Callable[[Any], bool] = {
        str: lambda v: isinstance(v, str),
        bool: lambda v: isinstance(v, bool),
        int: lambda v: type(v) is int and INT64[0] <= v <= INT64[1],
        float: lambda v: type(v) in (int, float),
        TrialStatus: lambda v: isinstance(v, str) and v in _STATUSES,
        tuple: lambda v: isinstance(v, list),
        dict: lambda v: isinstance(v, dict),
    }[base]
    name = {str: "a string", bool: "true or false", int: "a 64-bit integer", float: "a number",
            TrialStatus: "a status", tuple: "a list", dict: "an object"}[base]
    return ((lambda v: v is None or check(v)), f"{name} or null") if nullable else (check, name)


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


_STATUSES = {status.value for status in TrialStatus}
_HINTS = typing.get_type_hints(TrialRecord)
_FIELDS = {f.name: _accepts(_HINTS[f.name]) for f in dataclasses.fields(TrialRecord)}  # name -> (check, expected)
