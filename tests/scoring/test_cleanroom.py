"""Clean-room implementations of the minimal coding agent, scored through the harness.

Both fixtures were written by authors who saw nothing of this project but one text and the paper's prompt,
"implement the spec in a single python file": `paper/agent.py` from the paper's own spec, `ours/agent.py` from
our restatement (specs/minimal-coding-agent/spec.md). They keep the suite honest: an implementation of the paper's
text must pass every test of a paper clause, except for real deviations from that text, listed here and in the
spec's README with a one-line why. A failure that is not listed is a wrong test or a new deviation: read it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.config.schema import SandboxConfig
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from harness.specs.pins import Pin, cached_path
from harness.sweep.end import end_of_sweep
from harness.trial.front_door import run_trials
from tests.conftest import ROOT, SHARED_SCORES, config, score_once

FIXTURES = ROOT / "tests" / "fixtures" / "cleanroom"
SPEC = "minimal-coding-agent"
# test id -> why the paper-text implementation really deviates from the paper's text there. None today.
PAPER_TEXT_DEVIATIONS: dict[str, str] = {}
# test id -> why the ours-text implementation really deviates from our spec.md there. None today.
OURS_TEXT_DEVIATIONS: dict[str, str] = {}
STAND_IN = b"# Minimal coding agent\n\n(A stand-in for the paper's text: only the selection of tests matters here.)\n"


def offline_upstream(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the spec whose upstream pin names a stand-in text, already in a download cache: no network."""
    specs, downloads = tmp_path / "specs", tmp_path / "downloads"
    shutil.copytree(ROOT / "specs" / SPEC, specs / SPEC, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = specs / SPEC / "manifest.yaml"
    pinned = hashlib.sha256(STAND_IN).hexdigest()
    text = manifest.read_text()
    real = text.split("sha256: ")[1].split()[0]
    manifest.write_text(text.replace(real, pinned))
    cached = cached_path(Pin("http://127.0.0.1:9/unused", pinned), downloads)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(STAND_IN)
    return specs, downloads


def test_the_paper_text_implementation_passes_every_paper_clause(tmp_path, capsys):
    """Through the front door, as a job of the command: imported, judged by the paper clauses only, recorded with
    its clauses, and the summary printed at the sweep's end names the text."""
    specs, downloads = offline_upstream(tmp_path)
    run_trials(config(f"specs_dir={specs}", f"downloads_dir={downloads}", f"runs_dir={tmp_path / 'runs'}",
                   f"spec={SPEC}", "spec.text=upstream", "generator=import", "experiment.name=cleanroom",
                   f"generator.import_path={FIXTURES / 'paper'}"))
    capsys.readouterr()
    end_of_sweep(tmp_path / "runs" / "cleanroom")  # the tables and the summary, as the command ends a sweep
    printed = capsys.readouterr().out
    row = pd.read_parquet(tmp_path / "runs" / "cleanroom" / "results.parquet").iloc[0]
    assert (row["status"], row["spec_text"], row["selection"]) == ("scored", "upstream", "paper"), row["detail"]
    tests = pd.read_parquet(tmp_path / "runs" / "cleanroom" / "tests.parquet")
    assert len(tests) == row["tests_total"] and tests["clause"].str.len().gt(0).all()
    failed = set(tests.loc[tests["outcome"] != "passed", "test_id"])
    assert failed == set(PAPER_TEXT_DEVIATIONS), tests.loc[tests["outcome"] != "passed", ["test_id", "clause"]]
    assert "upstream/paper" in printed  # the summary names the text and the tests that judged it


@SHARED_SCORES  # the warm run test_warm.py compares with a cold one
def test_the_ours_text_implementation_passes_our_suite():
    spec = load_spec(ROOT / "specs", SPEC)
    result = score_once(spec, FIXTURES / "ours", type(make_sandbox(SandboxConfig())))
    assert result.status is ScoreStatus.scored, result.detail
    failed = {t.test_id: t.message for t in result.tests if not t.ok}
    assert set(failed) == set(OURS_TEXT_DEVIATIONS), failed
    assert result.count(TestOutcome.passed) >= 0.95 * len(result.tests)


# The ladder's rungs (experiment=ladder), each implemented by an author who read only that spec's text.
LADDER = ("add", "fizzbuzz", "stack", "wc")


@pytest.mark.parametrize("name", LADDER)
def test_a_clean_room_implementation_of_each_ladder_rung_passes_its_suite(name):
    """A suite that failed an implementation written from the text alone would be judging something the text
    does not say. None of the four does (docs/paper.md)."""
    spec = load_spec(ROOT / "specs", name)
    result = score(spec, FIXTURES / "ladder" / name, make_sandbox(SandboxConfig()))
    assert result.status is ScoreStatus.scored, result.detail
    assert result.tests and not [t.test_id for t in result.tests if not t.ok]
