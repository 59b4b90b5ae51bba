"""The end-of-sweep table."""

from __future__ import annotations

import pandas as pd

from harness.summary import summarize


def test_the_summary_says_how_the_failed_trials_ended():
    statuses = ["scored", "scored", "timeout", "memory", "memory", "infra_error", "tampered"]
    results = pd.DataFrame({
        "spec": "s", "model": "m", "generator": "g", "status": statuses, "generation": 0,
        "pass_rate": [1.0, 0.5, 0, 0, 0, 0, 0], "passed_all": [True] + [False] * 6, "cost_usd": 0.001,
    })
    line = summarize(results).splitlines()[-1].split()
    assert line[:4] == ["s", "ours/all", "m", "g"]  # records without spec_text and selection read as ours/all
    assert line[4:7] == ["7", "2", "1"]  # trials, scored, infra_err
    assert line[7:10] == ["memory:2", "tampered:1", "timeout:1"]


def test_the_summary_keeps_texts_apart():
    results = pd.DataFrame({
        "spec": "s", "model": "m", "generator": "g", "status": "scored", "generation": 0,
        "spec_text": ["ours", "upstream"], "selection": ["all", "paper"], "pass_rate": [1.0, 0.5],
        "passed_all": [True, False], "cost_usd": None,
    })
    ours, upstream = summarize(results).splitlines()[-2:]
    assert "ours/all" in ours and ours.split()[-3:-1] == ["1.0", "1.0"]
    assert "upstream/paper" in upstream and upstream.split()[-3:-1] == ["0.5", "0.0"]


def test_infra_errors_leave_the_pass_rate_denominators():
    results = pd.DataFrame({
        "spec": "s", "model": "m", "generator": "g", "status": ["scored", "infra_error", "error"], "generation": 0,
        "pass_rate": [1.0, 0.0, 0.0], "passed_all": [True, False, False], "cost_usd": 0.001,
    })
    line = summarize(results).splitlines()[-1].split()
    assert line[4:7] == ["3", "1", "2"]  # trials, scored, infra_err
    assert line[8:10] == ["1.0", "1.0"]  # pass_rate and passed_all over the one counted trial, not 0.333
