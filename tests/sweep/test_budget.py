"""The spending cap, through the `harness` command (its exit status and what it says once) with the synthetic model's
made-up prices."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.run.app import BUDGET_STOP_EXIT
from harness.seams import TokenBound
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


def test_the_first_wave_of_concurrent_trials_does_not_pass_the_cap(tmp_path):
    """The case a new user met: four trials at once, started before any cost was known, spent 89 % over the cap
    (each was estimated at the mean cost so far: nothing). Each trial now claims what it may cost at most before
    it starts, so spend passes the cap by less than one trial's cost, whatever the concurrency."""
    specs = tmp_path / "specs"
    make_spec(specs)
    runs = tmp_path / "runs"
    base = [f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "temperature=0.0"]
    [one] = run_trials(config(*base, "experiment.name=priced", "seed=0"))
    cost = one.record["cost_usd"]
    capped = run_harness(*base, "experiment.name=capped", "seed=range(10)", f"max_cost_usd={cost * 2.5}",
                         "launch.concurrency=4")
    assert capped.returncode == BUDGET_STOP_EXIT, capped.stderr[-2000:]
    table = pd.read_parquet(runs / "capped" / "results.parquet")
    assert table["cost_usd"].sum() <= cost * 2.5 + table["cost_usd"].max()  # four at once would be 4 x cost
    assert len(table) == 2  # one alone, then one more while the mean cost so far still fit
    assert not list((runs / "capped" / "inflight").glob("*.json"))  # every claim released


def test_trials_whose_bound_fits_run_side_by_side_and_spend_stays_within_one_trial_of_the_cap(tmp_path):
    """With max_tokens near the replies' size, a trial's bound is near its cost: several fit under the cap at
    once, and the sweep still stops within one trial's cost of it."""
    specs = tmp_path / "specs"
    make_spec(specs)
    runs = tmp_path / "runs"
    base = [f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "temperature=1.0"]
    [one] = run_trials(config(*base, "experiment.name=priced", "seed=0"))
    cost, tokens = one.record["cost_usd"], one.record["completion_tokens"]
    cap = cost * 6.5
    sweep_ = run_harness(*base, "experiment.name=capped", "seed=range(12)", f"max_cost_usd={cap}",
                         "launch.concurrency=4", f"model.max_tokens={tokens + 16}")
    assert sweep_.returncode == BUDGET_STOP_EXIT, sweep_.stderr[-2000:]
    table = pd.read_parquet(runs / "capped" / "results.parquet")
    assert table["cost_usd"].sum() <= cap + table["cost_usd"].max()
    assert len(table) >= 5  # the budget was used, not given up early


def claims_dir(run_dir, *claims):
    """A run dir whose in-flight claims are (usd, host, pid) triples."""
    import json

    folder = run_dir / "inflight"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (usd, host, pid) in enumerate(claims):
        (folder / f"t{i}.json").write_text(json.dumps({"estimate_usd": usd, "pid": pid, "host": host}))
    return run_dir


def priced_budget(run_dir, cap, spent=0.0, costed=0, claims=()):
    from harness.records import totals
    from harness.sweep.budget import Budget

    run_dir.mkdir(parents=True, exist_ok=True)
    totals.write(run_dir, totals.Totals(records=costed, counted=costed, cost_usd=spent, costed=costed))
    claims_dir(run_dir, *claims)
    return Budget(run_dir, cap)


HERE = "here"  # replaced by this host's name


@pytest.mark.parametrize("cap, spent, costed, claims, bound, decision", [
    (None, 9.0, 3, [], 5.0, ("claim", 0.0)),  # no cap: nothing to decide
    (1.0, 0.2, 2, [(0.3, HERE, "me")], 0.4, ("claim", 0.4)),  # fits beside the running trials: starts now
    (1.0, 0.2, 2, [(0.3, HERE, "me")], 0.6, ("wait", None)),  # needs the room a running trial holds: waits
    (0.05, 0.0, 0, [], 0.1, ("claim", 0.1)),  # nothing known, nothing running: alone, claiming its bound
    (1.0, 0.5, 2, [], 2.0, ("claim", 2.0)),  # alone while the mean cost so far (0.25) still fits
    (1.0, 0.5, 2, [], 0.6, ("claim", 0.6)),
    (1.0, 0.9, 3, [], 2.0, ("refuse", None)),  # the mean (0.3) no longer fits
    (1.0, 0.2, 1, [], None, ("claim", 0.8)),  # an agent CLI (no bound): alone, holding the rest of the cap
    (1.0, 0.0, 0, [(0.0, HERE, "me")], None, ("wait", None)),  # ... after the running ones
    (1.0, 0.0, 0, [(0.9, "node-elsewhere", 1)], 0.2, ("refuse", None)),  # another node's claim: counted, not awaited
    (1.0, 0.0, 0, [(0.9, HERE, "dead")], 0.2, ("claim", 0.2)),  # a dead worker's claim: ignored
    (1.0, 1.0, 4, [], 0.0, ("claim", 0.0)),  # a trial that costs nothing fits even at the cap
    (1.0, 1.01, 4, [], 0.0, ("refuse", None)),  # past the cap nothing starts
])
def test_what_a_trial_may_do_under_the_cap(tmp_path, cap, spent, costed, claims, bound, decision):
    import os

    dead = dead_pid()
    mapped = [(usd, socket_host() if host == HERE else host, {"me": os.getpid(), "dead": dead}.get(pid, pid))
              for usd, host, pid in claims]
    got = priced_budget(tmp_path, cap, spent, costed, mapped).decide(bound)
    kind = "wait" if got.wait else "refuse" if got.refusal else "claim"
    assert (kind, got.claim) == (decision[0], pytest.approx(decision[1]) if decision[1] is not None else None)
    if kind == "refuse":
        assert "no new trial starts" in got.refusal


def test_a_waiting_trial_starts_when_the_running_one_ends(tmp_path):
    import os
    import threading

    budget = priced_budget(tmp_path, 1.0, 0.2, 2, [(0.7, socket_host(), os.getpid())])
    started = threading.Event()

    def trial():
        with budget.admit("waiting", lambda: 0.5) as refusal:
            assert refusal is None
            started.set()

    worker = threading.Thread(target=trial)
    worker.start()
    assert not started.wait(1.0)  # 0.2 spent + 0.7 claimed + 0.5 would pass 1.0: it waits
    (tmp_path / "inflight" / "t0.json").unlink()  # the running trial ends (and, here, spent nothing)
    worker.join(30)
    assert started.is_set() and not worker.is_alive()


def dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)  # exited: no process of that pid now, unless the kernel reused it (vanishingly rare)


@pytest.mark.parametrize("generator", [["generator=oneshot"], ["generator=agent", "generator.max_total_tokens=3000"]])
def test_a_trial_never_uses_more_than_its_generator_bound(tmp_path, generator):
    """What the budget claims before a trial holds for the trial as it ran: its tokens, read and written, and
    its cost at the model's prices (the synthetic model's replies stay within max_tokens)."""
    from harness.trial.front_door import build_trials

    cfg = config(f"runs_dir={tmp_path}", "spec=semver", "temperature=1.0", "seed=3", *generator)
    built = build_trials(cfg)
    tokens = built.generator.token_bound(built.setup.spec, cfg.model.max_tokens)
    [outcome] = run_trials(cfg)
    record = outcome.record
    assert record["model_calls"] >= 1
    assert record["prompt_tokens"] <= tokens.prompt_tokens and record["completion_tokens"] <= tokens.completion_tokens
    assert 0 < record["cost_usd"] <= built.setup.model.cost_bound(tokens)


def test_bounds_of_generators_that_call_no_model_or_that_nothing_bounds(tmp_path):
    from harness.trial.front_door import build_trials

    base = [f"runs_dir={tmp_path}", "spec=semver"]
    reference = build_trials(config(*base, "generator=reference"))
    assert reference.generator.token_bound(reference.setup.spec, 100) == TokenBound(0, 0)
    cli = build_trials(config(*base, "generator=external"))  # an agent CLI: only its time limit ends its calls
    assert cli.generator.token_bound(cli.setup.spec, 100) is None and cli.setup.model.cost_bound(None) is None


def test_prices_come_from_the_config_else_from_litellm_and_unknown_is_none():
    from harness.config.schema import ModelConfig
    from harness.models.gateway import prices

    assert prices(ModelConfig(name="m", litellm_model="openai/x", input_cost_per_token=1.0,
                              output_cost_per_token=2.0)) == (1.0, 2.0)
    assert prices(ModelConfig(name="m", litellm_model="openai/gpt-4o")) == (2.5e-06, 1e-05)  # not priority tier
    assert prices(ModelConfig(name="m", litellm_model="gemini/gemini-2.5-pro"))[0] == 2.5e-06  # past 200k tokens
    assert prices(ModelConfig(name="m", litellm_model="openai/no-such-model")) is None
