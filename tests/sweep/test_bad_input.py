"""Bad input gets one clear line before anything is spent or written, or a named status that is not retried
forever; nothing already recorded is lost. The checks run in-process through `preflight`, the function the
`harness` command calls before Hydra starts (tests/run/test_app.py runs a few through the command itself)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.config.schema import SandboxConfig, SandboxKind
from harness.errors import HarnessError
from harness.models.cache import CacheMode, ResponseCache
from harness.records.store import RecordStore
from harness.records.tables import build_tables
from harness.report.notebooks import main as report_main
from harness.run.archive import main as archive_main
from harness.sandbox.backends import check_sandbox
from harness.scoring.killrate import main as killrate_main
from harness.sweep.preflight import preflight
from tests.conftest import ROOT, make_spec

SLOW_SUITE = '''
import time

def test_slow():
    time.sleep(60)
'''


@pytest.mark.parametrize("overrides, needle", [
    (["temperature=-1"], "temperature=-1.0 is out of range"),
    (["launch.concurrency=0"], "launch.concurrency=0 is out of range"),
    (["launch.batch=3"], "launch.batch is set by the command for its own jobs"),
    (["launch.plan=/tmp/plan.json"], "launch.plan is set by the command for its own jobs"),
    (["temperature=5"], "temperature=5.0 is out of range"),
    (["max_cost_usd=-1"], "max_cost_usd=-1.0 is out of range"),
    (["sandbox.memory_mb=-5"], "sandbox.memory_mb=-5 is out of range"),
    (["sandbox.memory_mb=1"], "sandbox.memory_mb=1 is out of range"),
    (["sandbox.processes=0"], "sandbox.processes=0 is out of range"),
    (["model.max_tokens=0"], "model.max_tokens=0 is out of range"),
    (["runs_dir="], "runs_dir is empty"),
])
def test_a_value_out_of_range_is_named(tmp_path, overrides, needle):
    runs = tmp_path / "runs"
    with pytest.raises(HarnessError, match=needle.replace(".", r"\.")):
        preflight([f"runs_dir={runs}", *overrides] if not overrides[0].startswith("runs_dir") else overrides)
    assert not runs.exists()


def test_a_runs_dir_that_is_a_file_is_named(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(HarnessError, match="is a file, not a folder"):
        preflight([f"runs_dir={tmp_path / 'taken' / 'runs'}"])


def test_an_empty_spec_text_is_never_sent_to_a_model(tmp_path):
    make_spec(tmp_path / "specs")
    (tmp_path / "specs" / "adder" / "spec.md").write_text("  \n")
    with pytest.raises(HarnessError, match="text is empty"):
        preflight([f"runs_dir={tmp_path / 'runs'}", f"specs_dir={tmp_path / 'specs'}", "spec=semver",
                   "spec.name=adder", "temperature=0.0", "seed=0"])


def test_bwrap_requested_but_missing_is_named_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    with pytest.raises(HarnessError, match="bubblewrap is not installed"):
        check_sandbox(SandboxConfig(kind=SandboxKind.bwrap))


@pytest.mark.parametrize("kind", [SandboxKind.auto, SandboxKind.process])
def test_limits_too_small_to_start_python_are_the_users_error_not_the_models(kind):
    with pytest.raises(HarnessError, match="cannot start Python with these limits"):
        # 2 MB: too little as resident memory (a cgroup's limit) and as address space (the rlimit without one)
        check_sandbox(SandboxConfig(kind=kind, memory_mb=2))


def test_a_pinned_import_that_cannot_be_had_fails_in_preflight(tmp_path):
    base = [f"runs_dir={tmp_path / 'runs'}", f"downloads_dir={tmp_path / 'downloads'}", "spec=wordfreq",
            "generator=import", "temperature=0.0", "seed=0"]
    with pytest.raises(HarnessError, match="cannot fetch"):
        preflight([*base, "generator.import_url=http://127.0.0.1:9/agent.py", "generator.import_sha256=" + "0" * 64])
    assert not (tmp_path / "runs").exists()


def test_a_corrupt_record_is_moved_aside_and_its_trial_runs_again(tmp_path, caplog):
    store = RecordStore(tmp_path / "exp")
    store.trials_dir.mkdir(parents=True)
    store.path("abc").write_text('{"trial_id": "abc", "status": "sc')  # torn by a disk filling up, say
    assert store.load("abc") is None and not store.is_done("abc")
    assert not store.path("abc").exists() and len(list((store.trials_dir / "corrupt").iterdir())) == 1
    assert "abc.json is corrupt" in caplog.text
    store.path("def").write_text("\xff\xfe")
    results, _ = build_tables(tmp_path / "exp")  # the table builds from what is readable
    assert results.empty


@pytest.mark.parametrize("mode", [CacheMode.use, CacheMode.replay])
def test_a_corrupt_cache_entry_is_a_miss_and_is_moved_aside(tmp_path, mode):
    cache = ResponseCache(tmp_path, mode)
    cache.path("ab12").parent.mkdir(parents=True)
    cache.path("ab12").write_text("{not json")
    if mode is CacheMode.replay:
        with pytest.raises(HarnessError, match="no recorded response"):
            cache.get("ab12", "a request")
    else:
        assert cache.get("ab12", "a request") is None
    assert not cache.path("ab12").exists()


def test_report_on_a_truncated_table_is_one_line(tmp_path, capsys):
    (tmp_path / "results.parquet").write_bytes(b"PAR1\x00\x01truncated")
    with pytest.raises(SystemExit) as ended:
        report_main([str(tmp_path)])
    assert ended.value.code == 2 and "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"not an archive", gzip.compress(b"gzip, but not a tar")])
def test_replaying_a_corrupt_archive_is_one_line(tmp_path, content, capsys):
    (tmp_path / "bad.tar.gz").write_bytes(content)
    with pytest.raises(SystemExit) as ended:
        archive_main(["replay", str(tmp_path / "bad.tar.gz"), "--runs-dir", str(tmp_path / "out")])
    assert ended.value.code == 2 and "is not a readable harness archive" in capsys.readouterr().err


def test_killrate_on_an_unknown_spec_is_one_line(capsys):
    with pytest.raises(SystemExit) as ended:
        killrate_main(["nosuchspec"])
    assert ended.value.code == 2 and "unknown spec 'nosuchspec'" in capsys.readouterr().err


def test_ctrl_c_records_the_interrupted_trial_and_exits_130(tmp_path):
    specs, runs = tmp_path / "specs", tmp_path / "runs"
    make_spec(specs, suite=SLOW_SUITE, time_limit_s=120)
    argv = [sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={runs}", f"specs_dir={specs}",
            "spec=semver", "spec.name=adder", "temperature=0.0", "seed=0"]
    sweep = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((runs / "adhoc" / "trials").glob("*/transcript.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the trial has called the model: it is spending
    time.sleep(1.0)
    children = _descendants(sweep.pid)
    assert children, "the suite should be running"
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err.strip().splitlines()[-1]
    records = [json.loads(p.read_text()) for p in (runs / "adhoc" / "trials").glob("*.json")]
    assert [r["status"] for r in records] == ["interrupted"] and records[0]["model_calls"] == 1
    assert records[0]["cost_usd"] and records[0]["cost_usd"] > 0  # what it spent is kept
    assert _gone(children, within_s=30) == []  # the suite went down with it


def test_ctrl_c_stops_every_trial_in_flight_records_them_interrupted_and_starts_no_other(tmp_path):
    """Trials of a sweep run concurrently in threads (harness/sweep/pool.py), and Ctrl-C reaches the main thread only:
    each trial in flight must still end `interrupted` with its spend (not as a failing or timed-out run counted
    against the model), no queued trial may start, and every suite must go down."""
    specs, runs = tmp_path / "specs", tmp_path / "runs"
    make_spec(specs, suite=SLOW_SUITE, time_limit_s=120)
    argv = [sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={runs}", f"specs_dir={specs}",
            "spec=semver", "spec.name=adder", "temperature=0.0", "seed=range(4)", "experiment.name=pooled",
            "launch.concurrency=2", "launch.score_workers=2"]
    sweep = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_descendants(sweep.pid)) < 2 * 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # both suites started (each a sandbox and its processes)
    time.sleep(1.0)
    children = _descendants(sweep.pid)
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    records = [json.loads(p.read_text()) for p in (runs / "pooled" / "trials").glob("*.json")]
    assert sorted(r["status"] for r in records) == ["interrupted", "interrupted"]  # the 2 queued never started
    assert all(r["model_calls"] == 1 and r["cost_usd"] > 0 for r in records)
    assert _gone(children, within_s=30) == []


def _gone(pids: list[int], within_s: float) -> list[int]:
    """The pids still alive (not exited, not a zombie) once they are all gone or `within_s` has passed: a
    killed process takes a moment to be reaped, so absence is waited for rather than sampled once."""
    deadline = time.monotonic() + within_s
    while True:
        alive = [pid for pid in pids if _state(pid) not in ("", "Z")]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _descendants(root: int) -> list[int]:
    """Every process below `root`, found through the parent pid each /proc/<pid>/stat names."""
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_a_setting_the_chosen_generator_does_not_have_is_named(tmp_path):
    from hydra.errors import HydraException

    from harness.run.app import one_line

    with pytest.raises(HydraException) as refused:
        preflight([f"runs_dir={tmp_path / 'runs'}", "generator=oneshot", "generator.max_turns=5"])
    line = one_line(refused.value)
    assert "generator.max_turns" in line and "OneShotConfig" in line and "\n" not in line
    with pytest.raises(HarnessError, match="generator.kind=agent on a OneShotConfig; choose a generator with "
                                           "generator=agent"):
        preflight([f"runs_dir={tmp_path / 'runs'}", "generator=oneshot", "generator.kind=agent"])
    assert not (tmp_path / "runs").exists()
