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
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.errors import ConfigError, HarnessError, command
from harness.records import table_index
from harness.records.atomic import locked
from harness.records.store import RecordStore, TrialRecord
from harness.records.tests_table import STR, TEST_COLUMNS, TestColumns

log = logging.getLogger(__name__)

RESULT_COLUMNS = [f.name for f in dataclasses.fields(TrialRecord) if f.name not in ("tests", "config")]
ROW_ORDER = ["spec", "model", "generator", "temperature", "seed", "sample", "generation", "trial_id"]


def build_tables(run_dir: Path, csv: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild results.parquet and tests.parquet in `run_dir` from the records on disk (and results.csv and
    tests.csv when `csv`; without it, CSVs left by an earlier build are removed, so none disagrees with its table).

    Results are ordered by ROW_ORDER, tests by trial id then test id (both stable sorts of the records in file
    order). Under the experiment's table lock: two sweeps ending together would otherwise share the temporary
    files, and the one that read the records first could write last, leaving a table short of the other's trials."""
    with locked(Path(run_dir) / ".tables.lock"):
        results, tests = _build_tables(Path(run_dir), csv, tests_wanted=True)
        return results, tests


def refresh_results(run_dir: Path) -> pd.DataFrame:
    """Bring both tables up to date, as `build_tables` does, and return the results table only: at the end of a
    sweep the per-test table (1.5 million rows at 10,000 trials) is then read only when it has rows to patch."""
    with locked(Path(run_dir) / ".tables.lock"):
        return _build_tables(Path(run_dir), False, tests_wanted=False)[0]


def _build_tables(run_dir: Path, csv: bool, tests_wanted: bool) -> tuple[pd.DataFrame, Optional[pd.DataFrame]]:
    """Patch the tables with the records changed since they were built (harness/records/table_index.py), or build them
    from every record when there is no index, a table is missing, or a patch could differ from a full build."""
    seen = table_index.scan(run_dir / "trials")
    patched = _patched(run_dir, seen, tests_wanted or csv)
    if patched is None:
        results, per_test = _frames(RecordStore(run_dir).each())
        named = set(results["trial_id"]) == {name[:-len(".json")] for name in seen}
        changed = True
    else:
        results, per_test, changed = patched
        named = True
    if changed or csv:
        write_table(results, run_dir / "results", csv=csv)
        write_table(per_test, run_dir / "tests", csv=csv)
    table_index.write(run_dir, seen if named else None)  # a record filed under another name: read all next time
    return results, per_test.to_pandas() if isinstance(per_test, pa.Table) else per_test


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


def _patched(run_dir: Path, seen: dict, tests_wanted: bool
             ) -> Optional[tuple[pd.DataFrame, Optional[pa.Table], bool]]:
    """The tables with the rows of changed and deleted records replaced, and whether anything changed; None when
    only a full build will do. The per-test table is not read when nothing changed and it is not wanted."""
    index = table_index.read(run_dir)
    paths = [run_dir / "results.parquet", run_dir / "tests.parquet"]
    if index is None or not all(p.exists() for p in paths):
        return None
    schema = _readable(paths[1], pq.read_schema)
    if schema is None or schema.names != TEST_COLUMNS:
        return None  # a per-test table that cannot be read, or of other columns (from before `message`)
    changed, gone = table_index.changes(index, seen)
    results = _readable(paths[0], pd.read_parquet)
    if results is None:
        return None
    if not changed and not gone:  # the per-test table is read only when wanted, but always checked
        tests = _readable(paths[1], read_tests if tests_wanted else pq.read_schema)
        return None if tests is None else (results, tests if tests_wanted else None, False)
    store = RecordStore(run_dir)
    records = [r for r in (store.load(name[:-len(".json")]) for name in changed) if r is not None]
    if any(f"{r.get('trial_id')}.json" not in changed for r in records):
        return None
    new_results, new_tests = _frames(records)
    kept = results[~results["trial_id"].isin(gone)]
    new_results = _typed_like(kept, new_results)
    tests = _readable(paths[1], read_tests)
    if tests is None:
        return None
    new_tests = _typed_like(tests.schema.empty_table().to_pandas(), new_tests)
    if new_results is None or new_tests is None:
        return None  # a column inferred differently from the new rows alone: pandas' own inference decides
    results = pd.concat([kept, new_results]).sort_values(ROW_ORDER, kind="stable").reset_index(drop=True)
    return results, _spliced(tests, gone, pa.Table.from_pandas(new_tests, schema=tests.schema)), True


def results_table(run_dir: Path) -> pd.DataFrame:
    """The results table for a reader (harness-report, harness-seeds): brought up to date from the records when
    the experiment has them, which also rebuilds a table that cannot be read; read as it is otherwise.
    ConfigError when there is neither a readable table nor a record to build one from."""
    run_dir = Path(run_dir)
    if (run_dir / "trials").is_dir():
        return refresh_results(run_dir)
    path = run_dir / "results.parquet"
    if not path.is_file():
        raise ConfigError(f"no results table at {path}, and no trials/ to build one from; give runs/<experiment>")
    results = _readable(path, pd.read_parquet, patching=False)
    if results is None:
        raise ConfigError(f"cannot read {path}, and there is no trials/ folder beside it to rebuild it from")
    return results


def _readable(path: Path, read: Callable[[Path], Any], patching: bool = True) -> Any:
    """A table as `read` reads it, or None when it cannot be read (truncated, torn by a full disk, edited by
    hand) or, when it is to be patched, does not hold the columns a build writes: the tables are derived from the
    records, so they are built again."""
    try:
        table = read(path)
    except (OSError, ValueError, pa.ArrowException) as exc:  # pyarrow's ArrowInvalid is a ValueError
        log.warning("%s cannot be read (%s)%s", path, type(exc).__name__, REBUILT if patching else "")
        return None
    columns = list(table.columns) if isinstance(table, pd.DataFrame) else getattr(table, "schema", table).names
    if patching and columns != (RESULT_COLUMNS if path.name == "results.parquet" else TEST_COLUMNS):
        log.warning("%s does not hold the table's columns%s", path, REBUILT)
        return None
    return table


REBUILT = "; the tables are rebuilt from the records"


def read_tests(path: Path) -> pa.Table:
    """The per-test table as written. Its string columns are read as dictionaries (a few thousand distinct values
    among 1.5 million rows) and made strings again: a quarter of the time of reading them as strings."""
    schema = pq.read_schema(path)
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    return pq.read_table(path, read_dictionary=strings).cast(schema)


def _spliced(tests: pa.Table, gone: set, new: pa.Table) -> pa.Table:
    """The per-test table without the trials in `gone` and with `new`'s rows, each trial's block put where the
    trial id sorts. Both tables are in trial-id order already, so their blocks are merged, not 1.5 million rows
    sorted again (0.8 s at 10,000 trials)."""
    blocks = []
    for source in (tests, new):
        runs = pc.run_end_encode(source["trial_id"].combine_chunks())
        ends = runs.run_ends.to_pylist()
        blocks += [(tid, source, start, end - start)
                   for tid, start, end in zip(runs.values.to_pylist(), [0, *ends[:-1]], ends)
                   if source is new or tid not in gone]
    blocks.sort(key=lambda block: (block[0] is None, block[0] or ""))  # stable; missing ids last, as pandas has
    pieces: list[tuple[pa.Table, int, int]] = []
    for _, source, start, length in blocks:  # neighbouring blocks of one table are one slice
        last = pieces[-1] if pieces else None
        if last is not None and last[0] is source and last[1] + last[2] == start:
            pieces[-1] = (source, last[1], last[2] + length)
        else:
            pieces.append((source, start, length))
    return pa.concat_tables([source.slice(start, length) for source, start, length in pieces] or [tests.slice(0, 0)])


def _typed_like(old: pd.DataFrame, new: pd.DataFrame) -> Optional[pd.DataFrame]:
    """The new rows with the old rows' column types, where a full build would infer those: a column the new rows
    leave empty (a plain trial's `parent_trial_id` beside chains') takes the type of the old rows' strings or
    floats, if they have any (an old column left all empty keeps a type inferred from rows now gone). None when a
    type still differs."""
    if old.empty or new.empty:
        return new
    for column in old.columns:
        theirs, ours = old[column].dtype, new[column].dtype
        if (theirs != ours and new[column].isna().all() and old[column].notna().any()
                and (theirs == STR or theirs.kind == "f")):
            new = new.assign(**{column: new[column].astype(theirs)})
    return new if all(old[c].dtype == new[c].dtype for c in old.columns) else None


def write_table(frame: pd.DataFrame | pa.Table, stem: Path, csv: bool = False) -> None:
    """Write `frame` to `<stem>.parquet`, and to `<stem>.csv` when `csv`, each atomically; without `csv`, a CSV
    left beside it by an earlier build is removed rather than left to disagree with the table."""
    if isinstance(frame, pa.Table):
        outputs = [(".parquet", lambda p: pq.write_table(frame, p))]
    else:
        outputs = [(".parquet", lambda p: frame.to_parquet(p, index=False))]
    if csv:
        table = frame.to_pandas() if isinstance(frame, pa.Table) else frame
        outputs.append((".csv", lambda p: table.to_csv(p, index=False)))
    for suffix, writer in outputs:
        target = stem.with_suffix(suffix)
        tmp = target.with_name(f".{target.name}.tmp")
        writer(tmp)
        os.replace(tmp, target)
    stale = stem.with_suffix(".csv")
    if not csv and stale.exists():
        stale.unlink()
        log.info("removed %s: the table is %s (harness-tables --csv writes a CSV)", stale, stem.name + ".parquet")


@command("harness-tables", "the tables are derived from the records, none of which is lost: run it again")
def main(argv: Optional[list[str]] = None) -> None:
    """harness-tables runs/<experiment> [--csv]: rebuild the experiment's tables from its records."""
    parser = argparse.ArgumentParser(prog="harness-tables", description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, the folder holding trials/")
    parser.add_argument("--csv", action="store_true", help="also write results.csv and tests.csv")
    args = parser.parse_args(argv)
    if not (args.experiment_dir / "trials").is_dir():
        raise ConfigError(f"{args.experiment_dir} holds no trials/; give runs/<experiment>")
    try:
        results, tests = build_tables(args.experiment_dir, csv=args.csv)
    except OSError as exc:  # a folder this user cannot write, a full disk
        raise HarnessError(f"cannot write the tables in {args.experiment_dir}: {exc}") from None
    written = "parquet and csv" if args.csv else "parquet"
    print(f"{args.experiment_dir}: results ({len(results)} trials) and tests ({len(tests)} rows), {written}")
