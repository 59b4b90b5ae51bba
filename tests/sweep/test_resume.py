"""Kill a sweep with SIGKILL at random moments, resume it each time: the end table equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd

from harness.records.tables import build_tables
from tests.conftest import ROOT, make_spec, run_harness, sweep

VOLATILE = ["created_at", "gen_seconds", "score_seconds", "git_sha"]  # the checkout may move mid-test


def args(runs, specs):
    return [f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder", "temperature=0.0,0.5,1.0",
            "seed=range(16)"]  # 48 trials: more than ten short rounds can finish, so every kill lands mid-sweep


def test_sigkill_at_ten_random_moments_then_resume_gives_the_uninterrupted_table(tmp_path):
    specs = tmp_path / "specs"
    make_spec(specs)
    clean = sweep(*args(tmp_path / "clean", specs))  # the uninterrupted reference, in-process
    assert len(clean) == 48 and not any(o.skipped for o in clean)
    build_tables(tmp_path / "clean" / "demo")
    runs = tmp_path / "killed"
    rng = random.Random(0)
    kills = 0
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", "from harness.run.app import main; main()", *args(runs, specs)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.5, 2.5))  # start-up, planning, trials in flight, records being written
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 10  # every round was cut short, at a different moment
    for record in (runs / "demo" / "trials").glob("*.json"):  # no half-written record: each one parses whole
        assert json.loads(record.read_text())["trial_id"] == record.stem
    resumed = run_harness(*args(runs, specs))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = pd.read_parquet(runs / "demo" / "results.parquet")
    expected = pd.read_parquet(tmp_path / "clean" / "demo" / "results.parquet")
    assert final["trial_id"].is_unique and len(final) == 48
    pd.testing.assert_frame_equal(final.drop(columns=VOLATILE), expected.drop(columns=VOLATILE))
