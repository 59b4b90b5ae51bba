"""What makes a trial this trial: `define_trial` lists it, and its hash is the trial id (`records.trial_id`).

A re-run skips a trial whose id is recorded, so anything that can change an outcome must be in here, and
nothing else: a setting the trial never reads would make a new trial of an old one.
"""

from __future__ import annotations

from pathlib import Path

from harness.config import HarnessConfig, to_plain
from harness.generate import CHAIN_FIELDS, GENERATOR_FIELDS, needs_model, prompt_templates
from harness.specs import Spec, sha256_text, sha256_tree

# Model settings that change how a call is made, not what it answers: left out of the trial id.
MODEL_MECHANICS = ("api_key_env", "timeout_s", "max_attempts", "backoff_s")


def define_trial(cfg: HarnessConfig, spec: Spec, sandbox: str) -> dict:
    """What makes a trial this trial; its hash is the trial id. Changing any of these starts a new trial.

    Everything that can change an outcome is in: the text given and its hash, the manifest, the suite and the
    tests selected, the settings the selected generator reads (GENERATOR_FIELDS; nothing it ignores), the
    content of what it reads (an imported folder, the reference tree, its prompt template), the model's
    settings, the sandbox's limits and the backend that runs (`sandbox`), and temperature, seed and sample."""
    plain = to_plain(cfg)
    kinds = [cfg.generator.gen0, "chain"] if cfg.generator.kind == "chain" else [cfg.generator.kind]
    fields = [*GENERATOR_FIELDS.get(kinds[0], ()), *(CHAIN_FIELDS if "chain" in kinds else ())]
    generator = {"kind": cfg.generator.kind, **{k: plain["generator"][k] for k in sorted(set(fields))}}
    if generator.get("import_path"):
        folder = Path(generator["import_path"]).expanduser().resolve()
        generator["import_path"] = str(folder)
        generator["import_sha256"] = sha256_tree(folder) if folder.is_dir() else None
    uses_model = needs_model(cfg.generator)
    model = {k: v for k, v in plain["model"].items() if k not in MODEL_MECHANICS} if uses_model else None
    reads_reference = kinds[0] == "reference" or (uses_model and cfg.model.synthetic is not None)
    return dict(spec=spec.name, spec_text=cfg.spec.text.value, spec_sha256=spec.spec_sha256,
                manifest_sha256=spec.manifest_sha256, suite_sha256=spec.suite_sha256, selection=spec.selection,
                reference_sha256=sha256_tree(spec.reference_dir) if reads_reference else None,
                templates=sha256_text("".join(prompt_templates(k) for k in kinds)), generator=generator,
                model=model, sandbox={**plain["sandbox"], "kind": sandbox},
                temperature=cfg.temperature, seed=cfg.seed, sample=cfg.sample)
