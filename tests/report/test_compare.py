"""harness-compare: two experiments' headlines aligned, with the difference and its interval."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.records.tables import build_tables
from harness.report.compare import compare, compare_view, main, summary_lines
from tests.conftest import sweep


def table(model: str, passing: list[bool], spec: str = "s", seeds: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": [f"{model}{spec}{i}" for i in range(len(passing))], "spec": spec, "model": model,
                         "generator": "oneshot", "generation": 0, "temperature": 0.0, "status": "scored",
                         "seed": [i % seeds for i in range(len(passing))], "passed_all": passing,
                         "pass_rate": [1.0 if p else 0.5 for p in passing], "cost_usd": 0.0,
                         "prompt_tokens": 1, "completion_tokens": 1})


def test_what_tells_the_experiments_apart_is_left_out_of_the_alignment():
    a = pd.concat([table("m1", [True] * 10), table("m1", [True] * 4, spec="only-a")])
    b = table("m2", [False] * 10)
    rows, apart = compare(a, b)
    assert apart == {"model": ("m1", "m2")} and "model" not in rows.columns
    s = rows.set_index("spec")
    assert (s.loc["s", "n_a"], s.loc["s", "n_b"]) == (10, 10)
    assert s.loc["s", "passed_all_diff"] == -1.0 and s.loc["s", "passed_all_high"] < 0
    assert s.loc["s", "pass_rate_diff"] == pytest.approx(-0.5)
    assert s.loc["only-a", "n_b"] == 0 and math.isnan(s.loc["only-a", "passed_all_diff"])
    view = compare_view(rows).set_index("spec")
    assert view.loc["s", "all pass b-a"].startswith("-1.00 [") and view.loc["s", "all pass b-a"].endswith(" *")
    assert view.loc["only-a", "all pass b-a"] == "-" and view.loc["only-a", "all pass a"] == "1.00"


def test_chains_that_did_not_reach_a_generation_are_shown_missing_and_the_legend_says_rates_condition_on_it():
    a = pd.concat([table("m1", [True] * 10), table("m1", [True] * 6).assign(generation=1)])
    b = table("m2", [False] * 10)  # its chains ended at generation 0
    rows, apart = compare(a, b)
    view, lines = compare_view(rows).set_index("generation"), summary_lines(rows, apart, ("a", "b"))
    assert view.loc["1", "all pass b"] == "-" and view.loc["1", "trials b"] == "0"
    assert "- no trial of that side in the cell" in lines[-1] and "only the chains that reached it" in lines[-1]
    assert "reached it" not in summary_lines(*compare(table("m1", [True] * 4), b), ("a", "b"))[-1]


def test_two_models_in_both_experiments_are_aligned_model_by_model():
    a = pd.concat([table("m1", [True] * 10), table("m2", [False] * 10)])
    b = pd.concat([table("m1", [True] * 10), table("m2", [True] * 10)])
    rows, apart = compare(a, b)
    assert apart == {} and rows.set_index("model")["passed_all_diff"].to_dict() == {"m1": 0.0, "m2": 1.0}


def test_harness_compare_shows_a_known_difference_between_two_real_experiments(tiny_specs, tmp_path, capsys):
    """The synthetic model always answering the reference (before) against always a mutant (after): every
    trial passes before and none after, so the difference is -1 and its interval excludes 0."""
    runs = tmp_path / "runs"
    for name, rates in (("before", "[0.0,0.0]"), ("after", "[1.0,1.0]")):
        sweep(f"runs_dir={runs}", f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder", "temperature=0.0",
              "seed=0,1,2,3,4", f"experiment.name={name}", f"model.synthetic.curve_rates={rates}")
        build_tables(runs / name)
    main([str(runs / "before"), str(runs / "after"), "--html", str(tmp_path / "compare.html")])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "a: before, b: after; cells aligned on every key"
    row = next(line for line in out.splitlines() if line.lstrip().startswith("adder"))
    # all tests pass: 1.00 before, 0.00 after, -1.00 [...] *; pass rate: every test before, fewer after, likewise
    assert row.split()[:6] == ["adder", "5", "5", "1.00", "0.00", "-1.00"] and row.count(" *") == 2
    page = (tmp_path / "compare.html").read_text()
    assert "after against before" in page and "-1.00 [" in page


def test_an_experiment_without_tables_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as ended:
        main([str(tmp_path / "a"), str(tmp_path / "b")])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no results table" in err
