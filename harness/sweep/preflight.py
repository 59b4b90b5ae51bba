"""The preflight: before anything is written, plan every trial of the command and check each value's config.

    argv -> compose the config once per value of each swept key -> every trial's config and id (harness/sweep/plan.py)
         -> each value's config checked as a trial would build it -> a Sweep: what is planned, and what is left to run

Bad input ends here with one line (ConfigError, or Hydra's and OmegaConf's own errors), with nothing on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from harness.config.schema import CONF_DIR, HarnessConfig, LocalParams, validate
from harness.errors import ConfigError
from harness.models import weights
from harness.models.cache import CacheMode
from harness.models.gateway import check_credentials
from harness.sandbox.backends import check_sandbox
from harness.sweep.plan import Planned, Variants, combinations, identify, left_to_run, variants
from harness.trial.front_door import build_trials

ADHOC = "adhoc"  # the experiment of ad-hoc runs that name none (see `adhoc`)


@dataclass(frozen=True)
class Sweep:
    """What the preflight learnt about the command: its flags and overrides (each swept key at its first value,
    and an experiment name for an ad-hoc run), every trial planned and those left to run, the launcher's
    config, and the experiment folders the trials write to."""
    flags: list[str]
    overrides: list[str]
    planned: list[Planned]
    todo: list[Planned]
    launcher: dict
    run_dirs: tuple[Path, ...]

    @property
    def configs(self) -> int:
        """Trials (chains) the sweep defines."""
        return len(self.planned)



def preflight(argv: list[str]) -> Sweep:
    """Plan every trial and check the config of each value of each swept key; raise on the first problem.
    Writes nothing."""
    flags = [a for a in argv if a.startswith("-")]
    overrides = [a for a in argv if not a.startswith("-")]
    if {"-m", "--multirun"} & set(flags):  # Hydra sweeps then, whatever hydra.mode says: so does the plan
        overrides.append("hydra.mode=MULTIRUN")
    owned = [a for a in overrides if a.split("=", 1)[0].lstrip("+~") in ("launch.plan", "launch.batch")]
    if owned:
        raise ConfigError(f"{owned[0].split('=', 1)[0]} is set by the command for its own jobs; leave it out "
                          "(launch.concurrency, launch.score_workers and launch.trials_per_job are yours)")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        found = variants(overrides)
        refuse_sweep_in_run_mode(found)
        if adhoc(overrides, found.first[0], found.configs):
            found = variants(overrides, extra=(f"experiment.name={ADHOC}",))
        for cfg in found.each():
            check(cfg)
        extra = [f"experiment.name={ADHOC}"] if found.first[0].experiment.name == ADHOC else []
        planned = identify(combinations(found, lambda picks: variants(
            [*overrides, *(f"{k}={v}" for k, v in picks.items())], tuple(extra)).first))
    first = [f"{k}={v[0]}" for k, v in found.sweeps.items()]
    return Sweep(flags, [*first, *extra], planned, left_to_run(planned), found.launcher,
                 tuple(sorted({p.run_dir for p in planned})))


def refuse_sweep_in_run_mode(found: Variants) -> None:
    """A single run (hydra.mode=RUN) runs one trial: a key given several values on its command line would
    silently run the first only, so it is refused."""
    swept = {key: values for key, values in found.sweeps.items() if len(values) > 1}
    if found.single and swept:
        key, values = next(iter(swept.items()))
        raise ConfigError(f"{key}={','.join(values)} gives {len(values)} values, but hydra.mode=RUN runs one trial; "
                          "to sweep them, add -m (or leave out hydra.mode=RUN)")


def adhoc(overrides: list[str], cfg: HarnessConfig, configs: int) -> bool:
    """Whether the command is an ad-hoc run, which gets an experiment of its own (ADHOC) so that it never mixes
    into a preset's table: a single trial (`hydra.mode=RUN`, or a sweep of one job) or an import
    (`generator=import`, or a chain whose generation 0 is imported), unless the command line names an
    experiment (`experiment=...` or `experiment.name=...`). `cfg` is the sweep's first job's config."""
    keys = {o.key_or_group for o in OverridesParser.create().parse_overrides(overrides)}
    if keys & {"experiment", "experiment.name"}:
        return False
    gen0 = getattr(cfg.generator, "gen0", None)
    imports = cfg.generator.kind == "import" or (gen0 is not None and gen0.kind == "import")
    return configs == 1 or imports


def check(cfg: HarnessConfig) -> None:
    """Everything that can be known wrong before a trial runs: the job's parts are built as a trial builds them."""
    validate(cfg)
    check_sandbox(cfg.sandbox, [cfg.model.api_key_env or ""])
    if build_trials(cfg).calls_model and cfg.cache.mode is not CacheMode.replay:
        check_credentials(cfg.model)
        if cfg.model.local is not None:  # its weights are here (fetched now, once), and its server installed
            check_context(cfg.model.local, weights.path(cfg.model.local, Path(cfg.downloads_dir)))
            weights.server_version()


def check_context(local: LocalParams, gguf: Path) -> None:
    """A slot's context no longer than the one the model was trained for (its GGUF header's)."""
    trained = weights.context_length(gguf)
    if trained is not None and local.n_ctx > trained:
        raise ConfigError(f"model.local.n_ctx={local.n_ctx} is past the {trained} tokens {gguf.name} was trained "
                          f"for: its replies past that degrade silently; set model.local.n_ctx={trained} or less")
