"""Clause tags and text selection: every test of the agent suite names its clause, and texts select tests by tag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.config.schema import SandboxConfig
from harness.sandbox.backends import make_sandbox
from harness.scoring import rooms
from harness.scoring.expected import collect
from harness.specs.clauses import clauses, table
from harness.specs.loading import load_spec
from tests.conftest import ROOT

SPEC_DIR = ROOT / "specs" / "minimal-coding-agent"


@pytest.fixture(scope="module")
def collected() -> list[dict]:
    return collect(load_spec(ROOT / "specs", "minimal-coding-agent"))


def test_every_test_names_a_described_clause_and_its_texts(collected):
    assert len(collected) > 100
    for test in collected:
        assert re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", test["clause"]), test["id"]
        assert test["texts"] in (["paper", "ours"], ["ours"]), test["id"]  # ours restates every paper clause
        assert test["what"].strip(), test["id"]


def test_a_clause_keeps_one_set_of_texts(collected):
    texts = {}
    for test in collected:
        assert texts.setdefault(test["clause"], test["texts"]) == test["texts"], test["clause"]


def test_the_spec_readme_holds_the_current_clause_table(collected):
    readme = (SPEC_DIR / "README.md").read_text(encoding="utf-8")
    assert table(clauses(collected)) in readme, "regenerate it: harness-clauses minimal-coding-agent"


def test_texts_select_tests_by_clause_tag(collected):
    ours = load_spec(ROOT / "specs", "minimal-coding-agent")
    assert (ours.text_name, ours.judged_by, ours.selection) == ("ours", (), "all")
    paper = [t for t in collected if "paper" in t["texts"]]
    assert 0 < len(paper) < len(collected)


def test_specs_with_one_text_are_judged_by_every_test():
    for name in ("semver", "wordfreq"):
        spec = load_spec(ROOT / "specs", name)
        assert spec.selection == "all"


@pytest.mark.parametrize("texts, message", [
    ("texts:\n  draft: {judged_by: all}\n", "may be 'ours' and 'upstream' only"),
    ("texts:\n  upstream: {url: http://x/y, judged_by: [paper]}\n", "needs url and sha256"),
    ("texts:\n  upstream: {url: http://x/y, sha256: ab, judged_by: paper}\n", "must be 'all' or a list"),
    ("texts:\n  ours: {file: other.md}\n", "takes only judged_by"),
])
def test_a_bad_texts_entry_is_a_clear_error(tmp_path, texts, message):
    from harness.errors import SpecError
    from tests.conftest import make_spec

    folder = make_spec(tmp_path)
    with (folder / "manifest.yaml").open("a") as manifest:
        manifest.write(texts)
    with pytest.raises(SpecError, match=message):
        load_spec(Path(tmp_path), "adder")


SHIPPED = sorted(p.name for p in (ROOT / "specs").iterdir() if (p / "manifest.yaml").is_file())


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "minimal-coding-agent"])  # its own tests are above
def test_every_shipped_suite_collects_as_many_tests_as_its_reference_passes(name):
    """harness-clauses collects every suite, those that import the implementation when collected included (their
    import reaches the reference through the room, as when scored): as many tests as the reference is scored on."""
    spec = load_spec(ROOT / "specs", name)
    listed = collect(spec)
    score = rooms.score(spec, spec.reference_dir, make_sandbox(SandboxConfig()))
    assert score.passed and len(listed) == len(score.tests)
