"""Bad input gets one clear line before anything is spent or written, or a named status that is not retried
forever; nothing already recorded is lost. The checks run in-process through `preflight`, the function the
`harness` command calls before Hydra starts (tests/run/test_app.py runs a few through the command itself)."""

from __future__ import annotations

import gzip
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pandas as pd
import pytest
from hydra.errors import HydraException

from harness.config.schema import SandboxConfig, SandboxKind
from harness.errors import HarnessError
from harness.models.cache import CacheMode, ResponseCache
from harness.records import totals
from harness.records.store import RecordStore
from harness.records.tables import build_tables, results_table
from harness.records.tables import main as tables_main
from harness.report.notebooks import main as report_main
from harness.run.archive import main as archive_main
from harness.sandbox.backends import check_sandbox
from harness.scoring.killrate import main as killrate_main
from harness.seams import counts_against_model
from harness.sweep.end import end_of_sweep
from harness.sweep.preflight import preflight
from tests.conftest import ROOT, make_spec, sweep

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


@pytest.mark.parametrize("content", [b"not an archive", gzip.compress(b"gzip, but not a tar")],
                         ids=["not-an-archive", "gzip-not-tar"])  # gzip writes the time: the same id in every worker
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
    while not _scoring(sweep.pid) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the trial has called the model and its suite's rooms run: however loaded the host
    assert list((runs / "adhoc" / "trials").glob("*/transcript.jsonl")), "the trial should have called the model"
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


def _scoring(root: int) -> bool:
    """Whether the implementation's room (our room server) runs below `root`: the trial is being scored."""
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"harness_room_server" in cmdline.read():
                    return True
        except OSError:
            continue
    return False


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


# -- every bad input of issue 24's table, and its family: one line before anything is written, or a named status;
# -- nothing already recorded is lost. Each starts from `kept`: an experiment of two real trials and its tables.

@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two trials of the tiny adder spec, recorded through the front door, and their tables (made once)."""
    root = tmp_path_factory.mktemp("recorded")
    make_spec(root / "specs")
    sweep(f"runs_dir={root / 'runs'}", f"specs_dir={root / 'specs'}", "spec=semver", "spec.name=adder",
          "temperature=0.0", "seed=0,1", "experiment.name=kept")
    build_tables(root / "runs" / "kept")
    return root


@pytest.fixture
def kept(recorded, tmp_path):
    """A copy of `recorded` for one test: (its specs dir, its runs dir)."""
    shutil.copytree(recorded, tmp_path / "copy")
    return tmp_path / "copy" / "specs", tmp_path / "copy" / "runs"


def files(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def records_of(runs) -> dict:
    """The records as the store reads them back (a record it cannot read is moved aside and is missing here)."""
    return {r["trial_id"]: r for r in RecordStore(runs / "kept").all()}


def refused(argv: list, needle: str) -> str:
    """Preflight refuses `argv` with a one-line message holding `needle`; the message."""
    from harness.run.app import one_line

    with pytest.raises((HarnessError, HydraException)) as caught:
        preflight(argv)
    line = one_line(caught.value)
    assert needle in line and "\n" not in line, line
    return line


BAD_SETTINGS = [  # override (several joined by |), what the one line must say
    ("seed=99999999999999999999999", "seed=99999999999999999999999 does not fit in 64 bits"),
    ("sample=9223372036854775808", "sample=9223372036854775808 does not fit in 64 bits"),
    ("model.max_tokens=99999999999999999999", "model.max_tokens=99999999999999999999 does not fit in 64 bits"),
    ("sandbox.memory_mb=99999999999999999999", "sandbox.memory_mb=99999999999999999999 does not fit in 64 bits"),
    ("temperature=nan", "temperature=nan is not a finite number"),
    ("max_cost_usd=nan", "max_cost_usd=nan is not a finite number"),
    ("max_cost_usd=inf", "max_cost_usd=inf is not a finite number"),
    ("model.timeout_s=inf", "model.timeout_s=inf is not a finite number"),
    ("generator=external|generator.timeout_s=1e308", "generator.timeout_s=1e+308 is out of range: it must be "
                                                    "between 0.001 and 1e+08"),  # a wait past a C long
    ("model.synthetic.curve_rates=[0.1,nan]", "model.synthetic.curve_rates=nan is not a finite number"),
    ("sandbox.file_mb=1125899906842624", "sandbox.file_mb=1125899906842624 is out of range: it must be between 1 "
                                         "and 1,000,000,000"),  # in bytes, past a C long: setrlimit's traceback
    ("sandbox.open_files=10000000", "sandbox.open_files=10000000 is out of range: it must be between 64 and "
                                    "1,048,576"),
    ("sandbox.processes=10000000", "sandbox.processes=10000000 is out of range: it must be between 16 and "
                                   "4,194,304"),
    ("generator=external|generator.max_model_calls=0", "generator.max_model_calls=0 is out of range: it must be at "
                                                       "least 1"),
    ("generator=chain|spec=minimal-coding-agent|generator.max_model_calls=-1", "generator.max_model_calls=-1 is out "
                                                                              "of range"),
    ("experiment.name=../x", "experiment.name='../x' is not a usable name"),
    ("experiment.name=", "experiment.name='' is not a usable name"),
    ("experiment.name=-rf", "experiment.name='-rf' is not a usable name"),
    ("spec.name=../adder", "spec.name='../adder' is not a usable name"),
    ("model.name=two words", "model.name='two words' is not a usable name"),
    ("runs_dir=/sys/kernel", "runs_dir=/sys/kernel: cannot write in /sys/kernel"),
    ("cache.dir=/sys/kernel/cache", "cache.dir=/sys/kernel/cache: cannot write in /sys/kernel"),
    ("temperature=0.5,1.0", "temperature=0.5,1.0 gives 2 values, but hydra.mode=RUN runs one trial; to sweep them, "
                            "add -m"),
]


@pytest.mark.parametrize("override, needle", BAD_SETTINGS, ids=[o for o, _ in BAD_SETTINGS])
def test_a_bad_setting_is_one_line_before_anything_is_written(kept, override, needle):
    specs, runs = kept
    if "=/sys" in override and not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys/kernel here")
    before, outside = files(runs), set(runs.parent.iterdir())
    refused([f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "hydra.mode=RUN",
             "experiment.name=kept", *override.split("|")], needle)
    assert files(runs) == before and set(runs.parent.iterdir()) == outside  # nothing written, in or beside runs/
    assert sorted(records_of(runs)) == sorted(json.loads(v)["trial_id"] for k, v in before.items()
                                              if k.parent.name == "trials" and k.suffix == ".json")


def test_several_values_sweep_with_minus_m_even_in_run_mode(kept):
    specs, runs = kept
    planned = preflight([f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "-m",
                         "hydra.mode=RUN", "experiment.name=kept", "temperature=0.5,1.0", "seed=0"]).planned
    assert sorted(p.cfg.temperature for p in planned) == [0.5, 1.0]


@pytest.mark.parametrize("manifest, needle", [
    ("time_limit_s: -5", "time_limit_s must be a positive number of seconds (at most 1e+08), got -5"),
    ("time_limit_s: .nan", "time_limit_s must be a positive number of seconds (at most 1e+08), got nan"),
    ("time_limit_s: 1.0e+308", "time_limit_s must be a positive number of seconds (at most 1e+08), got 1e+308"),
    ("time_limit_s: soon", "time_limit_s must be a positive number of seconds (at most 1e+08), got 'soon'"),
    ("entry_files: adder.py", "entry_files must be a list of file names relative to reference/ (e.g. [adder.py]), "
                              "got 'adder.py'"),
    ("entry_files: [../adder.py]", "entry_files must be a list of file names relative to reference/"),
    ("entry_files: [3]", "entry_files must be a list of file names relative to reference/"),
    ("agent_command: python agent.py", "agent_command must be a list of strings, got 'python agent.py'"),
])
def test_a_bad_manifest_field_is_one_line_naming_it(kept, manifest, needle):
    specs, runs = kept
    path = specs / "adder" / "manifest.yaml"
    key = manifest.split(":")[0]
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith(key)) + manifest + "\n")
    before = files(runs)
    line = refused([f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "hydra.mode=RUN",
                    "experiment.name=kept"], needle)
    assert "['a', 'd'" not in line  # a string is never read as a list of its letters
    assert files(runs) == before and len(records_of(runs)) == 2


DERIVED = {  # a file the harness derives from the records, and what a torn or edited copy of it holds
    "results.parquet": b"PAR1\x00\x01truncated",
    "tests.parquet": b"PAR1\x15\x04truncated",
    "tables.index.json": b'{"records": {"a.json": "many"}}',
    "totals.json": b'{"records": "many", "counted": 0, "not_passing": 0, "cost_usd": 0.0, "costed": 0}',
}


@pytest.mark.parametrize("name", DERIVED)
def test_a_derived_file_that_cannot_be_read_is_rebuilt_from_the_records(kept, name):
    specs, runs = kept
    run = runs / "kept"
    (run / name).write_bytes(DERIVED[name])
    for seed in (2, 3):  # a trial runs and the sweep ends as the command ends it; then a later run does the same
        [outcome] = sweep(f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                          "experiment.name=kept", "temperature=0.0", f"seed={seed}")
        assert outcome.record["status"] == "scored"
        assert end_of_sweep(run) is None
    results, tests = pd.read_parquet(run / "results.parquet"), pd.read_parquet(run / "tests.parquet")
    assert sorted(results["trial_id"]) == sorted(records_of(runs)) and len(results) == 4
    assert set(tests["trial_id"]) == set(results["trial_id"])
    assert RecordStore(run).totals() == totals.recount(RecordStore(run).each(), counts_against_model)


def test_readers_of_a_table_that_cannot_be_read_rebuild_it(kept):
    run = kept[1] / "kept"
    (run / "results.parquet").write_bytes(DERIVED["results.parquet"])
    assert sorted(results_table(run)["trial_id"]) == sorted(records_of(kept[1]))  # harness-report, harness-seeds


@pytest.mark.parametrize("field, value", [("tests_passed", "many"), ("seed", 99999999999999999999999),
                                          ("status", "great"), ("status", ["scored"]), ("passed_all", "yes"),
                                          ("trial_id", None),
                                          ("tests", [{"test_id": 3, "outcome": "passed"}])])
def test_a_record_that_does_not_fit_the_schema_is_moved_aside_named_and_runs_again(kept, caplog, field, value):
    specs, runs = kept
    run = runs / "kept"
    path, other = sorted((run / "trials").glob("*.json"))
    data = json.loads(path.read_text())
    seed = data["seed"]
    path.write_text(json.dumps({**data, field: value}))
    results, tests = build_tables(run)
    assert list(results["trial_id"]) == [other.stem] and set(tests["trial_id"]) == {other.stem}
    assert f"{path} is corrupt ({field} " in caplog.text
    [aside] = (run / "trials" / "corrupt").iterdir()
    assert json.loads(aside.read_text())[field] == value  # kept, beside the records, for a human to look at
    [outcome] = sweep(f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                      "experiment.name=kept", "temperature=0.0", f"seed={seed}")
    assert not outcome.skipped and outcome.record["trial_id"] == path.stem and outcome.record["status"] == "scored"
    assert sorted(records_of(runs)) == sorted([path.stem, other.stem])


@contextmanager
def ctrl_c_when_the_table_build_starts(run):
    """Make the experiment's tables.index.json a FIFO, which only the table build reads: the build blocks on it,
    and Ctrl-C (SIGINT) is sent to this thread the moment it does. No timing luck: opening the FIFO to write
    returns only once the build has opened it to read."""
    index = run / "tables.index.json"
    index.unlink(missing_ok=True)
    os.mkfifo(index)
    target, done = threading.get_ident(), threading.Event()

    def interrupt() -> None:
        fd = os.open(index, os.O_WRONLY)
        signal.pthread_kill(target, signal.SIGINT)
        done.wait(timeout=60)
        os.close(fd)

    helper = threading.Thread(target=interrupt, daemon=True)
    helper.start()
    try:
        yield
    finally:
        done.set()
        helper.join(timeout=60)
        index.unlink()


def test_ctrl_c_during_harness_tables_is_one_line_and_exit_130(kept, capsys):
    run = kept[1] / "kept"
    before = files(run / "trials")
    with ctrl_c_when_the_table_build_starts(run), pytest.raises(SystemExit) as ended:
        tables_main([str(run)])
    err = capsys.readouterr().err.strip().splitlines()
    assert ended.value.code == 130 and len(err) == 1 and err[0].startswith("harness-tables: interrupted"), err
    assert files(run / "trials") == before and len(build_tables(run)[0]) == 2  # nothing lost; a rebuild has all


def test_ctrl_c_while_a_sweep_builds_its_tables_is_one_line_and_exit_130(kept, capsys):
    from harness.run.app import run as harness

    specs, runs = kept
    before = files(runs / "kept" / "trials")
    with ctrl_c_when_the_table_build_starts(runs / "kept"):
        code = harness([f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                        "experiment.name=kept", "temperature=0.0", "seed=0,1"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "nothing to run" not in line]
    assert code == 130 and len(err) == 1 and err[0].startswith("harness: interrupted; every finished trial is "
                                                               "recorded"), err
    assert files(runs / "kept" / "trials") == before and len(build_tables(runs / "kept")[0]) == 2


BAD_ARGV = {  # every console script but `harness` (below), and an argument it cannot use
    "harness-killrate": ["nosuchspec"],
    "harness-archive": ["replay", "{tmp}/no.tar.gz", "--runs-dir", "{tmp}"],
    "harness-report": ["{tmp}/nope"],
    "harness-clauses": ["semvr"],
    "harness-seeds": ["{tmp}/nope", "--half-width", "0.05"],
    "harness-diff": ["{tmp}", "{tmp}", "--spec", "semvr"],
    "harness-equivalence": ["{tmp}/nope"],
    "harness-tables": ["{tmp}/nope"],
    "harness-view": ["{tmp}/nope"],
    "harness-compare": ["{tmp}/nope", "{tmp}/nope"],
}


def console_scripts() -> dict[str, str]:
    declared = re.search(r"\[project\.scripts\]\n(.*?)\n\n", (ROOT / "pyproject.toml").read_text(), re.S).group(1)
    return dict(re.findall(r'^([\w-]+) = "([\w.:]+)"', declared, re.M))


def test_every_console_script_exits_2_with_one_line_on_bad_input(tmp_path, capsys, monkeypatch):
    """Through the entry point pip installs (but `harness`'s, which ends its process with os._exit: its `run`)."""
    from harness.run.app import run as harness

    scripts = console_scripts()
    assert set(scripts) == {"harness", *BAD_ARGV}  # a new script needs its bad input here
    assert harness([f"runs_dir={tmp_path}", "spec=semvr"]) == 2
    lines = {"harness": capsys.readouterr().err.strip().splitlines()}
    for name, argv in BAD_ARGV.items():
        module, function = scripts[name].split(":")
        monkeypatch.setattr(sys, "argv", [name, *(a.format(tmp=tmp_path) for a in argv)])
        with pytest.raises(SystemExit) as ended:
            getattr(importlib.import_module(module), function)()
        assert ended.value.code == 2, name
        lines[name] = capsys.readouterr().err.strip().splitlines()
    assert {name: len(found) for name, found in lines.items()} == {name: 1 for name in scripts}, lines
    assert all(found[0].startswith(f"{name}: error: ") for name, found in lines.items()), lines
    assert not any(tmp_path.iterdir())


def test_ctrl_c_while_a_command_is_still_importing_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    from harness.run import console

    (tmp_path / "slow_to_import.py").write_text("raise KeyboardInterrupt  # the user pressed Ctrl-C meanwhile\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(console.COMMANDS, "harness-tables", "slow_to_import")
    with pytest.raises(SystemExit) as ended:
        console.tables()
    assert ended.value.code == 130
    assert capsys.readouterr().err.splitlines() == ["harness-tables: interrupted while starting; nothing was done"]


def test_a_cache_entry_of_the_wrong_shape_is_a_miss_and_is_moved_aside(tmp_path):
    cache = ResponseCache(tmp_path, CacheMode.use)
    good = {"content": "hi", "tool_calls": [], "finish_reason": "stop", "prompt_tokens": 1, "completion_tokens": 1,
            "cost_usd": None, "ground_truth": None, "paid_by": None}
    bad = [[1], {**good, "content": 3}, {**good, "prompt_tokens": "1"}, {**good, "tool_calls": [{"id": 1}]},
           {"rejected": {"status": "400"}}]
    for i, entry in enumerate([good, *bad]):
        key = f"ab{i:02d}"
        cache.path(key).parent.mkdir(parents=True, exist_ok=True)
        cache.path(key).write_text(json.dumps(entry))
        assert cache.get(key, "a request") == (good if entry is good else None), entry
        assert cache.path(key).exists() == (entry is good)
    assert len(list((tmp_path / "ab" / "corrupt").iterdir())) == len(bad)


def test_a_budget_claim_that_is_no_claim_is_moved_aside_and_the_trial_runs(kept, caplog):
    specs, runs = kept
    claims = runs / "kept" / "inflight"  # left empty by the trials recorded
    (claims / "x.json").write_text('{"pid": "me", "estimate_usd": 1}')
    (claims / "y.json").write_text('{"pid": 1, "estim')
    (claims / "z.json").write_text('{"pid": 1, "estimate_usd": -1000}')  # would let trials past the budget
    [outcome] = sweep(f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                      "experiment.name=kept", "temperature=0.0", "seed=2", "max_cost_usd=100")
    assert outcome.record["status"] == "scored" and "budget claim" in caplog.text
    assert sorted(p.name for p in claims.iterdir()) == ["corrupt"] and len(list((claims / "corrupt").iterdir())) == 3
    assert len(records_of(runs)) == 3


def test_a_torn_plan_file_is_written_again(kept):
    from harness.sweep import batches

    specs, runs = kept
    todo = preflight([f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                      "experiment.name=kept", "seed=2,3"]).todo
    path = batches.write([todo], runs / "kept" / "plans")
    whole = path.read_bytes()
    path.write_bytes(whole[:20])  # torn, or edited
    batches._in_memory.clear()  # as a launcher's worker in another process, which reads the file
    assert batches.write([todo], runs / "kept" / "plans") == path and path.read_bytes() == whole
    batches._in_memory.clear()
    assert [p.plain for p in batches.load(path, 0)[0]] == [p.plain for p in todo]


def test_a_folder_or_fifo_named_like_a_record_is_no_record_and_blocks_nothing(kept, caplog):
    run = kept[1] / "kept"
    (run / "trials" / "folder.json").mkdir()
    os.mkfifo(run / "trials" / "fifo.json")  # reading it would wait for a writer forever
    (run / "tables.index.json").unlink()  # a full build: every record file is read
    assert len(build_tables(run)[0]) == 2 and len(records_of(kept[1])) == 2
    assert RecordStore(run).load("folder") is None and "folder.json is corrupt (not JSON (IsADirectoryError))" \
        in caplog.text  # moved aside: its trial runs again


@pytest.mark.parametrize("module, argv, needle", [
    ("harness.scoring.killrate", ["semver", "--sample", "-1"], "--sample -1: give a number of mutants"),
    ("harness.scoring.killrate", ["semver", "--jobs", "0"], "--jobs 0: give the number of mutants to score"),
    ("harness.equivalence.diff", ["{tmp}", "{tmp}", "--spec", "semver", "--size", "0"], "--size 0: give at least 1"),
    ("harness.equivalence.classes", ["{tmp}", "--size", "-3"], "--size -3: give at least 1"),
    ("harness.equivalence.classes", ["{tmp}", "--jobs", "0"], "--jobs 0: give the number of implementations"),
])
def test_a_numeric_argument_a_command_cannot_use_is_one_line_and_exit_2(tmp_path, capsys, module, argv, needle):
    with pytest.raises(SystemExit) as ended:
        importlib.import_module(module).main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert ended.value.code == 2 and len(err) == 1 and needle in err[0], err
