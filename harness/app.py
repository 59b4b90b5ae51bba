"""The `harness` command: a Hydra app whose jobs are trials. With no arguments it runs the demo sweep.

Before Hydra creates anything on disk, `preflight` composes the config for every value the sweep will take and
checks it (specs exist and are whole, keys are set), so bad input ends with one line and nothing written. After
the last job, `main` rebuilds each experiment's tables from its records and prints the summary; the command
exits 3 when the budget stopped the sweep.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from harness.budget import clear_stop
from harness.cache import CacheMode
from harness.config import PROJECT_ROOT, HarnessConfig, register_configs, to_typed, validate
from harness.errors import HarnessError
from harness.gateway import check_credentials
from harness.progress import attach, detach, show
from harness.redact import redact_logs
from harness.sandbox import check_sandbox
from harness.summary import end_of_sweep
from harness.job import build_job, run_job

CONF_DIR = PROJECT_ROOT / "conf"
log = logging.getLogger("harness")
register_configs()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _app(cfg: DictConfig) -> None:
    redact_logs()
    run_job(to_typed(cfg))  # each trial (each generation of a chain) logs its verdict the moment it ends
    job = OmegaConf.select(HydraConfig.get(), "job.num", default=None)  # unset in a single run (hydra.mode=RUN)
    show(Path(cfg.runs_dir) / cfg.experiment.name, (job or 0) + 1, cfg.sweep_jobs)


@dataclass(frozen=True)
class Sweep:
    """What the preflight learnt about the command: the arguments Hydra gets (the user's, the sweep's size for
    the progress line, and an experiment name for an ad-hoc run), the number of jobs, and the experiment folders
    the jobs write to."""
    argv: list[str]
    jobs: int
    run_dirs: tuple[Path, ...]


ADHOC = "adhoc"  # the experiment of ad-hoc runs that name none (see `adhoc`)
BUDGET_STOP_EXIT = 3


def main() -> None:
    """Console entry point: preflight, then hand over to Hydra, then rebuild the tables and print the summary."""
    argv = sys.argv[1:]
    sweep = None
    if not any(flag in argv for flag in ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i")):
        try:
            sweep = preflight(argv)
        except (HarnessError, HydraException, OmegaConfBaseException) as exc:
            print(f"harness: error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        sys.argv[1:] = sweep.argv  # Hydra reads the command line itself
        for run_dir in sweep.run_dirs:
            clear_stop(run_dir)  # a stop left by a sweep that was killed is not this sweep's
    sys.stdout, sys.stderr = attach(sys.stdout, sys.stderr)
    try:
        _app()
    except KeyboardInterrupt:
        print("harness: interrupted; finished trials are recorded and the interrupted one is marked "
              "`interrupted` with what it spent; run the same command again to resume", file=sys.stderr)
        sys.exit(130)
    finally:
        detach()
    stopped = [end_of_sweep(run_dir) for run_dir in (sweep.run_dirs if sweep else ())]
    if any(stopped):
        sys.exit(BUDGET_STOP_EXIT)


def preflight(argv: list[str]) -> Sweep:
    """Compose and check the config for each value of each swept key; raise on the first problem."""
    overrides = [a for a in argv if not a.startswith("-")]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        variants, jobs = _variants(overrides)
        argv = [*argv, f"sweep_jobs={jobs}"]  # passed to every job (and launcher worker) with its config
        if adhoc(overrides, compose("config", overrides=variants[0]), jobs):
            named = f"experiment.name={ADHOC}"
            argv, variants = [*argv, named], [[*variant, named] for variant in variants]
        run_dirs = set()
        for variant in variants:
            cfg = to_typed(compose("config", overrides=variant, return_hydra_config=True))
            check(cfg)
            run_dirs.add(Path(cfg.runs_dir) / cfg.experiment.name)
    return Sweep(argv, jobs, tuple(sorted(run_dirs)))


def adhoc(overrides: list[str], cfg: DictConfig, jobs: int) -> bool:
    """Whether the command is an ad-hoc run, which gets an experiment of its own (ADHOC) so that it never mixes
    into a preset's table: a single trial (`hydra.mode=RUN`, or a sweep of one job) or an import
    (`generator=import`, or a chain whose generation 0 is imported), unless the command line names an
    experiment (`experiment=...` or `experiment.name=...`). `cfg` is the sweep's first job's config."""
    keys = {o.key_or_group for o in OverridesParser.create().parse_overrides(overrides)}
    if keys & {"experiment", "experiment.name"}:
        return False
    imports = cfg.generator.kind == "import" or (cfg.generator.kind == "chain" and cfg.generator.gen0 == "import")
    return jobs == 1 or imports


def _variants(overrides: list[str]) -> tuple[list[list[str]], int]:
    """Override lists that together visit every value of every swept key (not every combination), and the
    number of jobs the sweep has (1 in a single run, `hydra.mode=RUN`, which ignores the preset's sweep)."""
    parser = OverridesParser.create()
    cli = {o.get_key_element(): _values(o) for o in parser.parse_overrides(overrides)}
    with_firsts = [f"{k}={v[0]}" for k, v in cli.items()]
    base = compose("config", overrides=with_firsts, return_hydra_config=True)
    single = base.hydra.mode == RunMode.RUN
    swept = {} if single else {k: str(v) for k, v in (OmegaConf.select(base, "hydra.sweeper.params") or {}).items()}
    sweeps = {o.get_key_element(): _values(o) for o in parser.parse_overrides([f"{k}={v}" for k, v in swept.items()])}
    sweeps.update(cli)  # the command line wins over the preset, as in Hydra
    firsts = {k: v[0] for k, v in sweeps.items()}
    variants = [[f"{k}={v}" for k, v in firsts.items()]]
    for key, values in sweeps.items():
        for value in values[1:]:
            variants.append([f"{k}={value if k == key else v}" for k, v in firsts.items()])
    return variants, 1 if single else math.prod(len(v) for v in sweeps.values())


def _values(override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]


def check(cfg: HarnessConfig) -> None:
    """Everything that can be known wrong before a trial runs: the job's parts are built as a trial builds them."""
    validate(cfg)
    check_sandbox(cfg.sandbox)
    if build_job(cfg).calls_model and cfg.cache.mode is not CacheMode.replay:
        check_credentials(cfg.model)


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
