"""A real language model in the loop, offline: SmolLM2-135M-Instruct served by the harness itself (model=smollm2).

Structural assertions only (records, statuses, tokens, the weights' identity, seeds, the server's life), never
what the model writes or how fast: its replies are what they are, and tokens/s here vary tenfold with the load.
Replies are kept short (model.max_tokens) and the spec tiny, so these tests cost the server little time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.config.schema import LocalParams, ModelConfig
from harness.models import local, weights
from harness.models.gateway import Gateway
from harness.records.tables import build_tables
from harness.report.summary import summarize
from harness.run.archive import main as archive_main
from harness.seams import EXCLUDED_STATUSES, TrialStatus
from tests.conftest import ROOT, make_spec, sweep

# One worker under pytest-xdist: the preset's server is started once per process and shared by these tests, and
# two servers decoding at once on two cores would slow both.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.xdist_group("local-model")]
SHORT = ["model=smollm2", "model.max_tokens=48", "generator=oneshot", "spec=semver", "spec.name=adder",
         "experiment.name=real-smoke"]
PROMPT = [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}]
SERVER = "harness.models.llama_server"


@pytest.fixture(scope="session")
def real_sweep(tmp_path_factory) -> Path:
    """A short real-model sweep (the tiny adder spec x temperatures 0 and 0.8 x seeds 0 and 1), run once, in this
    process, as the command runs it; returns its experiment folder."""
    root = tmp_path_factory.mktemp("real")
    make_spec(root / "specs")
    sweep(f"runs_dir={root / 'runs'}", f"specs_dir={root / 'specs'}", *SHORT, "temperature=0.0,0.8", "seed=0,1")
    build_tables(root / "runs" / "real-smoke")
    return root / "runs" / "real-smoke"


def records(run_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((run_dir / "trials").glob("*.json"))]


def test_a_real_model_sweep_records_every_trial_as_the_models_own_ending(real_sweep):
    found = records(real_sweep)
    assert len(found) == 4
    for r in found:
        # whatever the model wrote, the trial ended in one of its own endings, never a harness or provider fault
        assert r["status"] in {s.value for s in TrialStatus} and r["status"] not in EXCLUDED_STATUSES, r["detail"]
        assert r["model_calls"] == 1 and r["prompt_tokens"] > 0 and 0 < r["completion_tokens"] <= 48
        assert r["cost_usd"] == 0.0  # known to be zero: litellm has no price for it
        assert (r["weights_sha256"], r["model_server"]) == (weights.GGUF_SHA256, weights.server_version())
        assert r["truncated_replies"] in (0, 1)
        [event] = [json.loads(line) for line in (real_sweep / "trials" / r["trial_id"] / "transcript.jsonl")
                   .read_text().splitlines()]
        assert event["reply"]["content"].strip() and event["finish_reason"] in ("stop", "length")
        assert (event["finish_reason"] == "length") == (r["truncated_replies"] == 1)
    assert {r["model"] for r in found} == {"smollm2"}
    [log] = (real_sweep / "server").glob("smollm2-*.log")  # one server for the whole sweep, its log kept here
    assert "listening on http://127.0.0.1:" in log.read_text()


def test_the_same_seed_gives_the_same_completion_and_other_seeds_differ(tmp_path):
    """Straight from the real sampler, with no cache in between: at temperature 0.8 a seed fixes the reply,
    whichever of the server's two slots serves it (the preset's server, which the sweep's tests share)."""
    model = ModelConfig(name="smollm2", litellm_model="openai/smollm2", max_tokens=40,
                        local=LocalParams(n_ctx=4096, n_parallel=2))
    gateway = Gateway(model, endpoint=local.endpoint(model, _downloads(), tmp_path / "server"),
                      served_by=local.describe(model.local))
    texts = {seed: [gateway.complete(PROMPT, temperature=0.8, seed=seed).content for _ in range(2)]
             for seed in (1, 2, 3)}
    for seed, (first, again) in texts.items():
        assert first == again, f"seed {seed} gave two different completions"
    assert len({first for first, _ in texts.values()}) > 1, "three seeds at T=0.8 gave one completion"


def test_a_spec_sized_prompt_asked_again_at_temperature_0_gets_the_same_reply(tmp_path):
    """The second request finds the first's prompt in its slot. With llama.cpp's prompt cache on, it was decoded
    from that cache and replied otherwise (this prompt: 4 runs of 4), so real-demo's two seeds at temperature 0
    differed, 0 and 2 tests of 43, by the server's state alone. Whether the rounding apart flips a greedy choice
    within 64 tokens depends on the prompt: the spec's text alone, without the last line, gave the same reply."""
    model = ModelConfig(name="smollm2", litellm_model="openai/smollm2", max_tokens=64,
                        local=LocalParams(n_ctx=4096, n_parallel=2))
    gateway = Gateway(model, endpoint=local.endpoint(model, _downloads(), tmp_path / "server"),
                      served_by=local.describe(model.local))
    prompt = [{"role": "system", "content": "You are an expert Python programmer."},
              {"role": "user", "content": (ROOT / "specs" / "wordfreq" / "spec.md").read_text(encoding="utf-8")
               + "\n\nWrite the implementation in one python file."}]
    first, again = (gateway.complete(prompt, temperature=0.0, seed=seed) for seed in (0, 1))
    assert first.content == again.content


def test_a_finished_real_sweep_reruns_from_the_cache_without_starting_a_server(real_sweep, tmp_path):
    """The same sweep in a new runs dir, reading the first one's cache: every reply is a hit, no server starts
    (none writes its log there), and the table is the same."""
    specs = real_sweep.parent.parent / "specs"
    runs = tmp_path / "runs"
    sweep(f"runs_dir={runs}", f"specs_dir={specs}", *SHORT, "temperature=0.0,0.8", "seed=0,1",
          f"cache.dir={real_sweep / 'cache'}", "cache.mode=replay")
    again = records(runs / "real-smoke")
    assert len(again) == 4 and all(r["cache_hits"] == 1 for r in again)
    assert not (runs / "real-smoke" / "server").exists()
    first = {r["trial_id"]: (r["status"], r["tests_passed"], r["completion_tokens"]) for r in records(real_sweep)}
    assert {r["trial_id"]: (r["status"], r["tests_passed"], r["completion_tokens"]) for r in again} == first


def test_an_archived_real_sweep_replays_in_a_new_process_with_the_same_summary(real_sweep, tmp_path, capsys):
    archive = tmp_path / "real.tar.gz"
    archive_main(["export", str(real_sweep), str(archive)])
    elsewhere = tmp_path / "elsewhere"
    proc = subprocess.run([sys.executable, "-m", "harness.run.archive", "replay", str(archive), "--runs-dir",
                           str(elsewhere), "--specs-dir", str(real_sweep.parent.parent / "specs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import pandas as pd

    original = summarize(pd.read_parquet(real_sweep / "results.parquet"))
    # the same cells and outcomes; what was spent reads "cached", since the replay paid for no call
    assert "0.0000" in original and original.replace("0.0000", "cached") in proc.stdout
    assert not (elsewhere / "real-smoke" / "server").exists() and SERVER not in proc.stderr


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["SIGKILL", "SIGINT", "SIGTERM"])
def test_a_sweep_stopped_mid_way_leaves_no_server_running(tmp_path, how):
    """The `harness` command, on a sweep far longer than the test waits, is stopped once its server serves: the
    server process it started is gone soon after, whether the harness could clean up (Ctrl-C, and SIGTERM as
    `kill` or a scheduler sends it, which ends the same way) or not (SIGKILL)."""
    make_spec(tmp_path / "specs")
    argv = [sys.executable, "-c", "from harness.run.console import harness; harness()", f"runs_dir={tmp_path / 'runs'}",
            f"specs_dir={tmp_path / 'specs'}", "model=smollm2", "model.max_tokens=2000", "spec=semver",
            "spec.name=adder", "experiment.name=killed", "seed=0,1,2,3,4,5,6,7", "temperature=0.5,1.0"]
    harness = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        server = _wait_for_server(harness.pid, tmp_path / "runs" / "killed" / "server")
        harness.send_signal(how)
        code = harness.wait(120)
    finally:
        if harness.poll() is None:
            harness.kill()
    assert code == (-signal.SIGKILL if how == signal.SIGKILL else 130), harness.stderr.read()[-2000:]
    deadline = time.monotonic() + 60
    while _running(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(server), f"the server (pid {server}) outlived the harness"
    if how != signal.SIGKILL:
        statuses = {r["status"] for r in records(tmp_path / "runs" / "killed")}
        assert statuses <= {"interrupted", *(s.value for s in TrialStatus if s.value not in EXCLUDED_STATUSES)}


def test_a_missing_gguf_is_a_one_line_error_before_anything_runs(tmp_path):
    argv = [sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={tmp_path / 'runs'}",
            "model=smollm2", f"model.local.gguf={tmp_path / 'none.gguf'}", "hydra.mode=RUN"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "none.gguf: no such file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def _downloads() -> Path:
    return Path(os.environ.get("HARNESS_DOWNLOADS", Path.home() / ".cache" / "bootstrap-harness"))


def _wait_for_server(parent: int, logs: Path, timeout_s: float = 600) -> int:
    """The pid of the server `parent` started, once its log says it listens."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = [pid for pid in _children(parent) if SERVER in _cmdline(pid)]
        if children and any("listening on" in p.read_text() for p in logs.glob("*.log")):
            return children[0]
        time.sleep(0.2)
    raise AssertionError(f"no server started within {timeout_s:g} s")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child its new parent has not reaped yet has stopped serving)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_servers_answer_changing_settings_are_applied_and_are_part_of_the_models_identity():
    """Replies made with llama.cpp's prompt cache on (not reproducible at temperature 0) must not be taken for
    replies made without it: the settings the server runs with are the ones in every trial id and cache key."""
    from harness.models import llama_server

    applied = llama_server.params(llama_server.parse(["m.gguf", "--alias", "a", "--ctx", "512", "--parallel", "1",
                                                      "--threads", "1"]))
    assert (applied.cache_prompt, applied.ctx_shift) == (False, False)
    described = local.describe(LocalParams(n_ctx=4096, n_parallel=2))["settings"]
    assert described == {name: getattr(applied, name) for name in llama_server.ANSWERING}
    assert set(described) == {"cache_prompt", "ctx_shift"}
