"""The minimal-coding-agent suite must reject broken agents.

Each variant is the reference implementation with one textual patch. The suite is copied to a fresh directory
and run in a subprocess, the way the scorer runs it, on the patched copy; pytest must report failing tests
(exit status 1), not pass and not break for another reason. Variants run only the suite files that concern
them, to keep this module fast.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SPEC_DIR = Path(__file__).resolve().parents[1] / "specs" / "minimal-coding-agent"
REFERENCE = SPEC_DIR / "reference" / "agent.py"

# name -> ([(old text, new text), ...], suite selection: a file, or file::test)
VARIANTS = {
    "max_turns_default_100": (
        [('parser.add_argument("--max-turns", type=int, default=20)',
          'parser.add_argument("--max-turns", type=int, default=100)')],
        ["test_loop.py::test_max_turns_defaults_to_20"]),
    "run_shell_wrong_json_shape": (
        [('{"stdout": cap_stream(out.decode', '{"output": cap_stream(out.decode'),
         ('"exit_code": proc.returncode', '"returncode": proc.returncode')],
        ["test_shell.py"]),
    "no_output_caps": (
        [("    if len(text) <= STREAM_CAP:\n        return text\n",
          "    if True:  # caps removed\n        return text\n")],
        ["test_shell.py"]),
    "prints_api_key": (
        [("    redact = Redactor(options.api_key)\n",
          "    redact = Redactor(options.api_key)\n"
          "    print(f\"[debug] using API key {options.api_key}\", file=sys.stderr)\n")],
        ["test_secrets.py"]),
}


def patched_copy(tmp_path, patches):
    source = REFERENCE.read_text()
    for old, new in patches:
        assert source.count(old) == 1, f"patch does not apply: {old!r}"
        source = source.replace(old, new)
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "agent.py").write_text(source)
    return impl


def run_suite(tmp_path, impl, selection):
    suite = tmp_path / "suite"
    shutil.copytree(SPEC_DIR / "suite", suite, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_IMPL_DIR": str(impl),
           "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *selection]
    return subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("variant", VARIANTS)
def test_suite_rejects_broken_variant(tmp_path, variant):
    patches, selection = VARIANTS[variant]
    result = run_suite(tmp_path, patched_copy(tmp_path, patches), selection)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert " failed" in result.stdout


def test_suite_passes_unmodified_reference(tmp_path):
    result = run_suite(tmp_path, patched_copy(tmp_path, []), [])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
