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
    assert line[3:6] == ["7", "2", "1"]  # trials, scored, infra_err
    assert line[6:9] == ["memory:2", "tampered:1", "timeout:1"]
