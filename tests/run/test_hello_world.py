"""The hello world, the page a newcomer reads first: it stays short, wires no config system, and runs one real
trial (the synthetic model through its gateway, the hidden suite in the sandbox) to a record on disk."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from harness.run import hello_world
from tests.conftest import ROOT

SOURCE = ROOT / "harness" / "run" / "hello_world.py"


def test_it_is_short_and_wires_no_config_system():
    lines = SOURCE.read_text().splitlines()
    assert len(lines) <= 50, f"hello_world.py is {len(lines)} lines: a newcomer's first page stays under 50"
    imported = {node.module.split(".")[0] for node in ast.walk(ast.parse(SOURCE.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"hydra", "omegaconf"}


def test_it_runs_one_trial_to_a_record_on_disk(tmp_path):
    record = hello_world.main(tmp_path)
    assert record["status"] == "scored" and record["spec"] == "semver" and record["model"] == "synthetic"
    assert record["tests_total"] > 0 and record["model_calls"] == 1 and record["ground_truth"]
    on_disk = json.loads((tmp_path / "hello" / "trials" / f"{record['trial_id']}.json").read_text())
    assert on_disk["tests_passed"] == record["tests_passed"]
    assert (tmp_path / "hello" / "trials" / record["trial_id"] / "transcript.jsonl").stat().st_size > 0


def test_it_runs_as_the_readme_says(tmp_path):
    out = subprocess.run([sys.executable, "-m", "harness.run.hello_world", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["status"] == "scored"
