"""Any launcher gives the table the default one does: the demo through Hydra's joblib and submitit launchers
(submitit_local stands in for SLURM here) against the demo run with the default launcher. Subprocesses: the
launchers themselves are under test."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import PLANTED_KEY, run_harness

# What may differ between two runs of the same trials: when and how fast they ran, and where.
VARYING = ("gen_seconds", "score_seconds", "created_at", "seconds", "git_sha")  # the checkout may move mid-session


def comparable(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    kept = frame.drop(columns=[c for c in frame.columns if c in VARYING])
    return kept.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("launcher,jobs", [
    (["hydra/launcher=submitit_local", "launch.trials_per_job=6"], 3),  # 3 jobs of 6 trials, each a process
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], 2),  # 2 workers of 9 trials
])
def test_a_launcher_gives_the_default_launchers_tables(tmp_path, demo_sweep, launcher, jobs):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher" if "submitit" in launcher[0] else "joblib")
    proc = run_harness(f"runs_dir={tmp_path}", *launcher, env={"OPENAI_API_KEY": PLANTED_KEY})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for table, key in (("results", ["trial_id"]), ("tests", ["trial_id", "test_id"])):
        theirs = pd.read_parquet(tmp_path / "demo" / f"{table}.parquet")
        ours = pd.read_parquet(demo_sweep / f"{table}.parquet")
        pd.testing.assert_frame_equal(comparable(theirs, key), comparable(ours, key))
    logged = proc.stdout + proc.stderr
    assert f"#{jobs - 1} : " in logged and f"#{jobs} : " not in logged  # the trials were spread over the jobs
