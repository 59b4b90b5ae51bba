"""An experiment's tables, rebuilt from its records: `results.parquet` (one row per trial) and `tests.parquet`
(one row per test of each trial). The parquet files are the tables; CSV copies are written only when asked for
(`build_tables(run_dir, csv=True)`, `harness-tables runs/<experiment> --csv`).

Built to stay fast and lean at tens of thousands of trials (`benchmarks/table_build.py`): records are read one
at a time and only the tables' fields are kept, never a record's resolved config. The per-test table, about 150
rows a trial, is gathered as codes into its few distinct strings, and it comes out of the records already in
its order (records are read in file-name order, which is trial-id order, and each trial's tests are sorted as
they come), so the 1.5 million rows of 10,000 trials are never sorted, nor held as Python strings.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import operator
import os
from array import array
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from harness import table_index
from harness.atomic import locked
from harness.records import RecordStore, TrialRecord

log = logging.getLogger(__name__)

RESULT_COLUMNS = [f.name for f in dataclasses.fields(TrialRecord) if f.name not in ("tests", "config")]
ROW_ORDER = ["spec", "model", "generator", "temperature", "seed", "sample", "generation", "trial_id"]
TEST_COLUMNS = ["trial_id", "test_id", "clause", "outcome", "seconds"]
_STR = pd.Series(["x"]).dtype  # the dtype pandas gives a column of strings (Arrow-backed `str` in pandas 3)


def build_tables(run_dir: Path, csv: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild results.parquet and tests.parquet in `run_dir` from the records on disk (and results.csv and
    tests.csv when `csv`; without it, CSVs left by an earlier build are removed, so none disagrees with its table).

    Results are ordered by ROW_ORDER, tests by trial id then test id (both stable sorts of the records in file
    order). Under the experiment's table lock: two sweeps ending together would otherwise share the temporary
    files, and the one that read the records first could write last, leaving a table short of the other's trials."""
    with locked(Path(run_dir) / ".tables.lock"):
        return _build_tables(Path(run_dir), csv)


def _build_tables(run_dir: Path, csv: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patch the tables with the records changed since they were built (harness/table_index.py), or build them
    from every record when there is no index, a table is missing, or a patch could differ from a full build."""
    seen = table_index.scan(run_dir / "trials")
    patched = _patched(run_dir, seen)
    if patched is None:
        results, per_test = _frames(RecordStore(run_dir).each())
        named = set(results["trial_id"]) == {name[:-len(".json")] for name in seen}
        changed = True
    else:
        results, per_test, changed = patched
        named = True
    if changed or csv:
        for name, frame in (("results", results), ("tests", per_test)):
            write_table(frame, run_dir / name, csv=csv)
    table_index.write(run_dir, seen if named else None)  # a record filed under another name: read all next time
    return results, per_test


def _frames(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows: list[dict[str, Any]] = []
    tests = TestColumns()
    for record in records:
        rows.append({c: record.get(c) for c in RESULT_COLUMNS})
        if record.get("tests"):
            tests.add(record["trial_id"], record["tests"])
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    results = results.sort_values(ROW_ORDER, kind="stable").reset_index(drop=True)
    del rows
    return results, tests.frame()


def _patched(run_dir: Path, seen: dict) -> Optional[tuple[pd.DataFrame, pd.DataFrame, bool]]:
    """The tables with the rows of changed and deleted records replaced, and whether anything changed; None when
    only a full build will do."""
    index = table_index.read(run_dir)
    paths = [run_dir / "results.parquet", run_dir / "tests.parquet"]
    if index is None or not all(p.exists() for p in paths):
        return None
    changed, gone = table_index.changes(index, seen)
    results, per_test = (pd.read_parquet(p) for p in paths)
    if not changed and not gone:
        return results, per_test, False
    store = RecordStore(run_dir)
    records = [r for r in (store.load(name[:-len(".json")]) for name in changed) if r is not None]
    if any(f"{r.get('trial_id')}.json" not in changed for r in records):
        return None
    new_results, new_tests = _frames(records)
    kept = [frame[~frame["trial_id"].isin(gone)] for frame in (results, per_test)]
    new_results, new_tests = _typed_like(kept[0], new_results), _typed_like(kept[1], new_tests)
    if new_results is None or new_tests is None:
        return None  # a column inferred differently from the new rows alone: pandas' own inference decides
    results = pd.concat([kept[0], new_results]).sort_values(ROW_ORDER, kind="stable").reset_index(drop=True)
    per_test = pd.concat([kept[1], new_tests]).sort_values("trial_id", kind="stable").reset_index(drop=True)
    return results, per_test, True


def _typed_like(old: pd.DataFrame, new: pd.DataFrame) -> Optional[pd.DataFrame]:
    """The new rows with the old rows' column types, where a full build would infer those: a column the new rows
    leave empty (a plain trial's `parent_trial_id` beside chains') takes the old strings' or floats' type. None
    when a type still differs."""
    if old.empty or new.empty:
        return new
    for column in old.columns:
        theirs, ours = old[column].dtype, new[column].dtype
        if theirs != ours and new[column].isna().all() and (theirs == _STR or theirs.kind == "f"):
            new = new.assign(**{column: new[column].astype(theirs)})
    return new if all(old[c].dtype == new[c].dtype for c in old.columns) else None


_BY_ID = operator.itemgetter("test_id")
_OTHER_FIELDS = [operator.itemgetter(name) for name in ("clause", "outcome", "seconds")]


def _fields(test: dict) -> tuple:
    return test.get("test_id"), test.get("clause", ""), test.get("outcome"), test.get("seconds")


def _test_order(test: dict) -> tuple[bool, str]:
    """A test's place within its trial, as a stable pandas sort on test_id puts it: missing ids last."""
    test_id = test.get("test_id")
    return (test_id is None, "" if test_id is None else test_id)


class TestColumns:
    """The per-test table, filled one record at a time and held compactly until it becomes a frame.

    Each record's tests are sorted by test id as they come (by a layout shared by the records of one suite, see
    `_layout`). The string columns are kept as codes into a table of their distinct values (a few hundred test
    ids, ten thousand trial ids), not as 1.5 million string objects, and become Arrow string columns without
    passing through Python objects again."""

    __test__ = False  # not a pytest test class, whatever its name
    ENCODED = ("trial_id", "test_id", "clause", "outcome")

    def __init__(self) -> None:
        self.values: dict[str, dict[Any, int]] = {c: {} for c in self.ENCODED}  # value -> code, in code order
        self.codes: dict[str, array] = {c: array("q") for c in self.ENCODED}
        self.seconds: array | list = array("d")  # a list once a record has a time that is no float (None, 3)
        self.trials: list[tuple[Any, int, int]] = []  # (trial_id, first row, row after the last), in read order
        self._layouts: dict[tuple, tuple[Callable, array]] = {}
        self._runs: dict[tuple[str, tuple], array] = {}

    def add(self, trial_id: Any, tests: list[dict]) -> None:
        try:  # the usual record: every test has an id and a clause, and its suite's layout has been seen before
            order, id_codes = self._layout(tuple(map(_BY_ID, tests)))
            tests = order(tests)
            clauses, outcomes, seconds = (tuple(map(get, tests)) for get in _OTHER_FIELDS)
        except (KeyError, TypeError):  # a record from before `clause`, or a test without an id
            tests = sorted(tests, key=_test_order)
            test_ids, clauses, outcomes, seconds = zip(*[_fields(t) for t in tests])
            id_codes = array("q", self._encode("test_id", test_ids))
        start = len(self.seconds)
        self.trials.append((trial_id, start, start + len(tests)))
        trial_code = self.values["trial_id"].setdefault(trial_id, len(self.values["trial_id"]))
        self.codes["trial_id"].extend(array("q", [trial_code]) * len(tests))
        self.codes["test_id"].extend(id_codes)
        self.codes["clause"].extend(self._run_codes("clause", clauses))
        self.codes["outcome"].extend(self._run_codes("outcome", outcomes))
        if isinstance(self.seconds, array) and set(map(type, seconds)) != {float}:
            self.seconds = self.seconds.tolist()  # pandas must see the values themselves to infer as it did
        self.seconds.extend(seconds)

    def _encode(self, name: str, values: Sequence) -> Iterator[int]:
        """The codes of `values` in column `name`, giving a new code to each value not seen before."""
        table = self.values[name]
        for new in set(values).difference(table):
            table[new] = len(table)
        return map(table.__getitem__, values)

    def _run_codes(self, name: str, values: tuple) -> array:
        """The codes of one record's clauses or outcomes. Records of one suite have the same clauses, and most
        have the same outcomes as many others (all passing, say), so the codes of a run of values are kept (a
        few hundred runs) and copied, rather than looked up value by value."""
        codes = self._runs.get((name, values))
        if codes is None:
            if len(self._runs) >= 256:
                self._runs.clear()
            codes = self._runs[name, values] = array("q", self._encode(name, values))
        return codes

    def _layout(self, test_ids: tuple) -> tuple[Callable, array]:
        """How the tests of a record, with these ids in this order, enter the table: a getter that sorts them by
        id, and the codes of their ids in that order. Records of one suite share it, so it is worked out once per
        suite (a few are kept) rather than a sort and a lookup per test of every record."""
        layout = self._layouts.get(test_ids)
        if layout is None:
            ranks = sorted(range(len(test_ids)), key=test_ids.__getitem__)
            order = operator.itemgetter(*ranks) if len(ranks) > 1 else tuple
            if len(self._layouts) >= 64:  # tests that differ from record to record: no layout is shared
                self._layouts.clear()
            codes = array("q", self._encode("test_id", [test_ids[i] for i in ranks]))
            layout = self._layouts[test_ids] = (order, codes)
        return layout

    def frame(self) -> pd.DataFrame:
        """The table, in order: by trial id, then test id, stably. Consumes what it held, each column freed as
        soon as it is built."""
        if not self.trials:
            return pd.DataFrame([], columns=TEST_COLUMNS)
        order = self._order()
        columns = {name: self._column(name) for name in self.ENCODED}
        seconds = self.seconds
        columns["seconds"] = pd.Series(np.frombuffer(seconds, dtype=np.float64) if isinstance(seconds, array)
                                       else seconds)
        self.seconds = []
        frame = pd.DataFrame(columns, columns=TEST_COLUMNS, copy=False)
        return frame if order is None else frame.take(order).reset_index(drop=True)

    def _column(self, name: str) -> pd.Series:
        """One string column, the same as pandas infers from the values: Arrow strings taken from the distinct
        values by code when every value is a string or missing (and not all missing), else pandas' own inference."""
        distinct, codes = list(self.values.pop(name)), self.codes.pop(name)
        strings = all(v is None or isinstance(v, str) for v in distinct) and any(v is not None for v in distinct)
        if not strings or getattr(_STR, "storage", None) != "pyarrow":
            return pd.Series([distinct[c] for c in codes])
        taken = pa.array(distinct, type=pa.large_string()).take(np.frombuffer(codes, dtype=np.int64))
        return pd.Series(_STR.construct_array_type()(taken, dtype=_STR))

    def _order(self) -> Optional[list[int]]:
        """Row positions in table order, or None when the rows are in it already (trial ids strictly increasing
        in read order, the usual case: a record's file is named by its trial id). Otherwise (a record filed under
        another name, two records of one trial) the rows of each trial id are gathered in read order and sorted
        by test id, as a stable sort of the whole table would."""
        ids = [tid for tid, _, _ in self.trials]
        try:
            if all(a < b for a, b in zip(ids, ids[1:])):
                return None
        except TypeError:  # a trial id that is no string: sorted below as pandas would, missing last
            pass
        rows: dict[Any, list[int]] = {}
        for tid, start, stop in self.trials:
            rows.setdefault(tid, []).extend(range(start, stop))
        distinct, codes = list(self.values["test_id"]), self.codes["test_id"]
        order: list[int] = []
        for tid in sorted(rows, key=lambda t: (t is None, "" if t is None else t)):
            order.extend(sorted(rows[tid], key=lambda i: _test_order({"test_id": distinct[codes[i]]})))
        return order


def write_table(frame: pd.DataFrame, stem: Path, csv: bool = False) -> None:
    """Write `frame` to `<stem>.parquet`, and to `<stem>.csv` when `csv`, each atomically; without `csv`, a CSV
    left beside it by an earlier build is removed rather than left to disagree with the table."""
    outputs = [(".parquet", lambda p: frame.to_parquet(p, index=False))]
    if csv:
        outputs.append((".csv", lambda p: frame.to_csv(p, index=False)))
    for suffix, writer in outputs:
        target = stem.with_suffix(suffix)
        tmp = target.with_name(f".{target.name}.tmp")
        writer(tmp)
        os.replace(tmp, target)
    stale = stem.with_suffix(".csv")
    if not csv and stale.exists():
        stale.unlink()
        log.info("removed %s: the table is %s (harness-tables --csv writes a CSV)", stale, stem.name + ".parquet")


def main(argv: Optional[list[str]] = None) -> None:
    """harness-tables runs/<experiment> [--csv]: rebuild the experiment's tables from its records."""
    parser = argparse.ArgumentParser(prog="harness-tables", description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, the folder holding trials/")
    parser.add_argument("--csv", action="store_true", help="also write results.csv and tests.csv")
    args = parser.parse_args(argv)
    if not (args.experiment_dir / "trials").is_dir():
        raise SystemExit(f"harness-tables: {args.experiment_dir} holds no trials/; give runs/<experiment>")
    results, tests = build_tables(args.experiment_dir, csv=args.csv)
    written = "parquet and csv" if args.csv else "parquet"
    print(f"{args.experiment_dir}: results ({len(results)} trials) and tests ({len(tests)} rows), {written}")
