"""harness.report.headline: the numbers a report opens with, from hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis.cells import pass_rate_table
from harness.report.headline import headline, headline_view


def trials(**columns) -> pd.DataFrame:
    rows = {"spec": "s", "model": "m", "generator": "oneshot", "generation": 0, "status": "scored",
            "cost_usd": 0.01, "prompt_tokens": 1, "completion_tokens": 1, **columns}
    return pd.DataFrame(rows)


def test_temperatures_are_pooled_and_excluded_trials_counted():
    results = trials(temperature=[0.0, 0.0, 1.0, 1.0, 1.0], seed=[0, 1, 0, 1, 2],
                     status=["scored", "scored", "scored", "infra_error", "scored"],
                     pass_rate=[1.0, 0.5, 1.0, None, 0.0], passed_all=[True, False, True, None, False])
    row = headline(results).iloc[0]
    expected = pass_rate_table(results.assign(temperature=0.0)).iloc[0]  # the same cell, temperatures pooled
    assert row["n"] == 4 and row["excluded"] == 1 and row["seeds"] == 3 and bool(row["few_seeds"])
    assert row[["passed_all", "passed_all_low", "passed_all_high"]].tolist() == pytest.approx(
        expected[["passed_all", "passed_all_low", "passed_all_high"]].tolist())
    assert row["cost_per_success"] == pytest.approx(0.04 / 2)  # the counted trials' spend over 2 successes
    assert pd.isna(row["chains"])


def test_a_cell_whose_trials_were_all_excluded_is_still_listed():
    results = trials(spec=["s", "t"], temperature=0.0, seed=0, status=["scored", "infra_error"],
                     pass_rate=[1.0, None], passed_all=[True, None])
    table = headline(results)
    lost = table.xs("t", level="spec").iloc[0]
    assert (lost["n"], lost["excluded"]) == (0, 1) and pd.isna(lost["passed_all"])
    view, _ = headline_view(table)
    assert view.loc[view["spec"] == "t", ["trials", "excluded", "all tests pass"]].values.tolist() == [["0", "1", "-"]]


def test_chain_cells_carry_their_chains_reproduction_under_the_driving_model():
    # Three chains with an imported generation 0 (model `-`), driven by m; two reproduce.
    rows = []
    for seed, passes in enumerate([[True, True], [True, True], [True, False]]):
        for g, ok in enumerate(passes):
            rows.append({"trial_id": f"c{seed}g{g}", "parent_trial_id": f"c{seed}g0" if g else None,
                         "generation": g, "seed": seed, "model": "m" if g else "-", "chain_model": "m",
                         "passed_all": ok, "pass_rate": 1.0 if ok else 0.5})
    table = headline(trials(generator="chain:import", temperature=0.0, **pd.DataFrame(rows).to_dict("list")))
    assert list(table.index.get_level_values("model")) == ["m", "m"]  # generation 0 is not split off as `-`
    assert table["chains"].tolist() == [3, 3] and table["chains_reproduced"].tolist() == [2, 2]
    view, note = headline_view(table)
    assert view["chains reproduced"].tolist() == ["2 of 3 [0.09, 0.99]"] * 2  # Clopper-Pearson on 3 chains, 3 seeds
    assert view["generation"].tolist() == ["0", "1"] and note == "Every row: generator chain:import."


def test_the_view_is_short_strings_with_intervals_and_the_few_seeds_mark():
    results = trials(temperature=0.0, seed=range(6), pass_rate=[1.0] * 5 + [0.0], passed_all=[True] * 5 + [False],
                     cost_usd=None)
    view, note = headline_view(headline(results))
    assert list(view.columns) == ["spec", "text", "model", "trials", "excluded", "pass rate", "all tests pass",
                                  "seeds", "US$ per success"]
    row = view.iloc[0]
    assert row["text"] == "ours/all" and row["seeds"] == "6" and row["US$ per success"] == "-"  # cost unknown
    assert row["all tests pass"].startswith("0.83 [") and note == "Every row: generator oneshot, generation 0."
    few = headline_view(headline(results.assign(seed=[0, 0, 1, 1, 2, 2])))[0].iloc[0]
    assert few["seeds"] == "3 few"


def test_each_rows_trial_count_links_to_its_cells_trials_in_the_viewer():
    """The link names the cell as the viewer's filter does (harness.view.trials.cell_label), text escaped."""
    from urllib.parse import unquote

    from harness.report.headline import headline_html
    from harness.view.trials import cell_label

    results = trials(spec=["s", "<b>t</b>"], temperature=0.0, seed=0, status="scored", pass_rate=1.0,
                     passed_all=True)
    page = headline_html(headline(results))
    links = [unquote(part.split('"', 1)[0]) for part in page.split('href="trials/index.html#cell=')[1:]]
    assert links == [cell_label("<b>t</b>", "ours", "all", "m", "oneshot", 0), cell_label("s", "ours", "all", "m",
                                                                                          "oneshot", 0)]
    assert "<b>t</b>" not in page and "&lt;b&gt;t&lt;/b&gt;" in page
