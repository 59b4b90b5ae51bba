"""What makes a trial this trial: `define_trial` lists it, and its hash is the trial id (`records.trial_id`).

A re-run skips a trial whose id is recorded, so anything that can change an outcome must be in here, and
nothing else: a setting the trial never reads would make a new trial of an old one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

from harness.config.generators import MAX_MODEL_CALLS, ChainConfig
from harness.config.schema import HarnessConfig, to_plain
from harness.generation.registry import needs_model, prompt_templates
from harness.errors import ConfigError
from harness.models import local
from harness.sandbox.copies import hash_tree, past_caps
from harness.sandbox.walk import TreeCaps
from harness.specs.loading import Spec, sha256_text, sha256_tree

# Model settings that change how a call is made, not what it answers: left out of the trial id.
MODEL_MECHANICS = ("api_key_env", "timeout_s", "max_attempts", "backoff_s")
# Model settings added after trials were recorded: in the id only when set, so that those trials keep their ids.
LATER_MODEL_PARTS = ("local",)
# A chain's settings left out on purpose: a deeper run of a chain extends a shallower one, its generations
# keeping their ids.
CHAIN_EXTENT = ("depth",)
# The parent-visible variant's settings, in a chain's id only when it is on: plain chains keep their ids.
PARENT_VIEW = ("show_parent", "parent_task")
# The cap on an agent's requests, in the id only when it is not the default: trials recorded before there was a
# cap keep their ids (a trial that reaches the cap says so in its detail).
CALL_CAP = "max_model_calls"


def define_trial(cfg: HarnessConfig, spec: Spec, sandbox: str, plain: Optional[dict] = None) -> dict:
    """What makes a trial this trial; its hash is the trial id. Changing any of these starts a new trial.

    Everything that can change an outcome is in: the text given and its hash, the manifest, the suite and the
    tests selected, the selected generator's own config (harness/config/generators.py: what it reads, nothing else,
    but CALL_CAP at its default; for a chain, its generation 0's config and its own settings but CHAIN_EXTENT), the
    content of what it reads (an imported folder, the reference tree, its prompt template), the model's settings
    but MODEL_MECHANICS, the sandbox's limits and the backend that runs (`sandbox`), and temperature, seed and
    sample. A model the harness serves itself (`model.local`) adds its weights' sha256, the server's version and
    the server settings that change its answers.
    `plain` is `to_plain(cfg)` when the caller has it already."""
    plain = copy.deepcopy(plain) if plain is not None else to_plain(cfg)
    chained = isinstance(cfg.generator, ChainConfig)
    gen0 = cfg.generator.gen0 if chained else cfg.generator
    generator = {k: v for k, v in plain["generator"].items() if not (chained and k in CHAIN_EXTENT)}
    if chained and not cfg.generator.show_parent:
        generator = {k: v for k, v in generator.items() if k not in PARENT_VIEW}
    for settings in (generator, generator.get("gen0") if chained else None):
        if isinstance(settings, dict) and settings.get(CALL_CAP) == MAX_MODEL_CALLS:
            del settings[CALL_CAP]
    _hash_imported(generator["gen0"] if chained else generator, TreeCaps.of(cfg.sandbox))
    uses_model = needs_model(cfg.generator)
    model = ({k: v for k, v in plain["model"].items()
              if k not in MODEL_MECHANICS and not (k in LATER_MODEL_PARTS and v is None)} if uses_model else None)
    if model is not None and cfg.model.local is not None:  # a model the harness serves: its weights and server
        model.update(local.describe(cfg.model.local))
    reads_reference = gen0.kind == "reference" or (uses_model and cfg.model.synthetic is not None)
    kinds = [gen0.kind, cfg.generator.kind] if chained else [gen0.kind]
    return dict(spec=spec.name, spec_text=cfg.spec.text.value, spec_sha256=spec.spec_sha256,
                manifest_sha256=spec.manifest_sha256, suite_sha256=spec.suite_sha256, selection=spec.selection,
                reference_sha256=sha256_tree(spec.reference_dir) if reads_reference else None,
                templates=sha256_text("".join(prompt_templates(k) for k in kinds)), generator=generator,
                model=model, sandbox={**_outcome_settings(plain["sandbox"]), "kind": sandbox},
                temperature=cfg.temperature, seed=cfg.seed, sample=cfg.sample)


def _outcome_settings(sandbox: dict) -> dict:
    """The sandbox's settings but `warm`, which changes how fast a suite starts, never what it finds."""
    return {k: v for k, v in sandbox.items() if k != "warm"}


def _hash_imported(generator: dict, caps: TreeCaps) -> None:
    """An imported folder is identified by its resolved path and the content of what a reader takes from it (no
    link followed), not its name. It is looked at before a byte of it is read: a folder past the caps (entries,
    depth, bytes) is the user's one-line error before anything is spent."""
    if generator.get("import_path"):
        folder = Path(generator["import_path"]).expanduser().resolve()
        generator["import_path"] = str(folder)
        generator["import_sha256"] = None
        if folder.is_dir():
            problem = past_caps(folder, caps)
            if problem:
                raise ConfigError(f"generator.import_path={folder} {problem}: import a smaller folder, or raise "
                                  "that limit")
            generator["import_sha256"] = hash_tree(folder, caps)[0]
