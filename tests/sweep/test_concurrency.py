"""Several harness processes on one experiment: each trial runs once, and its cost is counted once."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from tests.conftest import ROOT, make_spec

COUNTING_SUITE = '''
import os, sys, time
sys.path.insert(0, os.environ["HARNESS_IMPL_DIR"])
from adder import add

def test_counted():
    with open({counter!r}, "a") as ran:  # the process sandbox lets the suite write here: it counts the runs
        ran.write("ran\\n")
    time.sleep(1.0)
    assert add(2, 3) == 5
'''


def test_two_sweeps_on_one_experiment_run_each_trial_once(tmp_path):
    counter = tmp_path / "runs-of-the-suite.txt"
    specs = tmp_path / "specs"
    make_spec(specs, suite=COUNTING_SUITE.format(counter=str(counter)))
    argv = [sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={tmp_path / 'runs'}",
            f"specs_dir={specs}", "spec=semver", "spec.name=adder", "generator=reference", "sandbox=process",
            "temperature=0.0", "seed=range(6)"]
    sweeps = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ}) for _ in range(2)]
    outputs = [sweep.communicate(timeout=300) for sweep in sweeps]
    assert [sweep.returncode for sweep in sweeps] == [0, 0], [err[-2000:] for _, err in outputs]
    assert counter.read_text().count("ran\n") == 6  # not 12: no trial ran in both processes
    table = pd.read_parquet(tmp_path / "runs" / "demo" / "results.parquet")
    assert len(table) == 6 and table["passed_all"].all()
