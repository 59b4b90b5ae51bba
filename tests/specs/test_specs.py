from __future__ import annotations

import shutil

import pytest

from harness.errors import SpecError
from harness.specs.loading import load_spec
from tests.conftest import ROOT, make_spec


def test_load_reads_manifest_and_hashes(tiny_specs):
    spec = load_spec(tiny_specs, "adder")
    assert spec.entry_files == ("adder.py",) and spec.time_limit_s == 20
    assert len(spec.spec_sha256) == 64 and len(spec.suite_sha256) == 64


def test_suite_hash_changes_with_any_suite_file(tiny_specs):
    before = load_spec(tiny_specs, "adder").suite_sha256
    (tiny_specs / "adder" / "suite" / "helper.py").write_text("X = 1\n")
    assert load_spec(tiny_specs, "adder").suite_sha256 != before


def test_pycache_does_not_change_the_suite_hash(tiny_specs):
    before = load_spec(tiny_specs, "adder").suite_sha256
    (tiny_specs / "adder" / "suite" / "__pycache__").mkdir()
    (tiny_specs / "adder" / "suite" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert load_spec(tiny_specs, "adder").suite_sha256 == before


def test_unknown_spec_lists_the_available_ones(tiny_specs):
    with pytest.raises(SpecError, match=r"unknown spec 'nope'.*available: adder"):
        load_spec(tiny_specs, "nope")


@pytest.mark.parametrize("part", ["suite", "reference", "spec.md", "manifest.yaml"])
def test_missing_part_is_named(tiny_specs, part):
    target = tiny_specs / "adder" / part
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(SpecError, match=part):
        load_spec(tiny_specs, "adder")


def test_manifest_name_must_match_folder(tmp_path):
    folder = make_spec(tmp_path, "adder")
    folder.rename(tmp_path / "other")
    with pytest.raises(SpecError, match="differs from the folder name"):
        load_spec(tmp_path, "other")


@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "specs").glob("*/manifest.yaml")))
def test_shipped_specs_are_valid(name):
    spec = load_spec(ROOT / "specs", name)
    assert spec.text.strip() and spec.entry_files

