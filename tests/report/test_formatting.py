"""harness.report.formatting and harness.report.figures: tables and figures shaped for any sweep, read back without a kernel."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from harness.analysis.cells import pass_rate_table
from harness.analysis.intervals import clopper_pearson
from harness.report.equivalence_views import plot_matrices, plot_similarity
from harness.report.figures import cost_figure, failure_figure, pass_rate_figure, temperature_limits
from harness.report.formatting import readable, spend

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
                                        "cost_usd", "cost_per_success"]  # no cached_calls: none were cached
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


def groups(models) -> pd.DataFrame:
    """failure_groups' shape: group 0 (three clauses) failed in 3 of 4 runs, group 1 (one clause) in trial t9 only,
    each with the interval one run per seed gives (Clopper-Pearson on 4 runs)."""
    rows = [{"spec": "s", "spec_text": "ours", "selection": "all", "group": g, "clauses": len(names), "names": names,
             "named": True, "model": model, "runs": 4, "failures": len(failed), "failure_rate": len(failed) / 4,
             "failure_rate_low": clopper_pearson(len(failed), 4)[0],
             "failure_rate_high": clopper_pearson(len(failed), 4)[1], "failed_in": failed}
            for model in models for g, names, failed in [(0, ["a.x", "a.y", "b"], ("t1", "t2", "t3")),
                                                         (1, ["c"], ("t9",))]]
    return pd.DataFrame(rows)


def test_one_model_gets_a_bar_per_group_of_clauses_not_a_one_column_heatmap():
    table = groups(["m"])
    fig = failure_figure(table, "t")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and not ax.images  # no heatmap, no colour bar
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.75, 0.25]  # most failed first
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 clauses: a.x, a.y, b", "c"]
    assert [t.get_text() for t in ax.texts] == ["3 of 4 runs", "1 of 4 runs: trial t9"]  # a lone run is named
    # Each error bar spans the group's failure-rate interval clustered by seed.
    spans = [sorted(segment[:, 0]) for segment in ax.containers[0].lines[2][0].get_segments()]
    assert spans == [pytest.approx([row.failure_rate_low, row.failure_rate_high]) for row in table.itertuples()]
    plt.close(fig)


def test_several_models_get_a_heatmap_and_no_failure_no_figure():
    fig = failure_figure(groups(["m", "n"]), "t")
    assert fig.axes[0].images and len(fig.axes) == 2  # the heatmap and its colour bar
    assert fig.axes[0].images[0].get_array().shape == (2, 2)  # groups x models
    plt.close(fig)
    assert failure_figure(groups(["m"]).iloc[:0], "t") is None
    fig = failure_figure(groups(["m"]), "t", max_rows=1)
    assert "1 more groups failed" in fig.axes[0].get_title()
    plt.close(fig)


def test_cells_of_equal_cost_are_spread_so_each_point_and_legend_entry_is_seen():
    cells = pass_rate_table(sweep([0.0, 0.5, 1.0], models=("m", "n"))).reset_index()  # every cell costs 0.01
    fig = cost_figure(cells)
    ax = fig.axes[0]
    points = [tuple(line.get_xydata()[0]) for line in ax.lines if line.get_marker() not in ("None", "", "_")]
    assert len(ax.get_legend().get_texts()) == len(cells) == len(set(points))  # six entries, six distinct points
    assert len({line.get_marker() for line in ax.lines if line.get_marker() not in ("None", "", "_")}) == 6
    assert "spread sideways" in ax.get_xlabel()
    plt.close(fig)


def test_a_cell_served_by_the_cache_is_named_not_drawn_as_free():
    rows = sweep([0.0, 1.0]).assign(model_calls=2, cache_hits=0)
    rows.loc[rows["temperature"] == 1.0, ["cost_usd", "cache_hits"]] = [0.0, 2]
    fig = cost_figure(pass_rate_table(rows).reset_index())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["temperature=0.0, m"]
    assert "every call served from the cache: temperature=1.0, m" in ax.get_title()
    plt.close(fig)
    assert cost_figure(pass_rate_table(rows[rows["temperature"] == 1.0]).reset_index()) is None


def test_cells_that_all_cost_nothing_get_no_cost_figure():
    """A local model's trials cost a known 0 (SmolLM2): every point at 0, spread sideways into negative dollars
    on an axis of millionths, said nothing. A free cell beside a paid one is still drawn, at 0."""
    rows = sweep([0.0, 1.0]).assign(cost_usd=0.0, model_calls=1, cache_hits=0)
    assert cost_figure(pass_rate_table(rows).reset_index()) is None
    rows.loc[rows["temperature"] == 1.0, "cost_usd"] = 0.01
    fig = cost_figure(pass_rate_table(rows).reset_index())
    assert len(fig.axes[0].get_legend().get_texts()) == 2 and fig.axes[0].get_xlim()[0] < 0 < fig.axes[0].get_xlim()[1]
    plt.close(fig)


def test_spend_says_cached_rather_than_free():
    assert spend(float("nan"), 0.0) == "-" and spend(0.0, 1.0) == "cached" and spend(0.0123, 0.0) == "0.0123"
    assert spend(0.0123, 0.4) == "0.0123 (40 % cached)" and spend(0.0123, float("nan")) == "0.0123"
    rows = sweep([0.0, 1.0]).assign(model_calls=2, cache_hits=[0] * 3 + [2] * 3, cost_usd=[0.01] * 3 + [0.0] * 3)
    shown = readable(pass_rate_table(rows))
    assert "cached_calls" not in shown.data.columns
    assert shown.data["cost_per_success"].tolist()[1] == "cached" and shown.data["cost_usd"].tolist()[1] == "cached"


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


def test_a_chains_generations_say_they_are_conditioned_on_survival():
    rows = pd.concat([sweep([0.0]), sweep([0.0]).assign(generation=1)], ignore_index=True)
    fig = pass_rate_figure(pass_rate_table(rows).reset_index(), "t")
    assert "conditioned on survival" in fig._suptitle.get_text()
    plt.close(fig)
    fig = pass_rate_figure(pass_rate_table(sweep([0.0])).reset_index(), "t")
    assert "survival" not in fig._suptitle.get_text()
    plt.close(fig)


def test_a_readable_table_escapes_the_text_it_shows():
    """Cells can quote what the code under test returned (a test's message): shown as text, never as markup."""
    shown = readable(pd.DataFrame({"message": ["<img src=x onerror=alert(1)> & 'q'"], "failures": [2]}))
    page = shown._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39;" in page


def test_a_chain_with_no_later_generation_is_said_so_not_drawn_as_nothing():
    """SmolLM2 driving the reference agent: generation 1 wrote no code, so the equivalence table holds the chain's
    generation 0 alone. The heatmap said 'no chains' beside a chain, and the similarity plot was empty axes."""
    equivalence = pd.DataFrame({"trial_id": ["r"], "spec": ["s"], "generation": [0], "chain_root": ["r"],
                                "show_parent": [False], "behaviour_class": [0], "similarity_to_parent": [float("nan")]})
    similarity = pd.DataFrame(columns=["spec", "trial_a", "trial_b", "pair", "similarity"])
    for fig in (plot_matrices(equivalence), plot_similarity(equivalence, similarity)):
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert texts == ["no chain has a generation past 0 with code\nto compare with its parent"]
        plt.close(fig)
