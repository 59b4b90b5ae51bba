"""The sweep's plan: every trial's config built from one composition per swept value must be the config Hydra
composes for that trial; its ids must be the ids trials record; recorded trials are left out; launch."""

from __future__ import annotations

import logging

import pytest
from hydra import initialize_config_dir

from harness.config.schema import CONF_DIR, LaunchConfig, to_plain
from harness.records.store import RecordStore
from harness.sweep import batches
from harness.sweep.plan import Planned, combinations, variants
from harness.sweep.pool import run_batch
from harness.sweep.preflight import preflight

SWEEPS = [
    [],  # the demo preset's own sweep: spec x temperature x seed
    ["model=synthetic,synthetic-sloppy", "spec=semver,wordfreq", "temperature=0.0,1.5", "sandbox.memory_mb=512,1024"],
    ["experiment=demo,controls", "temperature=0.0,0.5"],  # a preset reaches outside its path: composed whole
    ["generator=oneshot,agent", "spec=semver"],
    ["experiment=paper-sweep"],
    # plain keys, nested ones too, set on the composed config without composing again (harness/sweep/plan.py)
    ["spec=minimal-coding-agent", "spec.text=ours,upstream", "sandbox.memory_mb=512,1024", "seed=3"],
]


@pytest.mark.parametrize("overrides", SWEEPS)
def test_every_planned_config_is_the_config_hydra_composes_for_that_trial(tmp_path, overrides):
    overrides = [f"runs_dir={tmp_path}", *overrides]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        found = variants(overrides)
        planned = combinations(found, lambda picks: pytest.fail("every key here is local"))  \
            if "experiment=demo,controls" not in overrides else None
        composed_each = combinations(found, lambda picks: variants(
            [*overrides, *(f"{k}={v}" for k, v in picks.items())]).first)
        hydra_each = []
        for cfg, plain in composed_each:
            assert plain == to_plain(cfg)
            hydra_each.append(plain)
    assert len(hydra_each) == found.configs
    if planned is not None:  # built from variants: the same configs, in the same order
        assert [plain for _, plain in planned] == hydra_each
        assert [to_plain(cfg) for cfg, _ in planned] == hydra_each
    assert len({repr(p) for p in hydra_each}) == len(hydra_each)  # every trial of the sweep is a different one


def test_a_key_another_setting_interpolates_is_not_taken_for_local(tmp_path):
    """`runs_dir` is interpolated by `cache.dir`: its variants differ outside its own path, so the plan composes
    each combination instead of patching `runs_dir` alone (which would leave the cache in the first runs dir)."""
    overrides = [f"runs_dir={tmp_path / 'a'},{tmp_path / 'b'}", "spec=semver", "temperature=0.0,1.0"]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        found = variants(overrides)
        composed = []
        built = combinations(found, lambda picks: composed.append(picks) or variants(
            [*overrides, *(f"{k}={v}" for k, v in picks.items())]).first)
    assert len(composed) == 12  # 2 runs dirs x 2 temperatures x the demo's 3 seeds
    assert {cfg.cache.dir for cfg, _ in built} == {f"{tmp_path / 'a'}/demo/cache", f"{tmp_path / 'b'}/demo/cache"}
    assert all(cfg.cache.dir.startswith(cfg.runs_dir) for cfg, _ in built)


def test_planned_ids_are_the_ids_trials_record_and_recorded_trials_are_left_out(tmp_path, tiny_specs):
    argv = [f"runs_dir={tmp_path}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder",
            "temperature=0.0,1.0", "seed=0,1", "experiment.name=plan"]
    sweep = preflight(argv)
    assert len(sweep.planned) == len(sweep.todo) == 4 and not (tmp_path / "plan").exists()
    run_batch(sweep.todo[:3], LaunchConfig(concurrency=3))
    recorded = {r["trial_id"] for r in RecordStore(tmp_path / "plan").all()}
    assert recorded == {p.trial_id for p in sweep.todo[:3]}
    again = preflight(argv)
    assert [p.trial_id for p in again.planned] == [p.trial_id for p in sweep.planned]
    assert [p.trial_id for p in again.todo] == [sweep.todo[3].trial_id]  # only the one never run is left


def test_a_trial_recorded_as_an_infra_error_is_planned_again(tmp_path, tiny_specs):
    argv = [f"runs_dir={tmp_path}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder", "seed=0,1",
            "temperature=0.0", "experiment.name=plan"]
    sweep = preflight(argv)
    run_batch(sweep.todo, LaunchConfig())
    store = RecordStore(tmp_path / "plan")
    record = store.load(sweep.todo[0].trial_id)
    record["status"] = "infra_error"
    store.path(record["trial_id"]).write_text(__import__("json").dumps(record))
    assert [p.trial_id for p in preflight(argv).todo] == [record["trial_id"]]


def planned(n: int) -> list[Planned]:
    return [Planned(None, {"n": i}, str(i)) for i in range(n)]  # type: ignore[arg-type]


@pytest.mark.parametrize("launcher,per_job,sizes", [
    ({"_target_": batches.BASIC}, 0, [18]),  # Hydra's basic launcher: one job, run concurrently inside
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 4}, 0,
     [5, 5, 5, 3]),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}, 0, [9, 9]),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"}, 0, [1] * 18),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"}, 7, [7, 7, 4]),
])
def test_batches_fit_the_launcher(launcher, per_job, sizes):
    parts = batches.split(planned(18), launcher, per_job, cores=2)
    assert [len(p) for p in parts] == sizes
    assert [p.trial_id for part in parts for p in part] == [str(i) for i in range(18)]  # each once, in order


def test_a_plan_written_for_other_processes_reads_back_as_the_same_configs(tmp_path, tiny_specs):
    sweep = preflight([f"runs_dir={tmp_path}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder",
                       "seed=0,1,2", "temperature=0.0", "experiment.name=plan"])
    parts = batches.split(sweep.todo, {"_target_": "x"}, 2, cores=2)
    path = batches.write(parts, tmp_path / "plans")
    batches._in_memory.clear()  # as a launcher's worker finds it: only the file
    batch, label = batches.load(path, 1)
    assert label == "job 2/2" and [to_plain(p.cfg) for p in batch] == [p.plain for p in parts[1]]
    assert [p.cfg for p in batch] == [p.cfg for p in parts[1]]


def test_a_trial_two_swept_values_make_alike_is_left_to_run_once(tmp_path, tiny_specs):
    """The demo preset sweeps spec=semver,wordfreq; `spec.name=adder` renames both to one spec, so the sweep's
    two halves are the same trials: the plan keeps all for Hydra's count, but runs each once."""
    sweep = preflight([f"runs_dir={tmp_path}", f"specs_dir={tiny_specs}", "spec.name=adder", "temperature=0.0",
                       "seed=0,1", "experiment.name=twice"])
    assert len(sweep.planned) == 4 and len({p.trial_id for p in sweep.planned}) == 2
    assert [p.trial_id for p in sweep.todo] == [p.trial_id for p in sweep.planned[:2]]


def test_a_launchers_job_line_says_what_the_job_runs(tmp_path, tiny_specs, caplog):
    sweep = preflight([f"runs_dir={tmp_path}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder",
                       "seed=0,1,2", "temperature=0.0", "experiment.name=plan"])
    path = batches.write(batches.split(sweep.todo, {"_target_": "x"}, 2, cores=2), tmp_path / "plans")
    batches._in_memory.clear()  # read from the file, as in a process that did not write it
    batches.explain_job_lines()
    batches.explain_job_lines()  # once per process, however often asked
    launcher = logging.getLogger(batches.LAUNCHER_LOGGERS[0])
    assert sum(isinstance(f, batches.JobLine) for f in launcher.filters) == 1
    with caplog.at_level(logging.INFO, logger=launcher.name):
        launcher.info(f"\t#1 : seed=0 spec=semver launch.plan={path} launch.batch=1")
        launcher.info("Launching 2 jobs locally")
    assert caplog.messages == [f"\t#1 : 1 trial(s), batch 2 of 2 of this sweep (the plan {path} gives each its config)",
                               "Launching 2 jobs locally"]
