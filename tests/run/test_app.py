"""The `harness` command as a user runs it: the demo sweep and bad input. The demo's re-run, which checks that
nothing runs twice, goes through the front door in-process."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from harness.sweep.preflight import ADHOC, preflight
from harness.sweep.end import end_of_sweep
from tests.conftest import PLANTED_KEY, ROOT, run_harness, sweep

REQUIRED_COLUMNS = """trial_id experiment spec spec_sha256 suite_sha256 generator model temperature seed status
tests_total tests_passed tests_failed tests_errored pass_rate passed_all prompt_tokens completion_tokens cost_usd
gen_seconds score_seconds spec_text selection sandbox harness_version git_sha created_at""".split()


def test_demo_table_has_every_cell_and_column(demo_results):
    assert set(REQUIRED_COLUMNS) <= set(demo_results.columns)
    assert len(demo_results) >= 18 and demo_results["spec"].nunique() >= 2
    assert demo_results["temperature"].nunique() >= 3 and demo_results["seed"].nunique() >= 3
    assert demo_results["trial_id"].is_unique
    assert (demo_results["status"] == "scored").all()
    assert set(demo_results["sandbox"]) <= {"bwrap", "process"}  # the backend that ran, never "auto"
    assert set(demo_results["spec_text"]) == {"ours"} and set(demo_results["selection"]) == {"all"}


def test_reference_answers_pass_and_mutants_are_marked(demo_results):
    reference = demo_results[demo_results["ground_truth"] == "reference"]
    assert len(reference) > 0 and reference["passed_all"].all()
    assert demo_results["ground_truth"].str.startswith("mutant:").any()


def test_per_test_table_matches_the_counts(demo_sweep, demo_results):
    tests = pd.read_parquet(demo_sweep / "tests.parquet")
    counts = tests.groupby("trial_id").size()
    assert (counts.reindex(demo_results["trial_id"]).to_numpy() == demo_results["tests_total"].to_numpy()).all()
    passed = tests[tests["outcome"] == "passed"].groupby("trial_id").size()
    assert (passed.reindex(demo_results["trial_id"], fill_value=0).to_numpy()
            == demo_results["tests_passed"].to_numpy()).all()


def test_every_test_the_demo_fails_says_why(demo_sweep):
    """The synthetic model's mutants fail tests: each failure keeps the assertion or exception that failed it."""
    tests = pd.read_parquet(demo_sweep / "tests.parquet")
    failing = tests[~tests["outcome"].isin(["passed", "skipped"])]
    assert len(failing) > 0 and (failing["message"].str.len() > 0).all()
    # an assertion with pytest's explanation, or the exception's type first (`semver.InvalidConstraint: ...`)
    assert failing["message"].str.match(r"assert |[A-Za-z_][\w.]*(: |$)").all()
    assert not failing["message"].str.contains(" at 0x[0-9a-f]+>", regex=True).any()  # no address: reproducible
    assert (tests.loc[tests["outcome"] == "passed", "message"] == "").all()


def test_second_run_records_nothing_calls_no_model_and_rewrites_the_same_table(demo_sweep, demo_results, capsys):
    stamps = {p: p.stat().st_mtime_ns for p in (demo_sweep / "trials").rglob("*") if p.is_file()}
    again = sweep(f"runs_dir={demo_sweep.parent}")  # the demo's 18 jobs again, in-process
    assert len(again) == 18 and all(o.skipped for o in again)
    assert end_of_sweep(demo_sweep) is None  # the tables rebuilt and the summary printed, as the command ends
    assert f"tables: {demo_sweep / 'results.parquet'} (18 trials)" in capsys.readouterr().out
    after = {p: p.stat().st_mtime_ns for p in (demo_sweep / "trials").rglob("*") if p.is_file()}
    assert after == stamps  # no record written, no transcript appended: no model call
    pd.testing.assert_frame_equal(pd.read_parquet(demo_sweep / "results.parquet"), demo_results)


def test_a_planted_key_never_reaches_runs(demo_sweep):
    leaked = [p for p in demo_sweep.rglob("*") if p.is_file() and PLANTED_KEY.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.parametrize("overrides,needle", [
    (["spec=nope"], "spec/nope"),
    (["model=nope"], "model/nope"),
    (["generator=nope"], "generator/nope"),
    (["flavour=sweet"], "flavour"),
    (["model.flavour=sweet"], "flavour"),
    (["temperature=hot"], "temperature"),
    (["model=gpt-4o", "spec=wordfreq"], "OPENAI_API_KEY"),
    (["generator=import", "generator.import_path=/no/such/dir"], "import_path"),
    (["hydra.mode=RUN", "temperature=0.5,1.0"], "gives 2 values, but hydra.mode=RUN runs one trial; to sweep them, "
                                                "add -m"),
    (["runs_dir=/sys/kernel"], "cannot write in /sys/kernel"),  # root, where os.access says yes
])
def test_bad_input_is_one_line_no_traceback_nothing_written(tmp_path, overrides, needle):
    runs = tmp_path / "runs"
    proc = run_harness(f"runs_dir={runs}", *overrides, env={"OPENAI_API_KEY": ""})
    assert proc.returncode == 2
    assert proc.stderr.startswith("harness: error:") and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not runs.exists()


def test_spec_folder_without_suite_is_named(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "wordfreq", specs / "wordfreq")
    shutil.rmtree(specs / "wordfreq" / "suite")
    proc = run_harness(f"runs_dir={tmp_path / 'runs'}", f"specs_dir={specs}", "spec=wordfreq")
    assert proc.returncode != 0 and "missing suite" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("overrides,experiment,jobs", [
    ([], "demo", 18),  # the demo's own sweep
    (["spec=semver"], "demo", 9),  # a part of the demo's sweep is still the demo
    (["hydra.mode=RUN"], "adhoc", 1),  # a single run: one job, whatever the preset sweeps
    (["spec=semver", "temperature=0.5", "seed=3"], "adhoc", 1),  # a sweep of one job is a single trial
    (["generator=import", f"generator.import_path={ROOT / 'specs' / 'semver' / 'reference'}", "spec=semver"],
     "adhoc", 9),
    (["generator=chain", "generator.gen0=import", f"generator.import_path={ROOT / 'specs' / 'semver'}",
      "spec=minimal-coding-agent"], "adhoc", 9),  # a chain from an imported generation 0
    (["hydra.mode=RUN", "experiment.name=mine"], "mine", 1),  # a name given is kept
    (["hydra.mode=RUN", "experiment=controls"], "controls", 1),
    (["experiment=controls"], "controls", 7),  # every spec: the ladder, semver, wordfreq, minimal-coding-agent
])
def test_adhoc_runs_get_an_experiment_of_their_own_unless_one_is_named(tmp_path, overrides, experiment, jobs):
    sweep = preflight([f"runs_dir={tmp_path}", *overrides])
    assert sweep.run_dirs == (tmp_path / experiment,) and sweep.configs == jobs
    assert (sweep.overrides[-1] == f"experiment.name={ADHOC}") == (experiment == ADHOC)  # what Hydra is handed
    assert {p.cfg.experiment.name for p in sweep.planned} == {experiment} and len(sweep.todo) == jobs
    assert not any(tmp_path.iterdir())  # the preflight writes nothing


def test_help_says_what_the_command_does_its_common_commands_and_exit_codes():
    from harness.run.app import BUDGET_STOP_EXIT

    proc = run_harness("--help")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith("harness: run a sweep of trials.")
    for needle in ("Common commands:", "harness experiment=paper ", "harness-report runs/demo", "harness --hydra-help",
                   f"Exit codes: 0 done; 2 bad input (one line, nothing written); {BUDGET_STOP_EXIT} stopped by the "
                   "budget", "130 interrupted", "experiment: compare, controls, demo, ladder, paper"):
        assert needle in proc.stdout, needle
    assert "powered by Hydra" not in proc.stdout
    hydra = run_harness("--hydra-help")  # Hydra's own flags are still a flag away
    assert hydra.returncode == 0 and "== Flags ==" in hydra.stdout and "--cfg" in hydra.stdout
    job = run_harness("--cfg", "job", "experiment=paper")
    assert job.returncode == 0 and "name: paper" in job.stdout and "generator:" in job.stdout
