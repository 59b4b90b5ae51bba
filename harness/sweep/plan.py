"""The sweep's plan, made before anything runs: every trial the command defines, its config and its id, so that
trials already recorded are left out before any per-trial work, and nothing is launched when nothing is left.

Hydra composes a config in ~70 ms. Composing one per trial (18 for the demo, thousands for a big sweep) was most
of a re-run's time, so the plan composes once per value of each swept key (a *variant*: the sweep's first
values, with that one key changed) and builds every combination from them. That is exact when each key is
*local*: its variants differ from the first only under the key's own path (`spec=wordfreq` changes `spec.*`,
`temperature=0.5` changes `temperature`). A key that reaches further (a preset under `experiment=`, or a value
another setting interpolates) is found so, and then every combination is composed as Hydra would. A variant
that only sets plain keys (`temperature`, `seed`, `spec.text`) or picks the group option already chosen is not
composed at all: the key is set on the first composition as Hydra sets it (`_assigned`), so the demo's re-run
composes twice, not seven times.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from harness.config.generators import ChainConfig
from harness.config.schema import HarnessConfig, SpecText, to_plain, to_typed
from harness.records.store import RecordStore, trial_id
from harness.sandbox.backends import make_sandbox
from harness.specs.loading import load_spec
from harness.trial.identity import define_trial


@dataclass(frozen=True)
class Planned:
    """One trial (or one chain) of the sweep: its typed and plain config, and its id (None for a chain, whose
    generations' ids depend on what runs)."""

    cfg: HarnessConfig
    plain: dict
    trial_id: Optional[str]

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.runs_dir) / self.cfg.experiment.name


@dataclass(frozen=True)
class Variants:
    """The swept keys with their values, and the config of each variant: `first` holds every key's first value,
    `by_value[key][value]` the same with `key` at `value`."""

    sweeps: dict[str, list[str]]
    first: tuple[HarnessConfig, dict]
    by_value: dict[str, dict[str, tuple[HarnessConfig, dict]]]
    single: bool  # hydra.mode=RUN: one trial, whatever the preset sweeps
    launcher: dict  # hydra.launcher of the first variant: which launcher runs the jobs, and its settings

    @property
    def configs(self) -> int:
        return 1 if self.single else math.prod(len(v) for v in self.sweeps.values())

    def each(self) -> list[HarnessConfig]:
        """Every variant's typed config, the first first."""
        return [self.first[0], *(typed for values in self.by_value.values() for typed, _ in values.values())]


def variants(overrides: list[str], extra: tuple[str, ...] = ()) -> Variants:
    """Compose the first variant and one per further value of each swept key (`extra` overrides are added to
    all). Call inside Hydra's `initialize_config_dir`."""
    parser = OverridesParser.create()
    cli = {o.get_key_element(): _values(o) for o in parser.parse_overrides(overrides)}
    base = compose("config", overrides=[*(f"{k}={v[0]}" for k, v in cli.items()), *extra], return_hydra_config=True)
    single = base.hydra.mode == RunMode.RUN
    swept = {} if single else {k: str(v) for k, v in (OmegaConf.select(base, "hydra.sweeper.params") or {}).items()}
    sweeps = {o.get_key_element(): _values(o) for o in parser.parse_overrides([f"{k}={v}" for k, v in swept.items()])}
    sweeps.update(cli)  # the command line wins over the preset, as in Hydra
    firsts = {k: v[0] for k, v in sweeps.items()}
    groups: dict[str, bool] = {}

    def composed(key: Optional[str] = None, value: Optional[str] = None) -> tuple[HarnessConfig, dict]:
        picks = {**firsts, **({key: value} if key else {})}
        cfg = _assigned(base, {k: v for k, v in picks.items() if not (k in cli and v == cli[k][0])}, parser, groups)
        cfg = cfg or to_typed(compose("config", overrides=[*_assign(picks), *extra]))
        return cfg, to_plain(cfg)

    by_value = {key: {value: composed(key, value) for value in values[1:]} for key, values in sweeps.items()}
    launcher = OmegaConf.to_container(base.hydra.launcher, resolve=False)
    if set(sweeps) - set(cli):  # the preset sweeps keys the command line leaves alone: at their first values
        first = composed()
    else:  # the command line set every swept key: the base is the first variant
        typed = to_typed(base)
        first = (typed, to_plain(typed))
    return Variants(sweeps, first, by_value, single, launcher)


# A key Hydra would set on the composed config, not a config group to choose (`temperature`, `spec.text`).
PLAIN_KEY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _assigned(base: DictConfig, picks: dict[str, str], parser: OverridesParser,
              groups: dict[str, bool]) -> Optional[HarnessConfig]:
    """The config `compose` would give for `base`'s overrides and `picks`, made from `base` without composing
    again, where it can be: each pick sets a plain key (as Hydra applies `key=value` once the defaults are
    merged: `OmegaConf.update`, interpolations resolved after) or names the group option `base` chose already.
    None where it cannot (a group to choose anew, a key `base` does not have): the caller composes. `groups`
    remembers which keys are groups: Hydra lists a group's options by reading its folders, some 30 ms a key."""
    loader = GlobalHydra.instance().config_loader()
    choices = base.hydra.runtime.choices
    plain = {}
    for key, value in picks.items():
        if not PLAIN_KEY.fullmatch(key) or key.startswith("hydra."):
            return None
        if key not in groups:
            groups[key] = bool(loader.get_group_options(key.replace(".", "/")))
        if groups[key]:
            if choices.get(key) != value:
                return None
        else:
            plain[key] = parser.parse_override(f"{key}={value}").value()
    cfg = OmegaConf.masked_copy(base, [k for k in base.keys() if k != "hydra"])
    try:
        for key, value in plain.items():
            OmegaConf.update(cfg, key, value, merge=True)
        return to_typed(cfg)
    except Exception:  # noqa: BLE001 -- a value the schema refuses, say: composing raises it as Hydra words it
        return None


def combinations(found: Variants, compose_one: Callable[[dict[str, str]], tuple[HarnessConfig, dict]]
                 ) -> list[tuple[HarnessConfig, dict]]:
    """Every trial's config, in the sweep's order. Built from the variants when every swept key is local, else
    composed one by one with `compose_one(assignment)`."""
    if found.single:
        return [found.first]
    keys = list(found.sweeps)
    local = all(_local(found.first[1], plain, key) for key in keys for _, plain in found.by_value[key].values())
    combos = []
    for values in itertools.product(*found.sweeps.values()):
        picks = dict(zip(keys, values))
        combos.append(_built(found, picks) if local else compose_one(picks))
    return combos


def _built(found: Variants, picks: dict[str, str]) -> tuple[HarnessConfig, dict]:
    cfg, plain = found.first
    for key, value in picks.items():
        if value in found.by_value[key]:
            their_cfg, their_plain = found.by_value[key][value]
            cfg = _with(cfg, key, _get(their_cfg, key))
            plain = _with(plain, key, _get(their_plain, key))
    return cfg, plain


def identify(configs: list[tuple[HarnessConfig, dict]]) -> list[Planned]:
    """Each config with its trial id, loading each spec and sandbox once (define_trial hashes what they hold)."""
    specs: dict[tuple, Any] = {}
    sandboxes: dict[str, str] = {}
    planned = []
    for cfg, plain in configs:
        if isinstance(cfg.generator, ChainConfig):
            planned.append(Planned(cfg, plain, None))
            continue
        key = (cfg.specs_dir, cfg.spec.name, cfg.spec.text, cfg.downloads_dir)
        if key not in specs:
            specs[key] = load_spec(Path(cfg.specs_dir), cfg.spec.name, upstream=cfg.spec.text is SpecText.upstream,
                                   cache_dir=Path(cfg.downloads_dir))
        box = repr(plain["sandbox"])
        if box not in sandboxes:
            sandboxes[box] = make_sandbox(cfg.sandbox).name
        planned.append(Planned(cfg, plain, trial_id(**define_trial(cfg, specs[key], sandboxes[box], plain))))
    return planned


def unique(planned: list[Planned]) -> list[Planned]:
    """Each trial once: two values of a swept key can make one trial (a spec renamed by another override), and
    run side by side in one process, the second would only wait on the first's lock."""
    seen: set[tuple[Path, str]] = set()
    kept = []
    for item in planned:
        key = (item.run_dir, item.trial_id)
        if item.trial_id is None or key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def left_to_run(planned: list[Planned]) -> list[Planned]:
    """The trials not yet recorded as done, each once (a chain is always left to its job, which skips what it
    finds done)."""
    stores: dict[Path, RecordStore] = {}
    todo = []
    for item in unique(planned):
        store = stores.setdefault(item.run_dir, RecordStore(item.run_dir))
        if item.trial_id is None or not store.is_done(item.trial_id):
            todo.append(item)
    return todo


def _local(first: dict, variant: dict, key: str) -> bool:
    """Whether a variant differs from the first config only under `key`'s path."""
    a, b = _flat(first), _flat(variant)
    return all(k == key or k.startswith(key + ".") for k in set(a) | set(b) if a.get(k, a) != b.get(k, b))


def _flat(plain: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(plain, dict) and plain:
        return {k: v for key, sub in plain.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix[:-1]: plain}


def _get(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _with(node: Any, dotted: str, value: Any) -> Any:
    """A copy of `node` (a dataclass or a dict) with the setting at `dotted` replaced; the rest is shared."""
    head, _, rest = dotted.partition(".")
    inner = value if not rest else _with(_get(node, head), rest, value)
    return {**node, head: inner} if isinstance(node, dict) else replace(node, **{head: inner})


def _assign(values: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def _values(override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]
