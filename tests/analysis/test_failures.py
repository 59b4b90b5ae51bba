"""harness.analysis.failures: failures pooled by clause, and clauses that failed in the same trials merged."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis.failures import clause_failures, failure_groups, group_label, unit
from harness.analysis.intervals import clopper_pearson


def outcomes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four scored trials of one spec (a, b, c by model m on seeds 0-2; d by model n) and one that timed out (ignored). Trial a
    breaks nearly everything; b fails one test of clause `cli.task`; c and d pass."""
    results = pd.DataFrame({"trial_id": list("abcde"), "spec": "s", "model": ["m", "m", "m", "n", "m"],
                            "generator": "g", "status": ["scored"] * 4 + ["timeout"], "seed": [0, 1, 2, 0, 1]})
    tests = [("cli::t1", "cli.task"), ("cli::t2", "cli.task"), ("cli::t3", "cli.model"), ("api::t4", "api.request"),
             ("misc::t5", ""), ("misc.Case::t6", None)]
    failing = {"a": {"cli::t1", "cli::t3", "api::t4", "misc::t5"}, "b": {"cli::t2"}, "e": {"cli::t1"}}
    rows = [(trial, test, clause, "failed" if test in failing.get(trial, ()) else "passed")
            for trial in "abcde" for test, clause in tests]
    return results, pd.DataFrame(rows, columns=["trial_id", "test_id", "clause", "outcome"])


def test_a_clause_fails_in_a_run_when_any_of_its_tests_does():
    table = clause_failures(*outcomes()).set_index(["model", "clause"])
    assert table.loc[("m", "cli.task"), ["tests", "runs", "failures", "failed_in"]].tolist() == [2, 3, 2, ("a", "b")]
    assert table.loc[("m", "cli.task"), "failure_rate"] == pytest.approx(2 / 3)
    # one run per seed: the interval clustered by seed is Clopper-Pearson on the runs
    assert (table.loc[("m", "cli.task"), "failure_rate_low"], table.loc[("m", "cli.task"), "failure_rate_high"]) == \
        pytest.approx(clopper_pearson(2, 3))
    assert table.loc[("n", "cli.task"), ["runs", "failures"]].tolist() == [1, 0]  # trial e timed out: not counted
    assert table.loc[("m", "misc"), ["named", "tests", "failures"]].tolist() == [False, 2, 1]  # a suite module
    assert table.loc[("m", "cli.task"), "named"]


def test_clauses_that_failed_in_the_same_trials_are_one_group():
    groups = failure_groups(clause_failures(*outcomes()), by=["model"])
    rows = groups[groups["model"] == "m"]
    assert rows["group"].tolist() == [0, 1]
    assert rows["names"].tolist() == [["cli.task"], ["api.request", "cli.model", "misc"]]  # most failures first
    assert rows["failed_in"].tolist() == [("a", "b"), ("a",)] and rows["clauses"].tolist() == [1, 3]
    assert rows["named"].tolist() == [True, False]
    # model n never failed: its rows are in no group of m's, and a clause nobody broke is in no group at all
    assert set(groups["model"]) == {"m", "n"} and (groups.loc[groups["model"] == "n", "failures"] == 0).all()


def test_group_labels_and_units():
    assert group_label(["cli.task"]) == "cli.task"
    assert group_label(["a", "b"], named=False) == "2 suite modules: a, b"
    assert len(group_label([f"clause.{i}" for i in range(30)])) == 60
    assert unit("test_cli::test_x[1]", "") == "test_cli" and unit("t.Case::x", None) == "t" and unit("t::x", "c") == "c"


def test_no_scored_trial_no_rows():
    results, tests = outcomes()
    assert clause_failures(results.assign(status="timeout"), tests).empty
    assert failure_groups(clause_failures(results.assign(status="timeout"), tests)).empty
