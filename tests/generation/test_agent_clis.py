"""Agent CLIs (Claude Code, Codex) really run, in the bwrap sandbox, through the trial's gateway, driven offline by
the synthetic model; and what an agent CLI can see holds no provider key and nothing of the harness.

Skipped, with the reason, where the pinned CLI is not installed (`tools/install-agents`) or bubblewrap is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.config.schema import ModelConfig, SandboxConfig, SandboxKind, SyntheticParams
from harness.generation.agent_cli import AGENTS_DIR, CommandAgent
from harness.models.endpoint import GatewayServer
from harness.models.gateway import Gateway
from harness.models.synthetic import provider as synthetic_provider
from harness.records.tables import build_tables
from harness.sandbox.backends import bwrap_available, make_sandbox
from harness.sandbox.untrusted import TreeCaps
from harness.seams import GenerationContext
from harness.specs.loading import load_spec
from harness.trial.front_door import run_trials
from tests.conftest import PLANTED_KEY, ROOT, config, make_spec, sweep

BIN = AGENTS_DIR / "node_modules" / ".bin"
needs_bwrap = pytest.mark.skipif(not bwrap_available(),
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")
needs_claude = pytest.mark.skipif(not (BIN / "claude").exists(),
                                  reason="Claude Code is not installed: run tools/install-agents")
# generator preset, its CLI, its pinned version, the wire format it speaks, the tool it writes with (aider: none,
# it takes files from the reply's text)
CLIS = [pytest.param("claude-code", "node_modules/.bin/claude", "@anthropic-ai/claude-code", "messages", "Write",
                     id="claude-code"),
        pytest.param("codex", "node_modules/.bin/codex", "@openai/codex", "responses", "exec_command", id="codex"),
        pytest.param("aider", "aider-venv/bin/aider", "aider-chat", "chat", None, id="aider")]
KEYS = {"OPENAI_API_KEY": PLANTED_KEY, "ANTHROPIC_API_KEY": PLANTED_KEY + "-ant"}


def pinned(package: str) -> str:
    if package == "aider-chat":
        return (AGENTS_DIR / "aider-requirements.txt").read_text().split("==")[1].strip()
    return json.loads((AGENTS_DIR / "package.json").read_text())["dependencies"][package]


def events(trial: Path) -> list[dict]:
    return [json.loads(line) for line in (trial / "transcript.jsonl").read_text().splitlines()]


@pytest.fixture
def keys(monkeypatch):
    """The provider keys a user has set: the agent CLIs must never see them."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


def leaks(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and PLANTED_KEY.encode() in p.read_bytes()]


@needs_bwrap
@pytest.mark.parametrize("preset, cli, package, wire, writer", CLIS)
def test_an_agent_cli_writes_the_reference_or_a_seeded_mutant_through_the_gateway(tmp_path, preset, cli, package,
                                                                                    wire, writer, keys):
    if not (AGENTS_DIR / cli).exists():
        pytest.skip(f"{cli} is not installed: run tools/install-agents")
    cli = Path(cli).name
    specs, runs = tmp_path / "specs", tmp_path / "runs"
    make_spec(specs)
    # The curve makes temperature 0 the reference and temperature 1 a mutant, every time. The sweep's four jobs
    # run in-process: this is about the agent CLI, not the command line.
    outcomes = sweep(f"generator={preset},reference", "temperature=0,1", "seed=0", f"specs_dir={specs}",
                     "spec.name=adder", f"runs_dir={runs}", "experiment.name=cc", "sandbox=bwrap",
                     "model.synthetic.curve_rates=[0,1]")
    assert len({o.record["trial_id"] for o in outcomes}) == len(outcomes) == 4  # the preset's spec axis, renamed
    # adder, adds none: the plan runs each trial once
    build_tables(runs / "cc")
    rows = pd.read_parquet(runs / "cc" / "results.parquet")
    control = rows[rows["generator"] == "reference"].iloc[0]
    claude = rows[rows["generator"] == "external"].set_index("temperature")  # the agent CLI's two trials
    reference = (specs / "adder" / "reference" / "adder.py").read_text()
    ref_trial, mutant_trial = (runs / "cc" / "trials" / claude.loc[t, "trial_id"] for t in (0.0, 1.0))

    assert claude.loc[0.0, "ground_truth"] == "reference" and claude.loc[0.0, "status"] == "scored"
    assert (ref_trial / "impl" / "adder.py").read_text() == reference
    assert claude.loc[0.0, "tests_passed"] == control["tests_passed"] == control["tests_total"] == 3
    assert claude.loc[1.0, "ground_truth"].startswith("mutant:adder.py:")
    assert (mutant_trial / "impl" / "adder.py").read_text() != reference
    assert claude.loc[1.0, "tests_passed"] < 3

    version = pinned(package)
    for trial in (ref_trial, mutant_trial):
        assert version in json.loads((trial / "agent.json").read_text())["version"]
        calls = [e for e in events(trial) if e["event"] == "completion"]
        assert calls and {e["wire"] for e in calls} == {wire}
        written = [c["function"]["name"] for e in calls for c in e["reply"].get("tool_calls") or []]
        assert writer in written if writer else written == []
    assert f"agent CLI {cli} " in claude.loc[0.0, "detail"] and version in claude.loc[0.0, "detail"]
    assert leaks(runs) == [] and leaks(tmp_path) == []


@needs_bwrap
@needs_claude
def test_paper_preset_chain_starts_with_claude_code_and_continues_with_its_implementation(tmp_path, keys):
    runs = tmp_path / "runs"  # the preset's one job in-process: this is about the chain, not the command line
    sweep("experiment=paper-claude-code", f"runs_dir={runs}", f"specs_dir={ROOT / 'tests' / 'fixtures'}",
          "spec.name=tiny-agent", "spec.text=ours", "sandbox=bwrap", "model.synthetic.curve_rates=[0,0]")
    build_tables(runs / "paper-claude-code")
    rows = pd.read_parquet(runs / "paper-claude-code" / "results.parquet").sort_values("generation")
    assert list(rows["generation"]) == [0, 1] and (rows["status"] == "scored").all()
    gen0, gen1 = (runs / "paper-claude-code" / "trials" / tid for tid in rows["trial_id"])
    assert rows["parent_trial_id"].iloc[1] == rows["trial_id"].iloc[0]
    assert f"agent CLI claude {pinned('@anthropic-ai/claude-code')}" in rows["detail"].iloc[0]
    assert {e["wire"] for e in events(gen0) if e["event"] == "completion"} == {"messages"}
    # generation 1 is the implementation Claude Code wrote, run as the agent: it speaks chat completions
    assert (gen1 / "agent" / "agent.py").read_text() == (gen0 / "impl" / "agent.py").read_text()
    assert {e["wire"] for e in events(gen1) if e["event"] == "completion"} == {"chat"}
    assert leaks(runs) == []


PROBE = '''\
import json, os, sys
seen = {"env": dict(os.environ), "environs": []}
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            seen["environs"].append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
seen["visible"] = {p: os.path.exists(p) for p in sys.argv[2:]}
found = []
for base, dirs, files in os.walk("/"):  # the system and Python are the host's, mounted read-only
    dirs[:] = [d for d in dirs if os.path.join(base, d) not in ("/usr", "/proc", "/sys", "/dev", sys.prefix,
                                                                  sys.base_prefix)]
    for name in files:
        try:
            with open(os.path.join(base, name), "rb") as handle:
                if sys.argv[1].encode() in handle.read(50_000_000):
                    found.append(os.path.join(base, name))
        except OSError:
            pass
seen["files_with_key"] = found
open("seen.json", "w").write(json.dumps(seen))
open("adder.py", "w").write("def add(a, b):\\n    return a + b\\n")
'''


@needs_bwrap
def test_an_agent_cli_sees_no_provider_key_and_nothing_of_the_harness(tmp_path, monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    make_spec(tmp_path / "specs")
    spec = load_spec(tmp_path / "specs", "adder")
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe.py").write_text(PROBE)
    hidden = [ROOT / "harness", ROOT / "specs", tmp_path / "specs", ROOT / ".git",
              tmp_path / "trial" / "transcript.jsonl"]
    model = ModelConfig(name="synthetic", litellm_model="harness/synthetic", api_key_env="ANTHROPIC_API_KEY",
                        synthetic=SyntheticParams())
    trial = tmp_path / "trial"
    synthetic_provider.register(tmp_path / "specs")
    gateway = Gateway(model, transcript=trial / "transcript.jsonl")
    agent = CommandAgent(["{python}", "{impl}/probe.py", PLANTED_KEY, *map(str, hidden)], "task", 120,
                         make_sandbox(SandboxConfig(kind=SandboxKind.bwrap)), "synthetic",
                         TreeCaps.of(SandboxConfig()), env={"EXTRA": "{api_key}"}, impl_dir=probe)
    generation = agent.generate(spec, GenerationContext(gateway, 0.0, 0, trial))
    assert "adder.py" in generation.files, generation.detail
    seen = json.loads((trial / "work" / "seen.json").read_text())
    assert seen["visible"] == {str(p): False for p in hidden}
    assert seen["files_with_key"] == []
    assert not any(PLANTED_KEY in text for text in [json.dumps(seen["env"]), *seen["environs"]])
    assert seen["env"]["ANTHROPIC_API_KEY"] == seen["env"]["OPENAI_API_KEY"] == seen["env"]["EXTRA"]
    assert seen["env"]["ANTHROPIC_API_KEY"].startswith("hk-trial-")
    assert leaks(trial) == []


def test_a_new_pinned_version_of_an_agent_cli_is_a_new_trial(tmp_path, monkeypatch):
    import harness.generation.agent_cli
    from harness.generation.registry import prompt_templates

    before = prompt_templates("external")
    assert before == harness.generation.agent_cli.agent_pins() and '"@anthropic-ai/claude-code"' in before
    for name in ("package-lock.json", "aider-requirements.txt"):
        (tmp_path / name).write_text((AGENTS_DIR / name).read_text().replace("0.86.2", "0.86.3"))
    monkeypatch.setattr(harness.generation.agent_cli, "AGENTS_DIR", tmp_path)
    assert prompt_templates("external") != before


@needs_bwrap
@needs_claude
def test_claude_code_online_path_reaches_an_anthropic_api_with_a_key_it_never_sees(tmp_path, monkeypatch):
    """`model=claude-sonnet-4-6` as with a real key, its endpoint a loopback server speaking Anthropic's Messages
    API (our own gateway server in front of the synthetic model): Claude Code's requests go Messages -> chat ->
    litellm's Anthropic client -> Messages, and the provider key stays in the harness."""
    specs, runs = tmp_path / "specs", tmp_path / "runs"
    make_spec(specs)
    synthetic_provider.register(specs)
    model = ModelConfig(name="s", litellm_model="harness/synthetic", synthetic=SyntheticParams([0.0], [0.0]))
    anthropic = Gateway(model, transcript=tmp_path / "anthropic.jsonl")
    with GatewayServer(anthropic, 0.0, 0) as provider:  # one job in-process: about the agent, not the command line
        monkeypatch.setenv("ANTHROPIC_API_KEY", provider.api_key)
        run_trials(config("generator=claude-code", "model=claude-sonnet-4-6",
                       f"model.api_base={provider.base_url.removesuffix('/v1')}", f"specs_dir={specs}",
                       "spec.name=adder", f"runs_dir={runs}", "experiment.name=online", "sandbox=bwrap"))
    build_tables(runs / "online")
    row = pd.read_parquet(runs / "online" / "results.parquet").iloc[0]
    assert (row["status"], row["tests_passed"], row["model"]) == ("scored", 3, "claude-sonnet-4-6")
    assert row["cost_usd"] > 0  # priced from litellm's map, as the real model would be
    received = [json.loads(line) for line in (tmp_path / "anthropic.jsonl").read_text().splitlines()]
    assert received and {e["wire"] for e in received} == {"messages"}
    trial = runs / "online" / "trials" / row["trial_id"]
    assert {e["wire"] for e in events(trial) if e["event"] == "completion"} == {"messages"}
    assert [p for p in runs.rglob("*") if p.is_file() and provider.api_key.encode() in p.read_bytes()] == []
