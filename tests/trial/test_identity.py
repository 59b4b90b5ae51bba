"""A trial is exactly its inputs: change anything that can change an outcome and it is a new trial; change a
setting the trial never reads and it is the same trial (so a re-run skips it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

from harness.generation import oneshot
from harness.records.store import trial_id
from harness.trial.front_door import build_trials
from tests.conftest import ROOT, config


@pytest.fixture
def specs(tmp_path) -> Path:
    for name in ("wordfreq", "minimal-coding-agent"):
        shutil.copytree(ROOT / "specs" / name, tmp_path / "specs" / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "specs"


def tid(specs: Path, *overrides: str) -> str:
    cfg = config(f"specs_dir={specs}", "spec=wordfreq", "temperature=0.5", "seed=1", *overrides)
    return trial_id(**build_trials(cfg).setup.identity)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


CHANGES = {  # name -> (overrides, an edit of the spec folder or None); each must make a new trial
    "temperature": (["temperature=0.6"], None),
    "seed": (["seed=2"], None),
    "sample": (["sample=1"], None),
    "max_tokens": (["model.max_tokens=1000"], None),
    "model_name": (["model.name=synthetic-copy"], None),  # same litellm_model, another config
    "synthetic_curve": (["model.synthetic.curve_rates=[0.2,0.7]"], None),
    "memory_mb": (["sandbox.memory_mb=2048"], None),
    "system_prompt": (["generator.system_prompt=Be terse."], None),
    "spec_text": ([], lambda s: edit(s / "wordfreq" / "spec.md", "wordfreq", "wordfreq ")),
    "time_limit": ([], lambda s: edit(s / "wordfreq" / "manifest.yaml", "time_limit_s:", "time_limit_s: 1 #")),
    "suite": ([], lambda s: (s / "wordfreq" / "suite" / "test_more.py").write_text("def test_x():\n    pass\n")),
    "reference_for_synthetic": ([], lambda s: edit(s / "wordfreq" / "reference" / "wordfreq.py", "\n", "\n# edited\n")),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_input_that_can_change_an_outcome_is_a_new_trial(specs, change):
    overrides, edit_spec = CHANGES[change]
    before = tid(specs)
    if edit_spec:
        edit_spec(specs)
    assert tid(specs, *overrides) != before


def test_an_edited_prompt_template_is_a_new_trial(specs, monkeypatch):
    before = tid(specs)
    monkeypatch.setattr(oneshot, "OUTPUT_CONTRACT", oneshot.OUTPUT_CONTRACT + "\nOne more rule.")
    assert tid(specs) != before


def test_a_broken_reference_is_a_new_control_trial(specs):
    before = tid(specs, "generator=reference")
    edit(specs / "wordfreq" / "reference" / "wordfreq.py", "\n", "\nraise SystemExit(3)\n")
    assert tid(specs, "generator=reference") != before


def test_new_files_in_an_imported_folder_are_a_new_trial(specs, tmp_path):
    folder = tmp_path / "impl"
    folder.mkdir()
    (folder / "wordfreq.py").write_text("print('v1')\n")
    before = tid(specs, "generator=import", f"generator.import_path={folder}")
    (folder / "helper.py").write_text("X = 1\n")
    assert tid(specs, "generator=import", f"generator.import_path={folder}") != before


@pytest.mark.parametrize("ignored", ["model.max_attempts=9", "model.timeout_s=5", "model.backoff_s=0.5",
                                     "model.api_key_env=OTHER_KEY", "sandbox.warm=false"])
def test_a_setting_the_trial_never_reads_keeps_its_id(specs, ignored):
    assert tid(specs, ignored) == tid(specs)


@pytest.mark.parametrize("other", ["generator.max_turns=99", "generator.gen0=import", "generator.task=other",
                                   "generator.depth=7", "generator.import_path=/tmp"])
def test_a_setting_of_another_generator_is_not_in_this_ones_config(specs, other):
    with pytest.raises(ConfigCompositionException) as refused:
        tid(specs, other)  # a one-shot trial: its config holds only what it reads
    assert other.split("=")[0] in str(refused.value)


CHAIN = ["spec=minimal-coding-agent", "generator=chain"]


@pytest.mark.parametrize("ignored", ["generator.max_turns=99", "generator.system_prompt=Be terse.",
                                     "generator.import_path=/tmp", "generator.command=[x]"])
def test_a_chains_generation_0_hashes_only_what_its_kind_reads(specs, ignored):
    from_reference = [*CHAIN, "generator.gen0=reference"]
    assert tid(specs, *from_reference, ignored) == tid(specs, *from_reference)


@pytest.mark.parametrize("read", ["generator.max_turns=99", "generator.system_prompt=Be terse.",
                                  "generator.task=do it", "generator.timeout_s=60"])
def test_what_a_chain_and_its_generation_0_read_makes_a_new_trial(specs, read):
    assert tid(specs, *CHAIN, "generator.gen0=agent", read) != tid(specs, *CHAIN, "generator.gen0=agent")


def test_a_deeper_chain_extends_a_shallower_one(specs):
    chain = ["spec=minimal-coding-agent", "generator=chain", "generator.gen0=reference"]
    assert tid(specs, *chain, "generator.depth=1") == tid(specs, *chain, "generator.depth=3")
    assert tid(specs, *chain, "generator.task=do it") != tid(specs, *chain)


def test_a_demo_trial_keeps_the_id_it_had_before_the_package_was_laid_out_by_stage():
    """Moving code must not move trials: an id that changes makes every recorded sweep run again. This id was
    computed by the code before the layout change (commit 44bf888); change it only with a change to what
    defines a trial, and say so in the commit."""
    cfg = config("spec=semver", "temperature=0.0", "seed=0", "sandbox=process")
    assert trial_id(**build_trials(cfg).setup.identity) == "2963d60e186f61fc"
