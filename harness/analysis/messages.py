"""Why tests fail: the messages failing tests left (the per-test table's `message` column), counted.

A message is the assertion or exception that failed a test, as the judge kept it (harness/scoring/judge.py):
untrusted text that quotes what the code under test returned. It is counted and shown, never evaluated.
"""

from __future__ import annotations

import pandas as pd

from harness.seams import PASSING_OUTCOMES, TrialStatus

MESSAGE_COLUMNS = ["spec", "message", "failures", "tests", "trials", "example_test", "example_trial"]


def failure_messages(results: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """Per spec and distinct message: how many test failures of scored trials said it, over how many distinct
    tests and trials, and one of each (the first by trial id, then test id). Only scored trials count, as in
    `cells.test_failure_rates`; a table from before messages were kept (no `message` column) reads as failures
    without one (an empty message).

    Columns: MESSAGE_COLUMNS; sorted by spec, then failures descending, then message."""
    tests = tests if "message" in tests else tests.assign(message="")
    scored = results.loc[results["status"] == TrialStatus.scored.value, ["trial_id", "spec"]]
    failed = tests.loc[~tests["outcome"].isin(PASSING_OUTCOMES), ["trial_id", "test_id", "message"]]
    rows = failed.merge(scored, on="trial_id").fillna({"message": ""})
    if rows.empty:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    table = rows.sort_values(["trial_id", "test_id"], kind="stable").groupby(["spec", "message"], sort=True).agg(
        failures=("trial_id", "size"), tests=("test_id", "nunique"), trials=("trial_id", "nunique"),
        example_test=("test_id", "first"), example_trial=("trial_id", "first")).reset_index()
    table = table.sort_values(["spec", "failures", "message"], ascending=[True, False, True], kind="stable")
    return table.reset_index(drop=True)[MESSAGE_COLUMNS]


def one_line(message: str, width: int = 160) -> str:
    """A message on one line (its lines joined, runs of spaces made one), cut to `width` characters: for a table
    cell or a terminal line; the viewer shows it whole."""
    flat = " ".join(str(message).split())
    return flat if len(flat) <= width else flat[:width - 3] + "..."
