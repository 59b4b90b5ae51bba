"""harness.report.sources: which experiment a notebook opened by hand reads, and the line a missing table gets."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from harness.report.sources import NothingToShow, experiment_dir, missing, read_table, table_path


def experiment(runs, name: str) -> None:
    (runs / name).mkdir(parents=True)
    pd.DataFrame({"trial_id": [name]}).to_parquet(runs / name / "results.parquet")


def test_a_notebook_reads_the_named_experiment_else_the_newest(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_EXPERIMENT", raising=False)
    monkeypatch.delenv("HARNESS_RESULTS", raising=False)
    assert experiment_dir(tmp_path) == tmp_path / "demo"  # nothing run yet: the demo's folder
    experiment(tmp_path, "paper")
    experiment(tmp_path, "demo")
    past = time.time() - 60
    os.utime(tmp_path / "demo" / "results.parquet", (past, past))
    assert experiment_dir(tmp_path) == tmp_path / "paper"  # written last, whatever its name
    assert table_path("HARNESS_RESULTS", "results.parquet", tmp_path) == tmp_path / "paper" / "results.parquet"
    monkeypatch.setenv("HARNESS_EXPERIMENT", "demo")
    assert table_path("HARNESS_TESTS", "tests.parquet", tmp_path) == tmp_path / "demo" / "tests.parquet"
    monkeypatch.setenv("HARNESS_EXPERIMENT", str(tmp_path / "paper"))  # a folder works too
    assert experiment_dir(tmp_path) == tmp_path / "paper"
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "x.parquet"))  # a table named outright wins
    assert table_path("HARNESS_RESULTS", "results.parquet", tmp_path) == tmp_path / "x.parquet"


def test_a_missing_table_is_one_line_naming_the_command_that_writes_it(tmp_path):
    experiment(tmp_path, "demo")
    assert read_table(tmp_path / "demo" / "results.parquet")["trial_id"].tolist() == ["demo"]
    with pytest.raises(NothingToShow) as raised:
        read_table(tmp_path / "demo" / "equivalence.parquet")
    assert f"`harness-equivalence {tmp_path / 'demo'}` writes it" in str(raised.value)
    assert raised.value._render_traceback_() == [str(raised.value)]  # what Jupyter prints: no traceback
    assert missing(tmp_path / "demo", ["results.parquet", "equivalence.parquet", "similarity.parquet"]) == [
        f"no equivalence.parquet, similarity.parquet in {tmp_path / 'demo'}: `harness-equivalence "
        f"{tmp_path / 'demo'}` writes them"]
