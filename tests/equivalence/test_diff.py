"""Differential runs against real rooms: the reference against itself, and seeded mutants against the reference.

The issue's acceptance, kept small: the reference is equivalent to itself over the whole battery; a mutant the
suite kills is never called equivalent; a mutant the suite misses is either shown diverging or called
equivalent with the scenarios tried. Every implementation runs in the sandbox, never in this process.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config.schema import SandboxConfig
from harness.equivalence.battery import build_battery, load_battery, suite_scenarios
from harness.equivalence.diff import compare, diff, record
from harness.errors import ConfigError
from harness.models.synthetic.model import reference_files
from harness.sandbox.backends import make_sandbox
from harness.scoring.killrate import all_mutants
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = make_sandbox(SandboxConfig())


def _spec(name):
    return load_spec(ROOT / "specs", name)


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def _mutants(spec, count, seed):
    files = reference_files(spec.root)
    chosen = random.Random(seed).sample(all_mutants(files), count)
    return files, chosen


@pytest.mark.parametrize("name, count, seed", [("semver", 4, 16), ("wordfreq", 4, 16)])
def test_mutants_the_suite_kills_are_never_equivalent(tmp_path, name, count, seed):
    spec = _spec(name)
    battery = build_battery(spec, seed=0, per_template=12)
    reference = record(spec, spec.reference_dir, battery, SANDBOX)
    assert reference.complete, reference.detail
    assert compare(reference, record(spec, spec.reference_dir, battery, SANDBOX)).equivalent
    files, chosen = _mutants(spec, count, seed)
    for number, mutant in enumerate(chosen):
        impl = _write(tmp_path / f"m{number}", {**files, mutant.path: mutant.source})
        verdict = compare(reference, record(spec, impl, battery, SANDBOX))
        if not score(spec, impl, SANDBOX, fail_fast=True).passed:
            assert not verdict.equivalent, f"{mutant.label}: killed by the suite, yet called equivalent"
        lines = verdict.lines()
        if verdict.equivalent:
            assert lines == [f"equivalent over {len(battery.scenarios)} scenarios"]
        else:  # the divergence is shown: scenario, step and both sides
            assert [line.split(":")[0] for line in lines[-4:]] == ["scenario", "step", "A", "B"], lines


def test_a_divergence_names_the_scenario_the_step_and_both_sides_and_replays_alone(tmp_path):
    spec = _spec("semver")
    source = (spec.reference_dir / "semver.py").read_text()
    assert "return -1 if len(a) < len(b) else 1" in source
    impl = _write(tmp_path, {"semver.py": source.replace("return -1 if len(a) < len(b) else 1",
                                                         "return 1 if len(a) < len(b) else -1")})
    battery = build_battery(spec, seed=0, per_template=3)
    verdict = diff(spec, spec.reference_dir, impl, SANDBOX, battery)
    assert not verdict.equivalent and verdict.difference.left != verdict.difference.right
    assert verdict.lines()[-4:] == [f"scenario: {verdict.scenario}", f"step:     {verdict.difference.step}",
                                    f"A: {verdict.difference.left}", f"B: {verdict.difference.right}"]
    alone = dataclasses.replace(battery, scenarios=tuple(s for s in battery.scenarios
                                                         if s["name"] == verdict.scenario))
    again = diff(spec, spec.reference_dir, impl, SANDBOX, alone)
    assert (again.scenario, again.difference) == (verdict.scenario, verdict.difference)


def test_the_battery_is_seeded_and_replays_from_its_file(tmp_path):
    spec = _spec("wordfreq")
    first, again = build_battery(spec, seed=5, per_template=8), build_battery(spec, seed=5, per_template=8)
    assert first.scenarios == again.scenarios
    assert build_battery(spec, seed=6, per_template=8).scenarios != first.scenarios
    # and in another process, with other modules loaded and another hash seed: the battery is a function of
    # spec, seed and size alone
    script = ("import sys; from pathlib import Path; from harness.equivalence.battery import build_battery; from harness.specs.loading "
              "import load_spec; print(build_battery(load_spec(Path('specs'), 'wordfreq'), 5, 8).to_json())")
    for hash_seed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert proc.stdout.strip() == first.to_json(), proc.stderr[-2000:]
    saved = tmp_path / "battery.json"
    saved.write_text(first.to_json())
    assert load_battery(saved, spec).scenarios == first.scenarios


def test_the_agent_battery_reads_every_scenario_the_suite_registers():
    # The battery finds the suite's scenarios by reading its files (the harness never imports a suite); here the
    # suite is imported, in a process of its own, and registers the same names, the waiting ones included.
    suite = _spec("minimal-coding-agent").suite_dir
    script = ("import sys, importlib; from pathlib import Path; found = []\n"
              "for path in sorted(Path(sys.argv[1]).glob('test_*.py')):\n"
              "    found += list(importlib.import_module(path.stem).SCENARIOS)\n"
              "print(' '.join(found))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(suite), str(ROOT / "harness" / "inside")])}
    proc = subprocess.run([sys.executable, "-c", script, str(suite)], capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    registered = proc.stdout.split()
    assert "exhausted" in registered and "shell" in registered  # two that wait
    assert suite_scenarios(suite) == registered


def test_agent_reference_is_itself_and_a_killed_mutant_is_not(tmp_path):
    spec = _spec("minimal-coding-agent")
    full = build_battery(spec, seed=0, per_template=3)
    keep = {"suite: reads", "suite: shell", "suite: conversation", "generated 0.0", "generated 0.1"}
    battery = dataclasses.replace(full, scenarios=tuple(s for s in full.scenarios if s["name"] in keep))
    assert len(battery.scenarios) == len(keep)
    source = (spec.reference_dir / "agent.py").read_text()
    assert 'return "".join(lines[start - 1:end_line])' in source
    impl = _write(tmp_path, {"agent.py": source.replace('lines[start - 1:end_line]', 'lines[start:end_line]')})
    with_itself = diff(spec, spec.reference_dir, spec.reference_dir, SANDBOX, battery)
    assert with_itself.equivalent, with_itself.lines()
    mutant = diff(spec, spec.reference_dir, impl, SANDBOX, battery)
    assert not mutant.equivalent and mutant.scenario == "suite: reads", mutant.lines()
    assert mutant.difference.step == "runs[0].stderr"  # the [result] line of the first read differs


def test_harness_diff_refuses_a_folder_without_the_entry_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.equivalence.diff", str(tmp_path), str(tmp_path), "--spec", "semver"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2  # bad input, as for every console script (1 is the verdict "not equivalent")
    assert proc.stderr.strip().splitlines() == [f"harness-diff: error: {tmp_path} lacks semver.py: give a folder "
                                                "holding an implementation of semver"]


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"spec": "semver"}', '{"spec": "wordfreq"}'])
def test_a_file_that_is_no_saved_battery_is_one_named_error(tmp_path, content):
    saved = tmp_path / "battery.json"
    saved.write_text(content)
    with pytest.raises(ConfigError, match=r"battery\.json (is not a battery saved by --save-battery|is a battery of)"):
        load_battery(saved, load_spec(ROOT / "specs", "semver"))
