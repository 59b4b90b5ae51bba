"""The `harness` command: a Hydra app that runs a sweep of trials. With no arguments it runs the demo sweep.

    preflight (plan every trial, check each value's config) -> trials not yet recorded -> Hydra launches jobs
    that each run a batch of them (harness/sweep/pool.py) -> tables rebuilt from the records -> summary

Before Hydra creates anything on disk, `preflight` composes the config once per value of each swept key, builds
every trial's config and id from those (harness/sweep/plan.py), and checks each value's config (specs exist and are
whole, keys are set), so bad input ends with one line and nothing written. Trials already recorded are left out
then; with none left nothing is launched. Hydra still launches the rest (`hydra/launcher=joblib`,
`submitit_local`, `submitit_slurm`, ...): each job reads its batch of trials from the plan file and runs them
concurrently. After the last job, `main` rebuilds each experiment's tables and prints the summary; the command
exits 3 when the budget stopped the sweep.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from pathlib import Path

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from harness.config.schema import CONF_DIR, LaunchConfig, register_configs
from harness.errors import BAD_INPUT_EXIT, INTERRUPTED_EXIT, HarnessError
from harness.records.redact import redact_logs
from harness.records.store import RecordStore
from harness.sandbox.warm import close_all
from harness.sweep import batches
from harness.sweep.budget import clear_stop
from harness.sweep.pool import run_batch
from harness.sweep.preflight import Sweep, preflight
from harness.sweep.progress import attach, detach

log = logging.getLogger("harness")
register_configs()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _app(cfg: DictConfig) -> None:
    redact_logs()
    launch: LaunchConfig = OmegaConf.to_object(cfg.launch)  # `run` always hands its jobs a plan
    batch, label = batches.load(Path(launch.plan), launch.batch)
    run_batch(batch, launch, label)  # each trial (each generation of a chain) logs its verdict as it ends


BUDGET_STOP_EXIT = 3
HELP_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i")


def main() -> None:
    """Console entry point: run the command, then end the process at once. The work is on disk by then
    (records and tables are written atomically and fsynced), and tearing down the interpreter's modules took
    seconds more. Not after a launcher that started helper processes: their clean-up runs at exit."""
    code = run(sys.argv[1:])
    if any(name in sys.modules for name in ("joblib", "submitit")):
        sys.exit(code)  # a launcher's helpers (loky's resource tracker) are cleaned up by the normal teardown
    close_all()  # warm templates, and the mounts they see the runs through
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def run(argv: list[str]) -> int:
    """Preflight, then hand what is left to Hydra, then rebuild the tables and print the summary; the exit code.
    Ctrl-C at any step ends with one line and 130: each step leaves what it wrote whole (records and tables are
    written by rename), and the same command resumes."""
    left = "nothing was written"
    try:
        if any(flag in argv for flag in HELP_FLAGS):
            return _hydra(argv)
        try:
            sweep = preflight(argv)
        except (HarnessError, HydraException, OmegaConfBaseException) as exc:
            print(f"harness: error: {one_line(exc)}", file=sys.stderr)
            return BAD_INPUT_EXIT
        left = ("every finished trial is recorded; run the same command again to resume (the tables are rebuilt "
                "from the records)")
        return _sweep(sweep)
    except KeyboardInterrupt:
        print(f"harness: interrupted; {left}", file=sys.stderr)
        return INTERRUPTED_EXIT


def _sweep(sweep: Sweep) -> int:
    """Run what the preflight planned, then bring the tables up to date and print the summary."""
    for run_dir in sweep.run_dirs:
        clear_stop(run_dir)  # a stop left by a sweep that was killed is not this sweep's
        RecordStore(run_dir).totals(verify=True)  # once per sweep: records written or deleted by hand count
    if sweep.todo:
        # The summary's imports (pandas, pyarrow: 0.5 s) load in the background while the trials wait on their
        # suites and the model, rather than after the last one.
        threading.Thread(target=importlib.import_module, args=("harness.sweep.end",), daemon=True).start()
        batches.explain_job_lines()  # Hydra's `#0 : <overrides>` line says what the job runs instead
        code = _hydra(batches.hydra_argv(sweep))
        if code:
            return code
    else:
        print(f"harness: all {sweep.configs} trial(s) of this sweep are recorded; nothing to run", file=sys.stderr)
    from harness.sweep.end import end_of_sweep  # pandas and the analysis: not needed before the trials are done

    stopped = [end_of_sweep(run_dir) for run_dir in sweep.run_dirs]
    return BUDGET_STOP_EXIT if any(stopped) else 0


def _hydra(argv: list[str]) -> int:
    """Run the Hydra app on `argv`; 130 when the user stopped it."""
    sys.argv[1:] = argv  # Hydra reads the command line itself
    sys.stdout, sys.stderr = attach(sys.stdout, sys.stderr)
    try:
        _app()
    except KeyboardInterrupt:
        print("harness: interrupted; finished trials are recorded and the interrupted ones are marked "
              "`interrupted` with what they spent; run the same command again to resume", file=sys.stderr)
        return INTERRUPTED_EXIT
    except SystemExit as exc:  # Hydra's own exit (its errors, --help)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        detach()
    return 0


def one_line(exc: BaseException) -> str:
    """A Hydra or OmegaConf message folded into one line, without its search-path listing and hints."""
    kept = []
    text = str(exc) + ("\n" + str(exc.__cause__) if exc.__cause__ and str(exc.__cause__) not in str(exc) else "")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("Config search path", "Set the environment variable HYDRA_FULL_ERROR")):
            break
        if line and not line.startswith(("object_type=", "To append to your config")):
            kept.append(line)
    return " ".join(kept) or type(exc).__name__
