"""A config class per generator: each conf/generator/*.yaml composes onto its own dataclass, a chain holds its
generation 0's config, and a record's config types again (a replay) whatever generator made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.generators import GENERATOR_CONFIGS, ChainConfig, ExternalConfig, ImportConfig
from harness.config.schema import from_plain, to_plain, validate
from harness.errors import ConfigError
from tests.conftest import CONF_DIR
from tests.conftest import config as typed


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF_DIR / "generator").glob("*.yaml")))
def test_every_generator_file_composes_onto_its_own_class_and_types_again(name):
    cfg = typed(f"generator={name}")
    expected = ChainConfig if name == "chain" else GENERATOR_CONFIGS[cfg.generator.kind]
    assert type(cfg.generator) is expected
    assert from_plain(to_plain(cfg)) == cfg  # what a replay does with a record's config


def test_a_chain_reads_flat_on_the_command_line_and_holds_its_generation_0():
    cfg = typed("experiment=paper", "generator.gen0=import", "generator.import_path=/some/folder",
                "generator.max_turns=7", "generator.depth=2")
    assert cfg.generator.gen0 == ImportConfig(import_path="/some/folder") and cfg.generator.depth == 2
    external = typed("experiment=paper", "generator.gen0=external", "generator.timeout_s=60").generator
    assert external.gen0 == ExternalConfig(timeout_s=60.0) and external.timeout_s == 60.0
    with pytest.raises(ConfigError, match="generator.gen0=chain is not a generator kind"):
        typed("experiment=paper", "generator.gen0=chain")


def test_a_record_written_before_generators_had_their_own_config_types_again():
    union = {"kind": "oneshot", "system_prompt": "p", "task": "t", "import_path": None, "import_url": None,
             "import_sha256": None, "max_turns": 30, "max_total_tokens": 400000, "command": [], "env": {},
             "pass_env": [], "timeout_s": 900.0, "gen0": "agent", "depth": 1}
    plain = to_plain(typed())
    old = from_plain({**plain, "generator": union})
    assert old.generator == GENERATOR_CONFIGS["oneshot"](system_prompt="p")
    chain = from_plain({**plain, "generator": {**union, "kind": "chain", "gen0": "import", "import_path": "/f"}})
    assert chain.generator == ChainConfig(gen0=ImportConfig(import_path="/f"), task="t")


def test_a_range_is_checked_on_a_chains_generation_0_by_its_command_line_name(tmp_path):
    cfg = typed(f"runs_dir={tmp_path}", "experiment=paper", "generator.max_turns=0")
    with pytest.raises(ConfigError, match=r"generator.max_turns=0 is out of range"):
        validate(cfg)
    validate(typed(f"runs_dir={tmp_path}", "generator=reference"))  # no max_turns to check: nothing to say
    assert Path(tmp_path).is_dir() and not any(Path(tmp_path).iterdir())
