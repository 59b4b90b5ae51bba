"""The ladder's page: which spec texts are measured, the figure's axes, and the notebook on a real sweep."""

from __future__ import annotations

import shutil

import matplotlib
import pandas as pd
import pytest

from harness.analysis.ladder import ladder_table, spec_sizes
from harness.records.tables import build_tables
from harness.report.ladder import ladder_figure, size_ticks, spec_texts, suite_sizes
from harness.report.notebooks import default_notebooks, errors, execute, figures
from harness.specs.loading import sha256_text
from tests.conftest import ROOT, sweep

matplotlib.use("Agg")


def test_only_texts_the_trials_were_given_are_measured(tmp_path):
    for name in ("same", "edited", "upstream"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "spec.md").write_text(f"# {name}\n\nnow\n")
    results = pd.DataFrame({
        "spec": ["same", "edited", "upstream", "gone"], "spec_text": ["ours", "ours", "upstream", "ours"],
        "spec_sha256": [sha256_text("# same\n\nnow\n"), sha256_text("# edited\n\nthen\n"), "x", "y"]})
    texts, notes = spec_texts(results, tmp_path)
    assert texts == {"same": "# same\n\nnow\n"}
    assert len(notes) == 3 and all(any(n.startswith(s) for n in notes) for s in ("edited", "upstream", "gone"))


def test_close_rungs_share_a_tick_and_far_ones_do_not():
    table = pd.DataFrame({"spec": ["semver", "wordfreq", "fizzbuzz", "semver"], "words": [837, 840, 100, 837]})
    (first, one), (second, both) = size_ticks(table, "words")
    assert (first, one) == (pytest.approx(100.0), "fizzbuzz\n100")
    assert (second, both) == (pytest.approx((837 * 840) ** 0.5), "semver\n837\nwordfreq\n840")


@pytest.fixture(scope="module")
def ladder_sweep(tmp_path_factory):
    """Three rungs on the synthetic model, two seeds each, at two temperatures: runs/ladder."""
    runs = tmp_path_factory.mktemp("runs")
    sweep(f"runs_dir={runs}", "experiment=ladder", "spec=fizzbuzz,stack,wc", "temperature=0.0,1.0", "seed=0,1")
    build_tables(runs / "ladder")
    return runs / "ladder"


def test_the_figure_has_a_panel_per_size_and_a_point_per_rung(ladder_sweep):
    results = pd.read_parquet(ladder_sweep / "results.parquet")
    texts, notes = spec_texts(results, ROOT / "specs")
    assert sorted(texts) == ["fizzbuzz", "stack", "wc"] and notes == []
    table = ladder_table(results, spec_sizes(texts, results, pd.read_parquet(ladder_sweep / "tests.parquet")))
    assert list(table["spec"]) == ["fizzbuzz", "stack", "wc"] and list(table["n"]) == [4, 4, 4]
    fig = ladder_figure(table, "ladder")
    words, clauses = fig.axes[:2]
    assert "words" in words.get_xlabel() and "clauses" in clauses.get_xlabel()
    assert [t.get_text().split("\n")[0] for t in words.get_xticklabels()] == ["fizzbuzz", "stack", "wc"]
    points = words.lines[0].get_xydata()  # the share passing every test, one point per rung
    assert len(points) == 3 and list(points[:, 1]) == pytest.approx(list(table["passed_all"]))


def test_harness_report_runs_the_ladder_notebook_for_three_specs_or_more(ladder_sweep, tmp_path):
    results = pd.read_parquet(ladder_sweep / "results.parquet")
    assert default_notebooks(results)[-1] == "ladder"
    assert "ladder" not in default_notebooks(results[results["spec"] != "wc"])
    nb = execute("ladder", ladder_sweep / "results.parquet", ladder_sweep / "tests.parquet", timeout=300)
    assert errors(nb) == [] and len(figures(nb)) == 1
    shown = "".join(out.get("data", {}).get("text/html", "") + out.get("text", "")
                    for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert all(spec in shown for spec in ("fizzbuzz", "stack", "wc")) and "left out" not in shown
    edited = tmp_path / "specs"  # a spec.md edited since its trials ran is left out, and said so
    shutil.copytree(ROOT / "specs" / "wc", edited / "wc")
    (edited / "wc" / "spec.md").write_text("# wc\n\nshorter now\n")
    texts, notes = spec_texts(results, edited)
    assert texts == {} and any("wc" in n and "sha256" in n for n in notes)


def test_sizes_are_the_suites_own_even_when_every_trial_failed_to_import(ladder_sweep, tmp_path):
    """A real model's code that does not import fails each test file at collection (a trial of semver on SmolLM2
    'ran' 4 tests): the suite's collected tests and clauses are its size, not the most any trial ran."""
    results = pd.read_parquet(ladder_sweep / "results.parquet")
    crashed = results.assign(tests_total=1)  # every trial: one collection error
    suites, notes = suite_sizes(crashed, ["fizzbuzz", "stack", "wc"], ROOT / "specs")
    assert notes == [] and suites == {"fizzbuzz": (23, 23), "stack": (19, 19), "wc": (61, 61)}
    texts, _ = spec_texts(results, ROOT / "specs")
    assert spec_sizes(texts, crashed, None, suites)["tests"].to_dict() == {"fizzbuzz": 23, "stack": 19, "wc": 61}
    edited = tmp_path / "specs"  # a suite changed since the trials ran is no size of theirs: said, and not used
    shutil.copytree(ROOT / "specs" / "wc", edited / "wc")
    (edited / "wc" / "suite" / "test_extra.py").write_text("def test_more():\n    pass\n")
    suites, notes = suite_sizes(crashed, ["wc"], edited)
    assert suites == {} and len(notes) == 1 and notes[0].startswith("wc: its suite")
