"""The end-of-sweep table."""

from __future__ import annotations

import pandas as pd

from harness.records import TrialStatus
from harness.summary import summarize


def cells(text: str) -> list[list[str]]:
    """The summary's data lines, split on whitespace (its header is two lines, and no chains here)."""
    return [line.split() for line in text.splitlines()[2:] if not line.startswith("*")]


def trials(**columns) -> pd.DataFrame:
    return pd.DataFrame({"spec": "s", "model": "m", "generator": "g", "temperature": 0.0, "generation": 0,
                         "cost_usd": 0.001, **columns})


def test_the_summary_says_how_the_failed_trials_ended():
    statuses = ["scored", "scored", "timeout", "memory", "memory", "infra_error", "tampered"]
    results = trials(status=statuses, seed=range(7), pass_rate=[1.0, 0.5, 0, 0, 0, 0, 0],
                     passed_all=[True] + [False] * 6)
    line = cells(summarize(results))[-1]
    assert line[:6] == ["s", "ours/all", "m", "g", "0.0", "0"]  # records without spec_text and selection: ours/all
    assert line[6:9] == ["7", "2", "1"]  # trials, scored, infra_err
    assert line[9:12] == ["memory:2", "tampered:1", "timeout:1"]


def test_the_summary_keeps_texts_generators_and_generations_apart():
    results = trials(status="scored", seed=0, spec_text=["ours", "upstream", "ours", "ours"],
                     selection=["all", "paper", "all", "all"], generator=["g", "g", "h", "g"],
                     generation=[0, 0, 0, 1], pass_rate=[1.0, 0.5, 0.25, 0.0],
                     passed_all=[True, False, False, False], cost_usd=None, trial_id=["a", "b", "c", "d"],
                     parent_trial_id=[None, None, None, "a"])
    text = summarize(results)
    rows = {" ".join(line[:6]): line[6:] for line in cells(text.split("\n\nbootstrap chains")[0])}
    assert set(rows) == {"s ours/all m g 0.0 0", "s ours/all m g 0.0 1", "s ours/all m h 0.0 0",
                         "s upstream/paper m g 0.0 0"}
    rates = {cell: [float(x) for x in line[4:6]] for cell, line in rows.items()}  # pass_rate, passed_all
    assert rates["s ours/all m g 0.0 0"] == [1.0, 1.0] and rates["s ours/all m g 0.0 1"] == [0.0, 0.0]
    assert rates["s upstream/paper m g 0.0 0"] == [0.5, 0.0] and rates["s ours/all m h 0.0 0"] == [0.25, 0.0]


def test_infra_errors_leave_the_pass_rate_denominators():
    results = trials(status=["scored", "infra_error", "error", "interrupted"], seed=[0, 1, 2, 3],
                     pass_rate=[1.0, 0.0, 0.0, 0.0], passed_all=[True, False, False, False])
    line = cells(summarize(results))[-1]
    assert line[6:9] == ["4", "1", "3"]  # trials, scored, excluded
    assert line[10:12] == ["1.0", "1.0"]  # pass_rate and passed_all over the one counted trial, not 0.25
    assert line[12:14] == ["[nan,nan]", "1*"]  # one seed: no interval, and flagged


def test_the_summary_shows_the_interval_seeds_and_cost_per_success():
    statuses = [s.value for s in TrialStatus]  # every status, one trial each, on seeds 0..11
    results = trials(status=statuses, seed=range(12), pass_rate=[1.0] + [0.0] * 11,
                     passed_all=[True] + [False] * 11)
    text = summarize(results)
    line = cells(text)[-1]
    assert line[6:9] == ["12", "1", "3"]
    low, high = line[-4].strip("[]").split(",")
    assert 0.0 <= float(low) < 1 / 9 < float(high) < 0.6  # the clustered interval of 1 pass in 9 counted trials
    assert line[-3] == "9"  # seeds among the counted trials, 5 or more: not flagged
    assert line[-2:] == ["0.012", "0.009"]  # spent by all 12 trials; 9 counted trials' spend per success
    results.loc[3, "cost_usd"] = None
    assert cells(summarize(results))[-1][-2:] == ["-", "-"]  # an unknown cost is unknown, never 0
    assert "fewer than 5 seeds" not in text
