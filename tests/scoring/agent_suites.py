"""Scoring a changed copy of the agent's reference under a suite of one module, written by the test."""
from __future__ import annotations

import shutil
from pathlib import Path

from harness.config.schema import SandboxConfig
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.seams import Score
from harness.specs.loading import load_spec
from tests.conftest import ROOT

SPEC = "minimal-coding-agent"
REFERENCE = ROOT / "specs" / SPEC / "reference" / "agent.py"


def score_under_suite(tmp_path: Path, suite: str, old: str, new: str, fail_fast: bool = False) -> Score:
    """The reference with `old` (found once) replaced by `new`, scored cold under a copy of the agent spec whose
    suite keeps its helpers (agentrun, the scripted server, clauses) and has `suite` as its only test module."""
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / SPEC, specs / SPEC, ignore=shutil.ignore_patterns("__pycache__"))
    for module in (specs / SPEC / "suite").glob("test_*.py"):
        module.unlink()
    (specs / SPEC / "suite" / "test_only.py").write_text(suite)
    source = REFERENCE.read_text()
    assert source.count(old) == 1
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "agent.py").write_text(source.replace(old, new))
    return score(load_spec(specs, SPEC), tmp_path / "impl", make_sandbox(SandboxConfig(warm=False)),
                 fail_fast=fail_fast)
