"""harness.report.formatting and harness.report.figures: tables and figures shaped for any sweep, read back without a kernel."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from harness.analysis.cells import pass_rate_table, test_failure_rates
from harness.analysis.intervals import clopper_pearson
from harness.report.figures import failure_figure, pass_rate_figure, temperature_limits
from harness.report.formatting import readable

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def sweep(temperatures, models=("m",), seeds=range(3)) -> pd.DataFrame:
    rows = [{"spec": "s", "model": model, "generator": "oneshot", "generation": 0, "temperature": t, "seed": seed,
             "status": "scored", "pass_rate": 1.0 if (seed + i) % 3 else 0.5, "passed_all": bool((seed + i) % 3),
             "cost_usd": 0.01, "prompt_tokens": 1, "completion_tokens": 1}
            for i, model in enumerate(models) for t in temperatures for seed in seeds]
    return pd.DataFrame(rows)


def test_readable_merges_intervals_and_names_what_every_row_shares():
    shown = readable(pass_rate_table(sweep([0.0, 1.0])))
    assert list(shown.data.columns) == ["temperature", "n", "seeds", "pass_rate", "passed_all", "cost_known",
                                        "cost_usd", "cost_per_success"]
    assert shown.data["seeds"].tolist() == ["3 few", "3 few"]
    assert shown.data["passed_all"].iloc[0] == "0.67 [0.09, 0.99]"  # Clopper-Pearson on 2 of 3 seeds
    assert shown.note == "Every row: spec s, model m, generator oneshot, generation 0, text ours/all"
    page = shown._repr_html_()
    assert "0.67 [0.09, 0.99]" in page and page.endswith('<p class="table-note">' + shown.note + "</p>")


def test_readable_keeps_every_label_of_a_single_row_and_takes_labels_for_plain_tables():
    one = readable(pass_rate_table(sweep([0.0])))
    assert one.note == "" and {"spec", "model", "text"} <= set(one.data.columns)
    plain = pd.DataFrame({"spec": ["s", "s"], "k": [1, 2], "share": [0.5, 1.0], "share_low": [0.1, 0.2],
                          "share_high": [0.9, 1.0]})
    shown = readable(plain, labels=["spec"], note="Chains")
    assert list(shown.data.columns) == ["k", "share"] and shown.data["share"].tolist() == ["0.50 [0.10, 0.90]",
                                                                                           "1.00 [0.20, 1.00]"]
    assert shown.note == "Chains. Every row: spec s"


@pytest.mark.parametrize("temperatures, expected", [([0.7], (0.65, 0.75)), ([0.0, 1.0], (-0.08, 1.08)),
                                                    ([0.0, 0.2], (-0.05, 0.25))])
def test_temperature_limits_are_a_readable_range_for_any_number_of_temperatures(temperatures, expected):
    assert temperature_limits(temperatures) == pytest.approx(expected)


def test_one_temperature_puts_the_conditions_side_by_side():
    cells = pass_rate_table(sweep([0.0], models=("m", "n"))).reset_index()
    fig = pass_rate_figure(cells, "t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["m", "n"]
    assert ax.get_xlim() == pytest.approx((-0.6, 1.6))  # not a sliver of 1e-3 around an offset temperature
    assert "temperature 0" in ax.get_xlabel()
    plt.close(fig)


def test_several_temperatures_are_an_axis_padded_around_them():
    cells = pass_rate_table(sweep([0.0, 0.5, 1.0], models=("m", "n"))).reset_index()
    fig = pass_rate_figure(cells, "t")
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx((-0.08, 1.08)) and list(ax.get_xticks()) == [0.0, 0.5, 1.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["m", "n"]  # one entry per condition
    plt.close(fig)


def failures(models) -> pd.DataFrame:
    """`test_failure_rates` of 4 scored runs per model on 4 seeds: test_0 fails in 3, test_1 in 1, test_2 never."""
    results = pd.DataFrame([{"trial_id": f"{model}{seed}", "spec": "s", "model": model, "status": "scored",
                             "seed": seed} for model in models for seed in range(4)])
    tests = pd.DataFrame([{"trial_id": f"{model}{seed}", "test_id": f"t::test_{i}",
                           "outcome": "failed" if seed < f else "passed"}
                          for model in models for seed in range(4) for i, f in enumerate([3, 1, 0])])
    return test_failure_rates(results, tests)


def test_one_model_gets_bars_with_intervals_not_a_one_column_heatmap():
    rates = failures(["m"])
    fig = failure_figure(rates, "t")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and not ax.images  # no heatmap, no colour bar
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.75, 0.25]  # the tests that failed, most first
    assert [t.get_text() for t in ax.get_yticklabels()] == ["t::test_0", "t::test_1"]
    # Each error bar spans the failure rate's interval clustered by seed (here Clopper-Pearson on 4 runs).
    spans = [sorted(segment[:, 0]) for segment in ax.containers[0].lines[2][0].get_segments()]
    assert spans == [pytest.approx([row.failure_rate_low, row.failure_rate_high]) for row in rates.head(2).itertuples()]
    assert spans[0] == pytest.approx(clopper_pearson(3, 4))
    plt.close(fig)


def test_several_models_get_a_heatmap_and_no_failure_no_figure():
    fig = failure_figure(failures(["m", "n"]), "t")
    assert fig.axes[0].images and len(fig.axes) == 2  # the heatmap and its colour bar
    plt.close(fig)
    assert failure_figure(failures(["m"]).assign(failures=0, failure_rate=0.0), "t") is None


def test_numbers_keep_three_significant_digits_and_large_ones_stay_plain():
    shown = readable(pd.DataFrame({"spec": ["s", "t"], "cost_usd": [0.000241, 0.0189], "tokens": [2963.7, 15.0]}),
                     labels=["spec"])
    body = shown._repr_html_()
    assert "0.000241" in body and "0.0189" in body and "2,964" in body and "e+" not in body


def test_words_read_from_the_left_and_numbers_from_the_right():
    shown = readable(pd.DataFrame({"test_id": ["t::a", "t::b"], "clause": ["Parsing.", "Output."], "runs": [3, 4],
                                   "rate": ["0.50 [0.1, 0.9]", "0.25 [0.0, 0.8]"]}))
    style = shown._repr_html_().split("</style>")[0]
    assert "th.col0 {\n  text-align: left" in style and "th.col1 {\n  text-align: left" in style
    assert "_row1_col1 {\n  text-align: left" in style and "col2" not in style and "col3" not in style
