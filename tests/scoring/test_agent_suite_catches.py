"""The minimal-coding-agent suite must reject broken agents, and name the clause each one breaks.

Each variant is the reference implementation with one textual patch. It is scored by the real scorer, in the
sandbox, on a copy of the spec whose suite keeps only the modules that concern the variant (to keep this module
fast), once judged by every test (`spec.text=ours`) and once by the paper clauses only (`spec.text=upstream`). The
failing tests must be exactly those of the clauses the patch breaks.
"""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from harness.config.schema import SandboxConfig
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.seams import ScoreStatus
from harness.specs.loading import load_spec
from tests.conftest import ROOT

SPEC = "minimal-coding-agent"
REFERENCE = ROOT / "specs" / SPEC / "reference" / "agent.py"

# name -> (patches [(old, new)], suite modules kept, clauses broken: {clause: stated by the paper?})
VARIANTS = {
    "max_turns_default_100": (
        [('parser.add_argument("--max-turns", type=int, default=20)',
          'parser.add_argument("--max-turns", type=int, default=100)')],
        ["test_loop.py"], {"cli.max_turns.default": True, "cli.max_turns.warning": False}),
    "run_shell_wrong_json_shape": (
        [('{"stdout": cap_stream(out.decode', '{"output": cap_stream(out.decode'),
         ('"exit_code": proc.returncode', '"returncode": proc.returncode')],
        ["test_shell.py"], None),  # nearly every run_shell clause reads the JSON: checked below
    "no_output_caps": (
        [("    if len(text) <= STREAM_CAP:\n        return text\n",
          "    if True:  # caps removed\n        return text\n")],
        ["test_shell.py"], {"tools.run_shell.cap": True, "tools.run_shell.cap_notice": False}),
    "prints_api_key": (
        [("    redact = Redactor(options.api_key)\n",
          "    redact = Redactor(options.api_key)\n"
          "    print(f\"[debug] using API key {options.api_key}\", file=sys.stderr)\n")],
        ["test_cli.py", "test_secrets.py"], {"secrets.never_logged": True, "secrets.redacted": False}),
}


def variant_spec(tmp_path, modules):
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / SPEC, specs / SPEC, ignore=shutil.ignore_patterns("__pycache__"))
    for test_module in (specs / SPEC / "suite").glob("test_*.py"):
        if test_module.name not in modules:
            test_module.unlink()
    return load_spec(specs, SPEC)


def patched_copy(tmp_path, patches):
    source = REFERENCE.read_text()
    for old, new in patches:
        assert source.count(old) == 1, f"patch does not apply: {old!r}"
        source = source.replace(old, new)
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "agent.py").write_text(source)
    return impl


def failing_clauses(spec, impl, judged_by=()):
    result = score(dataclasses.replace(spec, judged_by=judged_by), impl, make_sandbox(SandboxConfig()))
    assert result.status is ScoreStatus.scored, result.detail
    assert all(t.clause for t in result.tests)
    return {t.clause for t in result.tests if not t.ok}


@pytest.mark.parametrize("variant", VARIANTS)
def test_suite_rejects_broken_variant_and_names_its_clauses(tmp_path, variant):
    patches, modules, broken = VARIANTS[variant]
    spec, impl = variant_spec(tmp_path, modules), patched_copy(tmp_path, patches)
    under_ours, under_paper = failing_clauses(spec, impl), failing_clauses(spec, impl, ("paper",))
    if broken is None:  # the result's shape: every clause that reads it fails, and nothing outside run_shell
        assert "tools.run_shell.result" in under_ours and all(c.startswith("tools.run_shell.") for c in under_ours)
        assert "tools.run_shell.result" in under_paper
        return
    assert under_ours == set(broken)
    assert under_paper == {clause for clause, in_paper in broken.items() if in_paper}
