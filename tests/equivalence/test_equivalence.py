"""Behaviour classes, fixpoints and code similarity over a sweep's records, with real recordings in the sandbox."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.config.schema import SandboxConfig
from harness.equivalence.classes import write_comparison_tables
from harness.equivalence.similarity import similarity, source_of
from harness.sandbox.backends import make_sandbox

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "specs/semver/reference/semver.py").read_text()
# Reverses the order of a prerelease and its extension: the suite fails it, and so must the battery.
MUTANT = REFERENCE.replace("return -1 if len(a) < len(b) else 1", "return 1 if len(a) < len(b) else -1")
RENAMED = re.sub(r"\bself\b", "me", REFERENCE).replace("    ", "  ")  # same code under other names and layout


def _trial(run_dir: Path, tid: str, source: str, generation: int = 0, parent: str | None = None) -> None:
    trials = run_dir / "trials"
    (trials / tid / "impl").mkdir(parents=True)
    (trials / tid / "impl" / "semver.py").write_text(source)
    (trials / f"{tid}.json").write_text(json.dumps({"trial_id": tid, "spec": "semver", "generation": generation,
                                                    "parent_trial_id": parent, "status": "scored"}))


@pytest.mark.parametrize("jobs", [1, 3])  # recorded one at a time, or three at once: the same tables
def test_classes_fixpoints_and_similarity_of_a_sweep(tmp_path, jobs):
    assert MUTANT != REFERENCE
    chain = [("a0", REFERENCE), ("a1", REFERENCE), ("a2", MUTANT), ("a3", MUTANT)]
    for generation, (tid, source) in enumerate(chain):
        _trial(tmp_path, tid, source, generation, chain[generation - 1][0] if generation else None)
    _trial(tmp_path, "b0", MUTANT)
    _trial(tmp_path, "b1", RENAMED, 1, "b0")
    sandbox = make_sandbox(SandboxConfig())
    table = write_comparison_tables(tmp_path, ROOT / "specs", sandbox, per_template=4, jobs=jobs).set_index(
        "trial_id")
    assert pd.read_parquet(tmp_path / "equivalence.parquet").set_index("trial_id").equals(table)
    assert table.loc[["a0", "a1", "b1"], "behaviour_class"].tolist() == [0, 0, 0]
    assert table.loc[["a2", "a3", "b0"], "behaviour_class"].tolist() == [1, 1, 1]
    assert table.loc["a0", "class_size"] == 3 and table.loc["a2", "first_divergence"].count(" | ") == 3
    # the reference chain reproduces itself at generation 1; the mutant injected at generation 2 is reported there
    assert table.loc[["a0", "a1", "a2", "a3"], "fixpoint_generation"].tolist() == [1, 1, 1, 1]
    assert table.loc["a1", "same_as_parent"] and not table.loc["a2", "same_as_parent"]
    assert table.loc["a2", "divergence_from_parent"] and not table.loc["a3", "divergence_from_parent"]
    assert pd.isna(table.loc["b0", "fixpoint_generation"]) and table.loc["b1", "same_as_parent"] is False
    # similarity: a copy scores 1, a renamed and re-indented copy too, a one-token change just below
    assert table.loc["a1", "similarity_to_parent"] == 1.0 and table.loc["b1", "similarity_to_parent"] > 0.9
    pairs = pd.read_parquet(tmp_path / "similarity.parquet")
    assert set(pairs["pair"]) == {"parent", "unrelated"} and len(pairs[pairs["pair"] == "parent"]) == 4
    # recordings are cached: a second build replays nothing and gives the same table
    cached = sorted((tmp_path / "diff-cache").iterdir())
    assert write_comparison_tables(tmp_path, ROOT / "specs", sandbox, per_template=4).set_index(
        "trial_id").equals(table)
    assert sorted((tmp_path / "diff-cache").iterdir()) == cached
    assert len(cached) == 3  # the reference (a0, a1), the mutant (a2, a3, b0), the renamed copy: no temporary left


def test_a_copied_child_scores_near_one_and_a_clean_room_agent_clearly_lower():
    reference = source_of(ROOT / "specs/minimal-coding-agent/reference")
    copied = re.sub(r"\bself\b", "this", reference).replace("# ", "## ")
    assert similarity(reference, reference) == 1.0 and similarity(reference, copied) > 0.95
    for text in ("ours", "paper"):
        clean_room = source_of(ROOT / "tests/fixtures/cleanroom" / text)
        assert similarity(reference, clean_room) < 0.2


def test_harness_equivalence_refuses_a_folder_without_trials(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.equivalence.classes", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"harness-equivalence: error: {tmp_path} holds no trials/; give runs/<experiment>"]


HANG = "import time\ntime.sleep(600)\n"  # on import: a recording of it runs to the spec's time limit (60 s)


def _interrupted(tmp_path, argv, recordings):
    """Run a command that records implementations which hang, interrupt it once `recordings` are under way (each
    has its scratch folder), and return its stderr. Ctrl-C reaches only the main thread: the recordings in pool
    threads must be killed, not waited for, and what their killed runs saw must not be cached."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, env={**os.environ, "TMPDIR": str(scratch)},
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(scratch.glob("harness-diff-*"))) < recordings:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    asked = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert time.monotonic() - asked < 30  # not the 60 s the hanging recordings would have run
    return err.strip().splitlines()[-1]


def test_ctrl_c_with_several_jobs_kills_the_recordings_in_flight_and_keeps_none_of_them(tmp_path):
    _trial(tmp_path, "h1", HANG + REFERENCE)
    _trial(tmp_path, "h2", HANG + MUTANT)
    cache = tmp_path / "diff-cache"
    # three recordings start at once: two under way means at least one hanging one
    last = _interrupted(tmp_path, ["harness.equivalence.classes", str(tmp_path), "--jobs", "3", "--size", "1"], 2)
    assert last.startswith("harness-equivalence: interrupted")
    cached = [json.loads(p.read_text()) for p in cache.glob("*.json")]
    assert all(c["complete"] for c in cached) and len(cached) <= 1, cached  # the reference's, if it ended first


def test_ctrl_c_kills_both_sides_of_harness_diff(tmp_path):
    for name, source in (("a", HANG + REFERENCE), ("b", HANG + MUTANT)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "semver.py").write_text(source)
    cache = tmp_path / "cache"
    last = _interrupted(tmp_path, ["harness.equivalence.diff", str(tmp_path / "a"), str(tmp_path / "b"), "--spec",
                                   "semver", "--size", "1", "--cache", str(cache)], 2)
    assert last.startswith("harness-diff: interrupted")
    assert not list(cache.glob("*.json"))
