"""Which tables a notebook reads, and what it says when one is missing.

`harness-report` hands each notebook the experiment's tables (HARNESS_RESULTS, HARNESS_TESTS, ...). Opened by
hand, a notebook reads the experiment HARNESS_EXPERIMENT names, else the one under runs/ whose results table was
written last, so every notebook opens the same experiment and says which. A missing table stops the notebook
with one line naming the command that writes it, not a pyarrow traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from harness.config.schema import PROJECT_ROOT

RUNS = PROJECT_ROOT / "runs"
# Table file -> the command that writes it, for the one-line message when it is missing.
WRITERS = {"results.parquet": "harness (any sweep) or harness-tables {dir}",
           "tests.parquet": "harness-tables {dir}",
           "equivalence.parquet": "harness-equivalence {dir}",
           "similarity.parquet": "harness-equivalence {dir}"}


class NothingToShow(Exception):
    """A notebook cannot go on (a table is missing, or holds nothing this notebook shows). Jupyter prints only
    the message (`_render_traceback_`) and "Run all" stops there."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def experiment_dir(runs: Path = RUNS) -> Path:
    """HARNESS_EXPERIMENT (a folder, or an experiment's name under `runs`), else the experiment under `runs`
    whose results.parquet is newest, else runs/demo (the demo sweep's, before any sweep ran)."""
    named = os.environ.get("HARNESS_EXPERIMENT", "").strip()
    if named:
        return Path(named) if Path(named).is_dir() else runs / named
    written = sorted(runs.glob("*/results.parquet"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
    return written[-1].parent if written else runs / "demo"


def table_path(variable: str, name: str, runs: Path = RUNS) -> Path:
    """The table a notebook reads: the environment variable `variable` when set, else `name` in
    `experiment_dir(runs)`."""
    given = os.environ.get(variable, "").strip()
    return Path(given) if given else experiment_dir(runs) / name


def read_table(path: Path) -> pd.DataFrame:
    """The table at `path`; NothingToShow, naming the command that writes it, when there is none."""
    if not Path(path).is_file():
        writer = WRITERS.get(Path(path).name, "the sweep").format(dir=Path(path).parent)
        raise NothingToShow(f"No table at {path}: `{writer}` writes it. (Set HARNESS_EXPERIMENT=<name under "
                            "runs/> to read another experiment.)")
    return pd.read_parquet(path)


def missing(run_dir: Path, names: list[str]) -> list[str]:
    """One line per command that would write the tables of `names` that `run_dir` lacks, naming them."""
    by_writer: dict[str, list[str]] = {}
    for name in names:
        if not (Path(run_dir) / name).is_file():
            by_writer.setdefault(WRITERS.get(name, "the sweep").format(dir=run_dir), []).append(name)
    return [f"no {', '.join(tables)} in {run_dir}: `{writer}` writes {'them' if len(tables) > 1 else 'it'}"
            for writer, tables in by_writer.items()]
