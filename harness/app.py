"""The `harness` command: a Hydra app whose jobs are trials. With no arguments it runs the demo sweep.

Before Hydra creates anything on disk, `preflight` composes the config for every value the sweep will take and
checks it (specs exist and are whole, keys are set), so bad input ends with one line and nothing written.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Iterable

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from harness.cache import CacheMode
from harness.config import PROJECT_ROOT, HarnessConfig, register_configs, to_typed, validate
from harness.errors import HarnessError
from harness.redact import redact_logs
from harness.gateway import check_credentials
from harness.generate import make_generator, needs_model
from harness.progress import JOBS_VARIABLE, show
from harness.sandbox import check_sandbox
from harness.chain import check_chain
from harness.trial import configured_spec, needs_for, run_trial

CONF_DIR = PROJECT_ROOT / "conf"
log = logging.getLogger("harness")
register_configs()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _app(cfg: DictConfig) -> None:
    redact_logs()
    for outcome in run_trial(to_typed(cfg)):
        r = outcome.record
        if r is None:
            continue  # refused by the budget; already logged
        verdict = "already recorded" if outcome.skipped else f"{r['status']} {r['tests_passed']}/{r['tests_total']}"
        log.info("%s %s %s gen=%s T=%s seed=%s sample=%s -> %s [%s]", r["spec"], r["generator"], r["model"],
                 r["generation"], r["temperature"], r["seed"], r["sample"], verdict, r["trial_id"])
    job = OmegaConf.select(HydraConfig.get(), "job.num", default=None)  # unset in a single run (hydra.mode=RUN)
    show(Path(cfg.runs_dir) / cfg.experiment.name, (job or 0) + 1)


def main() -> None:
    """Console entry point: preflight, then hand over to Hydra."""
    argv = sys.argv[1:]
    if not any(flag in argv for flag in ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i")):
        try:
            preflight(argv)
        except (HarnessError, HydraException, OmegaConfBaseException) as exc:
            print(f"harness: error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
    try:
        _app()
    except KeyboardInterrupt:
        print("harness: interrupted; finished trials are recorded and the interrupted one is marked "
              "`interrupted` with what it spent; run the same command again to resume", file=sys.stderr)
        sys.exit(130)


def preflight(argv: list[str]) -> None:
    """Compose and check the config for each value of each swept key; raise on the first problem."""
    overrides = [a for a in argv if not a.startswith("-")]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for variant in _variants(overrides):
            cfg = compose("config", overrides=variant, return_hydra_config=True)
            check(to_typed(cfg))


def _variants(overrides: list[str]) -> Iterable[list[str]]:
    """Override lists that together visit every value of every swept key (not every combination)."""
    parser = OverridesParser.create()
    cli = {o.get_key_element(): _values(o) for o in parser.parse_overrides(overrides)}
    with_firsts = [f"{k}={v[0]}" for k, v in cli.items()]
    base = compose("config", overrides=with_firsts, return_hydra_config=True)
    swept = {k: str(v) for k, v in (OmegaConf.select(base, "hydra.sweeper.params") or {}).items()}
    sweeps = {o.get_key_element(): _values(o) for o in parser.parse_overrides([f"{k}={v}" for k, v in swept.items()])}
    sweeps.update(cli)  # the command line wins over the preset, as in Hydra
    os.environ[JOBS_VARIABLE] = str(math.prod(len(v) for v in sweeps.values()))  # for the progress line
    firsts = {k: v[0] for k, v in sweeps.items()}
    yield [f"{k}={v}" for k, v in firsts.items()]
    for key, values in sweeps.items():
        for value in values[1:]:
            yield [f"{k}={value if k == key else v}" for k, v in firsts.items()]


def _values(override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]


def check(cfg: HarnessConfig) -> None:
    """Everything that can be known wrong before a trial runs."""
    validate(cfg)
    check_sandbox(cfg.sandbox)
    spec = configured_spec(cfg)
    if cfg.generator.kind == "chain":
        check_chain(cfg, spec)
    else:
        make_generator(cfg.generator, needs_for(cfg))
    if needs_model(cfg.generator) and cfg.cache.mode is not CacheMode.replay:
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
