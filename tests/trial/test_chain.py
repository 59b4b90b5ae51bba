"""The bootstrap chain, with a tiny agent spec so that each generation is quick: through the `harness` command
where what it prints is under test (each generation logged as it ends), through the front door in-process elsewhere.

Each generation after the first is a real subprocess agent talking to the trial's gateway over loopback HTTP.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pandas as pd

from harness.records.tables import build_tables
from harness.trial.front_door import run_trials
from tests.browser import check_pages
from tests.conftest import PLANTED_KEY, ROOT, config
from tests.openai_server import OpenAIServer, Step

FIXTURES = ROOT / "tests" / "fixtures"
TINY = [f"specs_dir={FIXTURES}", "spec.name=tiny-agent"]


def table(runs, experiment="paper") -> pd.DataFrame:
    return pd.read_parquet(runs / experiment / "results.parquet").sort_values(["generator", "generation"])


def harness_lines(*overrides: str, env: dict) -> tuple[int, list[tuple[float, str]]]:
    """Run the `harness` command, noting when each line of its output arrives."""
    proc = subprocess.Popen([sys.executable, "-c", "from harness.run.app import main; main()", *overrides], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env})
    lines = [(time.monotonic(), line) for line in proc.stdout]
    return proc.wait(timeout=600), lines


def test_offline_chain_of_depth_three_records_and_logs_every_generation_as_it_ends(tmp_path):
    runs = tmp_path / "runs"
    # No mutants here (this test is about the plumbing): every generation should survive.
    code, lines = harness_lines("experiment=paper", f"runs_dir={runs}", *TINY, "model.synthetic.curve_rates=[0.0,0.0]",
                                env={"OPENAI_API_KEY": PLANTED_KEY})
    assert code == 0, "".join(line for _, line in lines)[-3000:]
    ends = [(at, line) for at, line in lines if re.search(r" gen=\d .* -> scored", line)]
    assert [re.search(r"gen=(\d)", line).group(1) for _, line in ends] == ["0", "1", "2", "3"]
    # Each generation is logged when it ends, not all at once when the chain does: generation k+1 (an agent run
    # and a scoring run) takes seconds, so its line comes well after generation k's.
    assert all(later - earlier > 0.5 for (earlier, _), (later, _) in zip(ends, ends[1:])), ends
    rows = table(runs)
    assert list(rows["generation"]) == [0, 1, 2, 3] and (rows["status"] == "scored").all()
    assert pd.isna(rows["parent_trial_id"].iloc[0])
    assert list(rows["parent_trial_id"].iloc[1:]) == list(rows["trial_id"].iloc[:-1])
    for tid in rows["trial_id"].iloc[1:]:
        trial = runs / "paper" / "trials" / tid
        events = [json.loads(line) for line in (trial / "transcript.jsonl").read_text().splitlines()]
        assert [e["event"] for e in events].count("completion") >= 2  # read spec, write files, final answer
        assert all(e["request"]["messages"] and e["reply"] for e in events)
        env = json.loads((trial / "impl" / "env.json").read_text())  # left by the agent that made this generation
        assert PLANTED_KEY not in json.dumps(env) and env["OPENAI_API_KEY"].startswith("hk-trial-")
    leaked = [p for p in (runs / "paper").rglob("*") if p.is_file() and PLANTED_KEY.encode() in p.read_bytes()]
    assert leaked == []


NEW_AGENT = (FIXTURES / "tiny-agent" / "reference" / "agent.py").read_text()


def scripted_provider(body: dict) -> Step:
    """A provider that reads the spec, writes an agent, then stops; it answers whatever agent is asking."""
    done = [m for m in body["messages"] if m.get("role") == "tool"]
    if not done:
        call = {"id": "c1", "type": "function",
                "function": {"name": "write_file", "arguments": json.dumps({"path": "agent.py", "content": NEW_AGENT})}}
        return Step(content=None, tool_calls=[call], finish_reason="tool_calls")
    return Step(content="written")


def test_forwarded_requests_carry_the_trials_temperature_and_seed(tmp_path, monkeypatch):
    runs = tmp_path / "runs"  # in-process, through the front door: this is about the chain, not the command line
    monkeypatch.setenv("LOOPBACK_PROVIDER_KEY", "sk-loopback-provider-key-1234")
    with OpenAIServer(responder=scripted_provider) as provider:
        outcomes = run_trials(config(
            "experiment=paper", f"runs_dir={runs}", *TINY, "generator.gen0=reference", "generator.depth=1",
            "model=gpt-4o", "model.litellm_model=openai/loopback", f"model.api_base={provider.base_url}",
            "model.api_key_env=LOOPBACK_PROVIDER_KEY", "temperature=0.3", "seed=7"))
    assert len(provider.requests) == 2  # generation 1's agent: write, then final answer
    assert {(r["temperature"], r["seed"]) for r in provider.requests} == {(0.3, 7)}  # the agent asked for 1.7 / 12345
    assert {h["Authorization"] for h in provider.headers} == {"Bearer sk-loopback-provider-key-1234"}
    rows = [o.record for o in outcomes]
    assert [r["generation"] for r in rows] == [0, 1] and rows[1]["model_calls"] == 2


BROKEN_AGENT = textwrap.dedent('''\
    """Mentions read_file and write_file, compiles, and passes the tiny suite, but never calls a model."""
    print("nothing to do")
''')


def test_a_broken_generation_ends_its_chain_and_the_next_job_goes_on(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "agent.py").write_text(BROKEN_AGENT)
    runs = tmp_path / "runs"  # in-process: two jobs of a sweep over gen0, through the front door
    base = ["experiment=paper", f"runs_dir={runs}", *TINY, "generator.depth=2", f"generator.import_path={broken}"]
    broken_chain = [o.record for o in run_trials(config(*base, "generator.gen0=import"))]
    assert [r["generation"] for r in broken_chain] == [0, 1]  # generation 1 could not be made: no generation 2
    assert [r["status"] for r in broken_chain] == ["scored", "no_code"]
    assert "no entry file" in broken_chain[1]["detail"] and "agent exited 0" in broken_chain[1]["detail"]
    assert [o.record["generation"] for o in run_trials(config(*base, "generator.gen0=reference"))] == [0, 1, 2]


def test_parent_visible_chain_shows_the_parent_read_only_and_records_the_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    runs = tmp_path / "runs"  # in-process, through the front door: this is about the chain, not the command line
    common = ["experiment=paper", f"runs_dir={runs}", *TINY, "model.synthetic.curve_rates=[0.0,0.0]",
              "generator.gen0=reference", "generator.depth=1"]
    for variant in ("generator.show_parent=false", "generator.show_parent=true"):
        outcomes = run_trials(config(*common, variant))
        assert [(o.skipped, o.record["status"]) for o in outcomes] == [(False, "scored")] * 2
    build_tables(runs / "paper")
    rows = table(runs)
    children = rows[rows["generation"] == 1]
    assert len(rows) == 4 and len(children) == 2  # the variant is part of the trial: nothing was reused
    shown = []
    for _, child in children.iterrows():
        record = json.loads((runs / "paper" / "trials" / f"{child['trial_id']}.json").read_text())
        trial = runs / "paper" / "trials" / child["trial_id"]
        parent_source = (runs / "paper" / "trials" / child["parent_trial_id"] / "impl" / "agent.py").read_text()
        first = json.loads((trial / "transcript.jsonl").read_text().splitlines()[0])["request"]["messages"]
        if record["config"]["generator"]["show_parent"]:
            shown.append(child["trial_id"])
            assert (trial / "parent-shown" / "agent.py").read_text() == parent_source
            assert "from scratch" in first[1]["content"]
            assert sorted(p.name for p in (trial / "impl").iterdir()) == ["agent.py", "env.json"]
        else:
            assert not (trial / "parent-shown").exists() and "from scratch" not in first[1]["content"]
    assert len(shown) == 1
    from harness.config.schema import SandboxConfig
    from harness.equivalence.classes import write_comparison_tables
    from harness.sandbox.backends import make_sandbox
    table_ = write_comparison_tables(runs / "paper", FIXTURES, make_sandbox(SandboxConfig())).set_index("trial_id")
    assert table_.loc[shown[0], "show_parent"] and table_.loc[shown[0], "similarity_to_parent"] == 1.0
    # the report gains the generations page, which renders without a cell error and opens cleanly
    from harness.report.notebooks import main as report
    report([str(runs / "paper")])
    page = (runs / "paper" / "report" / "generations.html").read_text()
    assert "parent shown" in page and "Traceback" not in page and "generations.html" in (
        runs / "paper" / "report" / "index.html").read_text()
    if shutil.which("chromium"):
        checks = check_pages([runs / "paper" / "report" / "generations.html"])
        assert [(c.url, c.problems) for c in checks if c.problems] == []


PROVOKER = textwrap.dedent('''\
    """Writes a broken agent.py (mentioning read_file and write_file), then sends a request the provider rejects,
    then keeps asking; prints the HTTP statuses it got."""
    import argparse, json, os, urllib.error, urllib.request
    parser = argparse.ArgumentParser()
    for flag in ("--base-url", "--model", "--api-key", "--cwd"):
        parser.add_argument(flag)
    parser.add_argument("task")
    args = parser.parse_args()
    with open(os.path.join(args.cwd, "agent.py"), "w") as handle:
        handle.write("read_file = write_file = None\\nraise SystemExit('broken')\\n")
    statuses = []
    for text in ["PROVOKE a 400", "hello", "again", "and again"]:
        body = json.dumps({"model": args.model, "messages": [{"role": "user", "content": text}]}).encode()
        request = urllib.request.Request(args.base_url + "/chat/completions", data=body, headers={
            "Authorization": "Bearer " + args.api_key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    print(json.dumps(statuses))
''')


def test_an_agent_that_provokes_a_provider_400_is_scored_not_excluded_and_its_calls_are_capped(tmp_path,
                                                                                               monkeypatch):
    """A generation-1 agent cannot turn its own failure into `infra_error` (left out of every rate, retried) by
    sending a request the provider rejects: it is answered with the error and its generation is scored. Its
    requests past max_model_calls are refused, and its record says both."""
    provoker = tmp_path / "provoker"
    provoker.mkdir()
    (provoker / "agent.py").write_text(PROVOKER)
    monkeypatch.setenv("LOOPBACK_PROVIDER_KEY", "sk-loopback-provider-key-1234")
    with OpenAIServer(responder=lambda body: Step(400) if "PROVOKE" in json.dumps(body["messages"])
                      else Step(content="ok")) as provider:
        outcomes = run_trials(config(
            "experiment=paper", f"runs_dir={tmp_path / 'runs'}", *TINY, "generator.gen0=import",
            f"generator.import_path={provoker}", "generator.depth=1", "generator.max_model_calls=2", "model=gpt-4o",
            "model.litellm_model=openai/loopback", f"model.api_base={provider.base_url}",
            "model.api_key_env=LOOPBACK_PROVIDER_KEY"))
    child = outcomes[1].record
    assert child["generation"] == 1 and child["status"] == "scored", child["detail"]  # counted: not infra_error
    assert "the provider rejected 1 request(s) of the agent (HTTP 400 BadRequestError)" in child["detail"]
    assert "max_model_calls=2 reached: 2 further request(s) refused" in child["detail"]
    trial = tmp_path / "runs" / "paper" / "trials" / child["trial_id"]
    assert json.loads((trial / "agent.stdout").read_text()) == [400, 200, 403, 403]
    assert len(provider.requests) == 3 and child["model_calls"] == 2  # the rejected one, our probe, "hello"
