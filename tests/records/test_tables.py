"""The tables rebuilt from records: the same frames as the plain pandas build they replaced (every column, dtype and
row, whichever way the records lie on disk), parquet always, CSV only on request, and `harness-tables`."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness.records.atomic import write_json_atomic
from harness.records.store import RecordStore, TrialRecord
from harness.records.tables import RESULT_COLUMNS, ROW_ORDER, build_tables, main
from harness.records.tests_table import TEST_COLUMNS
from harness.seams import TrialStatus


def plain_build(store: RecordStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables as they were built before harness/records/tables.py: every record in memory, a row dict each, then
    pandas' own inference and stable sorts. The new build must give the same frames."""
    records = store.all()
    results = pd.DataFrame([{c: r.get(c) for c in RESULT_COLUMNS} for r in records], columns=RESULT_COLUMNS)
    results = results.sort_values(ROW_ORDER, kind="stable").reset_index(drop=True)
    tests = pd.DataFrame([{"trial_id": r["trial_id"], "clause": "", "message": "", **t} for r in records
                          for t in r.get("tests", [])],
                         columns=TEST_COLUMNS).sort_values(["trial_id", "test_id"], kind="stable")
    return results, tests.reset_index(drop=True)


def record(tid: str, seed: int, tests: list[dict], **fields) -> TrialRecord:
    values = dict(trial_id=tid, experiment="exp", spec="semver", spec_sha256="s", suite_sha256="u",
                  generator="oneshot", model="synthetic", litellm_model="harness/synthetic", temperature=0.5,
                  seed=seed, sample=0, status=TrialStatus.scored, detail="", ground_truth="reference",
                  tests_total=len(tests), tests_passed=len(tests), tests_failed=0, tests_errored=0,
                  tests_skipped=0, pass_rate=1.0, passed_all=True, impl_lines=10, prompt_tokens=1,
                  completion_tokens=1, cost_usd=None if seed % 2 else 0.01, model_calls=1, cache_hits=0,
                  gen_seconds=0.1, score_seconds=0.2, created_at="2026-11-25T00:00:00+00:00", tests=tuple(tests),
                  config={"seed": seed, "model": {"name": "synthetic"}})
    return TrialRecord(**{**values, **fields})


def suite(*outcomes: str) -> list[dict]:
    """Tests in run order (not sorted by id), as a scoring run records them."""
    names = ["test_z", "test_a[2]", "test_a[10]", "test_m::b", "test_m::a"]
    return [{"test_id": n, "clause": "c" if i % 2 else "", "outcome": o, "seconds": 0.001 * i,
             **({} if o in ("passed", "skipped") else {"message": f"AssertionError: assert {i} == {o!r}"})}
            for i, (n, o) in enumerate(zip(names, outcomes))]


def tidy_store(tmp_path) -> RecordStore:
    """Records as the harness writes them: one file per trial, named by its trial id."""
    store = RecordStore(tmp_path / "exp")
    for i, tid in enumerate(["c3", "a1", "b2", "d4"]):
        store.write(record(tid, seed=i, tests=suite("passed", "failed", "passed", "skipped", "error")[:3 + i % 3],
                           generation=i % 2, parent_trial_id="a1" if i % 2 else None))
    store.write(record("e5", seed=9, tests=[], status=TrialStatus.infra_error, pass_rate=float("nan")))
    return store


def untidy_store(tmp_path) -> RecordStore:
    """Records no sweep writes but the table must still order as a stable sort would: a record filed under
    another trial's name, two records of one trial, a test without an id, one from before `clause`, a missing time."""
    store = tidy_store(tmp_path)
    moved = json.loads(store.path("a1").read_text())
    write_json_atomic(store.path("zz"), {**moved, "tests": moved["tests"][:2]})  # trial a1 again, read last
    write_json_atomic(store.path("0a"), {**moved, "trial_id": "f6", "tests": [
        {"test_id": "test_b", "outcome": "passed", "seconds": None}, {"test_id": None, "clause": "x",
                                                                       "outcome": "failed", "seconds": 1},
        {"test_id": "test_a", "clause": "", "outcome": "passed", "seconds": 2.5}]})
    store.write(record("b0", seed=3, tests=suite("failed")))  # a suite of one test
    return store


def many_suites_store(tmp_path) -> RecordStore:
    """More distinct suites (lists of test ids) than the build keeps layouts for, each seen several times."""
    store = RecordStore(tmp_path / "exp")
    for i in range(200):
        tests = [{"test_id": f"test_{i % 80}_{k}", "clause": "", "outcome": "passed", "seconds": 0.5}
                 for k in range(i % 80 % 4 + 2)]
        store.write(record(f"t{(i * 37) % 200:03d}", seed=i, tests=tests[::-1]))
    return store


@pytest.mark.parametrize("make_store", [tidy_store, untidy_store, many_suites_store])
def test_the_tables_are_the_frames_the_plain_build_gave(tmp_path, make_store):
    store = make_store(tmp_path)
    expected_results, expected_tests = plain_build(store)
    results, tests = build_tables(store.run_dir)
    for got, expected, name in ((results, expected_results, "results"), (tests, expected_tests, "tests")):
        pd.testing.assert_frame_equal(got, expected)
        pd.testing.assert_frame_equal(pd.read_parquet(store.run_dir / f"{name}.parquet"), expected)
    assert len(tests) == sum(len(r.get("tests", [])) for r in store.all())


def test_a_column_that_is_not_all_strings_is_inferred_as_pandas_would(tmp_path):
    store = RecordStore(tmp_path / "exp")
    store.write(record("a1", seed=0, tests=[{"test_id": "t", "clause": "", "outcome": None, "seconds": 3}]))
    store.write(record("b2", seed=1, tests=[{"test_id": "u", "clause": "", "outcome": None, "seconds": 4}]))
    _, expected = plain_build(store)
    _, tests = build_tables(store.run_dir)
    pd.testing.assert_frame_equal(tests, expected)
    assert tests["seconds"].dtype == "int64" and tests["outcome"].dtype == object


def test_an_experiment_without_records_has_empty_tables_of_the_same_columns(tmp_path):
    store = RecordStore(tmp_path / "exp")
    store.trials_dir.mkdir(parents=True)
    results, tests = build_tables(store.run_dir)
    for got, expected in zip((results, tests), plain_build(store)):
        pd.testing.assert_frame_equal(got, expected)


def test_csv_is_written_only_on_request_and_never_left_stale(tmp_path, caplog):
    store = tidy_store(tmp_path)
    build_tables(store.run_dir)
    assert not list(store.run_dir.glob("*.csv"))
    results, tests = build_tables(store.run_dir, csv=True)
    assert (store.run_dir / "results.csv").read_text() == results.to_csv(index=False)
    assert (store.run_dir / "tests.csv").read_text() == tests.to_csv(index=False)
    store.write(record("f6", seed=5, tests=suite("passed")))
    with caplog.at_level("INFO", logger="harness.records.tables"):
        build_tables(store.run_dir)  # a CSV kept now would lack trial f6
    assert not list(store.run_dir.glob("*.csv")) and "results.csv" in caplog.text
    assert len(pd.read_parquet(store.run_dir / "results.parquet")) == 6


def test_harness_tables_rebuilds_and_writes_csv_when_asked(tmp_path, capsys):
    store = tidy_store(tmp_path)
    main([str(store.run_dir), "--csv"])
    assert "results (5 trials) and tests (15 rows), parquet and csv" in capsys.readouterr().out
    trials = pd.read_parquet(store.run_dir / "results.parquet")["trial_id"].tolist()
    assert pd.read_csv(store.run_dir / "results.csv")["trial_id"].tolist() == trials
    with pytest.raises(SystemExit) as ended:
        main([str(tmp_path)])
    assert ended.value.code == 2 and "holds no trials/" in capsys.readouterr().err


def assert_full_build(store: RecordStore, results: pd.DataFrame, tests: pd.DataFrame) -> None:
    expected = plain_build(store)
    pd.testing.assert_frame_equal(results, expected[0])
    pd.testing.assert_frame_equal(tests, expected[1])
    on_disk = [pd.read_parquet(store.run_dir / f"{name}.parquet") for name in ("results", "tests")]
    pd.testing.assert_frame_equal(on_disk[0], expected[0])
    pd.testing.assert_frame_equal(on_disk[1], expected[1])


def test_a_rebuild_patches_the_tables_with_what_changed_and_equals_a_full_build(tmp_path, monkeypatch):
    """After the first build, a rebuild reads only the records written, rewritten or deleted since (the index of
    harness/records/table_index.py), and its tables are still exactly the full build's."""
    store = tidy_store(tmp_path)
    build_tables(store.run_dir)
    store.write(record("f6", seed=6, tests=suite("passed", "passed", "failed")))  # a new trial
    store.write(record("b2", seed=1, tests=suite("failed", "failed", "failed", "failed"), passed_all=False,
                       status=TrialStatus.timeout, cost_usd=0.5))  # a trial run again, differently
    store.write(record("a0", seed=5, tests=suite("error", "passed")))  # sorts first
    store.path("d4").unlink()  # a record deleted by hand
    assert_full_build(store, *patch_reading(monkeypatch, store, ["a0", "b2", "f6"]))
    parquet = store.run_dir / "results.parquet"
    before = parquet.stat().st_mtime_ns
    assert_full_build(store, *patch_reading(monkeypatch, store, []))  # nothing changed: nothing read
    assert parquet.stat().st_mtime_ns == before  # nor rewritten


def patch_reading(monkeypatch, store: RecordStore, expected: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild the tables, checking that exactly the `expected` records were read."""
    read = []
    original = RecordStore.load
    with monkeypatch.context() as patched:
        patched.setattr(RecordStore, "load", lambda self, tid: read.append(tid) or original(self, tid))
        patched.setattr(RecordStore, "each", lambda self: pytest.fail("a patch must not read every record"))
        tables = build_tables(store.run_dir)
    assert sorted(read) == expected
    return tables


def test_a_record_filed_under_another_name_or_a_lost_index_means_a_full_build(tmp_path):
    store = untidy_store(tmp_path)
    build_tables(store.run_dir)
    assert not (store.run_dir / "tables.index.json").exists()  # rows cannot be told apart by file name
    store.write(record("g7", seed=7, tests=suite("passed")))
    assert_full_build(store, *build_tables(store.run_dir))
    store = tidy_store(tmp_path / "other")
    build_tables(store.run_dir)
    (store.run_dir / "tables.index.json").write_text("{not json")
    store.write(record("h8", seed=8, tests=suite("failed", "passed")))
    assert_full_build(store, *build_tables(store.run_dir))


def test_a_column_the_patch_leaves_all_empty_is_typed_as_a_full_build_types_it(tmp_path):
    """An infra error's spend is 0.0 and an unpriced model's is unknown: with both, `cost_usd` is a float column;
    once the infra error is run again unpriced, every spend is unknown and a full build makes it `object`. The
    patch must not keep the float type inferred from a row that is gone."""
    store = RecordStore(tmp_path / "exp")
    store.write(record("a1", seed=0, tests=suite("passed"), status=TrialStatus.infra_error, cost_usd=0.0))
    store.write(record("b2", seed=2, tests=suite("passed"), cost_usd=None))
    build_tables(store.run_dir)
    store.write(record("a1", seed=0, tests=suite("passed"), cost_usd=None))
    assert_full_build(store, *build_tables(store.run_dir))


def test_tables_built_before_messages_are_rebuilt_with_them_and_old_records_read_as_no_message(tmp_path):
    """A per-test table written before the `message` column, beside an index saying nothing changed: the build
    must not patch it (its columns differ) but rebuild it, with the messages of the records that have them and an
    empty message for the tests of records written before messages were kept."""
    store = tidy_store(tmp_path)
    old = json.loads(store.path("a1").read_text())
    write_json_atomic(store.path("a1"), {**old, "tests": [{k: v for k, v in t.items() if k != "message"}
                                                          for t in old["tests"]]})
    build_tables(store.run_dir)
    stale = pd.read_parquet(store.run_dir / "tests.parquet").drop(columns=["message"])
    stale.to_parquet(store.run_dir / "tests.parquet", index=False)
    results, tests = build_tables(store.run_dir)
    assert list(tests.columns) == TEST_COLUMNS
    assert_full_build(store, results, tests)
    failing = tests[~tests["outcome"].isin(["passed", "skipped"])]
    assert set(failing.loc[failing["trial_id"] == "a1", "message"]) == {""}  # the old record: none kept
    others = failing[failing["trial_id"] != "a1"]
    assert len(others) and all(m.startswith("AssertionError: assert ") for m in others["message"])
    assert set(tests.loc[tests["outcome"] == "passed", "message"]) == {""}
