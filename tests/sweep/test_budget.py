"""The spending cap, through the `harness` command (its exit status and what it says once) with the synthetic model's
made-up prices."""

from __future__ import annotations

import pandas as pd

from harness.run.app import BUDGET_STOP_EXIT
from harness.trial.front_door import run_trials
from tests.conftest import config, make_spec, run_harness


def test_no_trial_starts_past_the_cap_and_the_stop_is_said_once_with_a_failing_exit(tmp_path):
    specs = tmp_path / "specs"
    make_spec(specs)
    runs = tmp_path / "runs"
    base = [f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "experiment.name=capped",
            "temperature=0.0"]
    [one] = run_trials(config(*base, "seed=0"))  # what one trial costs: in-process, no command line needed
    cost = one.record["cost_usd"]
    assert one.record["status"] == "scored" and cost > 0
    capped = run_harness(*base, "seed=range(10)", f"max_cost_usd={cost * 3.5}")
    assert capped.returncode == BUDGET_STOP_EXIT, capped.stderr[-2000:]
    table = pd.read_parquet(runs / "capped" / "results.parquet")
    assert len(table) == 3  # the 4th would pass the cap with its estimate
    assert table["cost_usd"].sum() <= cost * 3.5
    said = capped.stdout + capped.stderr
    assert said.count("no new trial starts") == 1 and said.count("STOPPED BY BUDGET") == 1  # not once per job
    assert "7 trial(s) of this sweep not started" in capped.stdout
    raised = run_harness(*base, "seed=range(10)", f"max_cost_usd={cost * 100}")
    assert raised.returncode == 0 and len(pd.read_parquet(runs / "capped" / "results.parquet")) == 10
    assert "STOPPED BY BUDGET" not in raised.stdout + raised.stderr


def test_a_claim_from_another_node_counts_and_a_dead_local_one_does_not(tmp_path):
    """On a cluster the claims of running trials come from several nodes: a pid can only be checked on the node
    that wrote it, so another node's claim is counted (never spend past the cap), while one left here by a
    process that died is not (a killed sweep does not hold its estimates forever)."""
    import json
    import subprocess
    import sys

    from harness.sweep.budget import Budget

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # exited: no process of that pid now, unless the kernel reused it (vanishingly rare)
    claims = tmp_path / "inflight"
    claims.mkdir()
    (claims / "here.json").write_text(json.dumps({"estimate_usd": 1.0, "pid": pid, "host": socket_host()}))
    (claims / "there.json").write_text(json.dumps({"estimate_usd": 0.25, "pid": pid, "host": "node-elsewhere"}))
    assert Budget(tmp_path, 10.0).in_flight() == 0.25


def socket_host() -> str:
    import socket

    return socket.gethostname()
