"""harness.analysis.messages: why tests fail, counted per test and message."""

from __future__ import annotations

import pandas as pd

from harness.analysis.messages import MESSAGE_COLUMNS, failure_messages, one_line


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    results = pd.DataFrame({"trial_id": ["t1", "t2", "t3", "t4"], "spec": ["s", "s", "s", "r"],
                            "status": ["scored", "scored", "timeout", "scored"]})
    tests = pd.DataFrame({
        "trial_id": ["t1", "t1", "t2", "t2", "t3", "t4"],
        "test_id": ["a", "b", "a", "b", "a", "a"],
        "clause": ["c1", "c2", "c1", "c2", "c1", ""],
        "outcome": ["failed", "passed", "failed", "errored", "failed", "skipped"],
        "seconds": [0.1] * 6,
        "message": ["assert 1 == 2", "", "assert 1 == 2", "KeyError: 'x'", "assert 0 == 2", ""]})
    return results, tests


def test_failures_are_counted_per_message_over_scored_trials_only():
    why = failure_messages(*tables())
    assert list(why.columns) == MESSAGE_COLUMNS
    assert why.to_dict("records") == [
        {"spec": "s", "message": "assert 1 == 2", "failures": 2, "tests": 1, "trials": 2, "example_test": "a",
         "example_trial": "t1"},
        {"spec": "s", "message": "KeyError: 'x'", "failures": 1, "tests": 1, "trials": 1, "example_test": "b",
         "example_trial": "t2"}]  # t3 timed out: no per-test verdict counts; t4's test was skipped: it passed


def test_a_table_from_before_messages_reads_as_failures_without_one():
    results, tests = tables()
    why = failure_messages(results, tests.drop(columns=["message", "clause"]))
    assert why["message"].tolist() == [""] and why["failures"].tolist() == [3] and why["tests"].tolist() == [2]
    assert failure_messages(results, tests[tests["outcome"] == "passed"]).empty


def test_one_line_joins_lines_and_cuts():
    assert one_line("AssertionError: assert 1 == 2\n +  where 1 = f()") == (
        "AssertionError: assert 1 == 2 + where 1 = f()")
    assert one_line("x" * 50, width=10) == "xxxxxxx..."
