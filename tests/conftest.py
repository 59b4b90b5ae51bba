"""Shared fixtures: a real synthetic sweep, run once per test session through the `harness` command, and the
front door in-process (`config`, `sweep`) for every test that is not about the command line itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from harness.config.schema import PROJECT_ROOT, HarnessConfig, LaunchConfig, register_configs, to_typed
from harness.scoring.rooms import score
from harness.seams import Score
from harness.specs.loading import Spec
from harness.sweep.plan import unique
from harness.sweep.pool import run_batch
from harness.sweep.preflight import preflight
from harness.trial.run import TrialOutcome

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"
PLANTED_KEY = "sk-planted-9f8e7d6c5b4a39281706"  # must never appear in anything a sweep writes
register_configs()  # the schemas conf/config.yaml starts from (the `harness` command registers them at import)


def config(*overrides: str) -> HarnessConfig:
    """One job's typed config, composed in-process as the command composes it: no Python start-up per job."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return to_typed(compose("config", overrides=list(overrides)))


def sweep(*overrides: str, concurrency: int = 4) -> list[TrialOutcome]:
    """Run a sweep in this process as the command runs it, without a Python start-up: planned by the command's
    own preflight (harness/sweep/plan.py), every trial of it once (recorded ones are skipped) run through the front door by
    the command's pool (harness/sweep/pool.py). The caller rebuilds the tables (`tables.build_tables`) or prints the
    summary (`summary.end_of_sweep`) if it reads them. A test that is about the command line uses run_harness."""
    planned = unique(preflight(list(overrides)).planned)
    return run_batch(planned, LaunchConfig(concurrency=concurrency))


def run_harness(*overrides: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the `harness` console entry point in a subprocess, as a user would: only for tests of the command line
    itself (arguments, exit codes, one-line errors, what it prints, signals); the rest use `config`/`sweep`."""
    return subprocess.run(
        [sys.executable, "-c", "from harness.run.app import main; main()", *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


# The tests that read a run of score_once carry this mark: under `pytest -n` (pytest-xdist, --dist loadgroup) they
# all go to one worker, which scores each (spec, implementation, backend) once for all of them.
SHARED_SCORES = pytest.mark.xdist_group("shared-scores")
_scores: dict[tuple, Score] = {}


def score_once(spec: Spec, impl: Path, backend: type, warm: bool = True) -> Score:
    """`score(spec, impl, backend(warm=warm))`, run once per test process and shared by the tests that only read
    its outcomes: the agent's suite takes half a minute a run under load, and test_scoring (every reference
    passes), test_warm (warm and cold agree) and test_cleanroom (a clean-room agent passes) each scored the same
    references and agents. The result is immutable (a frozen Score)."""
    key = (spec.root, spec.suite_sha256, spec.text_name, spec.judged_by, Path(impl), backend.name, warm)
    if key not in _scores:
        _scores[key] = score(spec, impl, backend(warm=warm))
    return _scores[key]


@pytest.fixture(scope="session")
def demo_sweep(tmp_path_factory) -> Path:
    """The demo experiment run once into a temporary runs dir; returns runs/<experiment>."""
    runs = tmp_path_factory.mktemp("runs")
    proc = run_harness(f"runs_dir={runs}", env={"OPENAI_API_KEY": PLANTED_KEY})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return runs / "demo"


@pytest.fixture(scope="session")
def demo_results(demo_sweep) -> pd.DataFrame:
    return pd.read_parquet(demo_sweep / "results.parquet")


TINY_SUITE = '''
import harness_room

adder = harness_room.import_module("adder")  # runs in the implementation's room, imported at first use

def test_small():
    assert adder.add(2, 3) == 5

def test_negative():
    assert adder.add(-2, 1) == -1

def test_zero():
    assert adder.add(0, 0) == 0
'''


def make_spec(root: Path, name: str = "adder", reference: str = "def add(a, b):\n    return a + b\n",
              suite: str = TINY_SUITE, time_limit_s: float = 20) -> Path:
    """Write a tiny but complete spec folder; tests use it where a real spec would only be slower."""
    folder = root / name
    (folder / "suite").mkdir(parents=True)
    (folder / "reference").mkdir()
    (folder / "spec.md").write_text(f"# {name}\n\nWrite adder.py with add(a, b) returning the sum of two ints.\n")
    (folder / "manifest.yaml").write_text(
        f"name: {name}\ntitle: Tiny adder\nentry_files: [adder.py]\ntime_limit_s: {time_limit_s}\n")
    (folder / "suite" / "test_adder.py").write_text(suite)
    (folder / "reference" / "adder.py").write_text(reference)
    return folder


def run_markers(tmp_path: Path, name: str) -> list[Path]:
    """Files named `name` that suites left in their runs' shared dirs: under tmp_path (process backend) or in
    this process's bwrap warm roots (never another pytest-xdist worker's). The scorer removes a run's folders
    in another thread while this walks them, so a walk that meets a vanished folder is taken again."""
    roots = f"harness-warm-root-{os.getpid()}-*/*/*/*/*/{name}"
    while True:
        try:
            return [*tmp_path.rglob(name), *Path("/tmp").glob(roots)]
        except FileNotFoundError:
            continue


def deep(folder: Path, text: str = "", levels: int = 1100) -> None:
    """A folder `levels` deep, holding a file with `text` at the bottom; made one level at a time, as an agent
    would (Path.mkdir(parents=True) recurses)."""
    here = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=here)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=here)
            os.close(here)
            here = below
        fd = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, dir_fd=here)
        os.write(fd, text.encode())
        os.close(fd)
    finally:
        os.close(here)


@pytest.fixture
def deep_ok(tmp_path) -> Path:
    """tmp_path, for a test that leaves a folder deeper than Python's recursion limit: pytest's own clean-up of
    old temp dirs (shutil.rmtree) would crash on it in a later session, so `rm -rf` removes it at teardown."""
    yield tmp_path
    subprocess.run(["rm", "-rf", str(tmp_path)], check=False)


@pytest.fixture
def tiny_specs(tmp_path) -> Path:
    """A specs dir holding one tiny spec, `adder`."""
    make_spec(tmp_path / "specs")
    return tmp_path / "specs"
