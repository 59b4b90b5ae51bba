"""harness.analysis.lineage: chains followed through parent_trial_id, reproduction and survival by generation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.analysis.cells import chain_units, pass_rate_table
from harness.analysis.intervals import clopper_pearson, clustered_interval
from harness.analysis.lineage import chain_summary, chains, survival_by_generation

CHAIN = {"spec": "s", "generator": "chain:agent", "model": "m", "temperature": 0.0}


def _chain_rows():
    # chain A: generations 0, 1, 2 pass, 3 fails; chain B: 0 passes, 1 fails; chain C: only generation 0, failing.
    spec = [("a0", None, 0, True), ("a1", "a0", 1, True), ("a2", "a1", 2, True), ("a3", "a2", 3, False),
            ("b0", None, 0, True), ("b1", "b0", 1, False), ("c0", None, 0, False)]
    return pd.DataFrame([{"trial_id": t, "parent_trial_id": p, "generation": g, "passed_all": ok,
                          "status": "scored", **CHAIN, "seed": i} for i, (t, p, g, ok) in enumerate(spec)])


def test_chains_follow_parents_and_count_leading_passes():
    table = chains(_chain_rows()).set_index("root")
    assert table.loc["a0", ["generations", "survived", "reproduced"]].tolist() == [4, 3, True]
    assert table.loc["b0", ["generations", "survived", "reproduced"]].tolist() == [2, 1, False]
    assert table.loc["c0", ["generations", "survived", "reproduced"]].tolist() == [1, 0, False]


def test_chain_summary_reports_reproduction_share_and_survival():
    row = chain_summary(_chain_rows()).loc[("s", "m", 0.0, "m", "chain:agent", "ours", "all")]
    assert row["chains"] == 3 and row["reproduced"] == pytest.approx(1 / 3)
    assert row["mean_survived"] == pytest.approx(4 / 3) and row["max_survived"] == 3


def test_survival_by_generation_counts_passing_generations_over_all_chains():
    rows = _chain_rows()
    # chain D: generation 0 fails but generation 1 passes; chain E's generation 1 hit an infra error (dropped).
    rows = pd.concat([rows, pd.DataFrame([
        {"trial_id": "d0", "parent_trial_id": None, "generation": 0, "passed_all": False, "status": "scored"},
        {"trial_id": "d1", "parent_trial_id": "d0", "generation": 1, "passed_all": True, "status": "scored"},
        {"trial_id": "e0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "e1", "parent_trial_id": "e0", "generation": 1, "passed_all": True, "status": "infra_error"},
    ]).assign(**CHAIN, seed=9)], ignore_index=True)
    table = survival_by_generation(rows).set_index("generation")
    assert list(table.index) == [0, 1, 2, 3]
    # Known generations only: e1 (infra) and every generation never recorded leave the denominator.
    # g=0: a0 b0 c0 d0 e0, alive a0 b0 e0; g=1: a1 b1 d1, alive a1 d1; g=2: a2; g=3: a3 fails.
    assert table["chains"].tolist() == [5, 3, 1, 1]
    assert table["survivors"].tolist() == [3, 2, 1, 0]
    assert table["share"].tolist() == pytest.approx([3 / 5, 2 / 3, 1.0, 0.0])
    # The known generation-1 chains a, b, d have seeds 0, 4, 9: one chain a seed, so Clopper-Pearson on chains.
    assert (table.loc[1, "share_low"], table.loc[1, "share_high"]) == pytest.approx(clopper_pearson(2, 3))


def test_chains_sharing_a_seed_are_clustered_by_it():
    """Six chains on three seeds, the two of a seed alike: the interval counts seeds, not chains; with one seed
    there is none."""
    rows = pd.DataFrame([{"trial_id": f"c{i}g{g}", "parent_trial_id": f"c{i}g0" if g else None, "generation": g,
                          "passed_all": i // 2 != 2, "status": "scored", **CHAIN, "seed": i // 2}
                         for i in range(6) for g in (0, 1)])
    row = chain_summary(rows).iloc[0]
    expected = clustered_interval([1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [0, 0, 1, 1, 2, 2])
    assert (row["reproduced_n"], row["known"]) == (4, 6)
    assert (row["reproduced_low"], row["reproduced_high"]) == pytest.approx((expected.low, expected.high))
    assert row["reproduced_high"] - row["reproduced_low"] > np.diff(clopper_pearson(4, 6))[0]
    survival = survival_by_generation(rows).set_index("generation")
    assert (survival.loc[0, "share_low"], survival.loc[0, "share_high"]) == pytest.approx((expected.low, expected.high))
    one_seed = chain_summary(rows.assign(seed=0)).iloc[0]
    assert one_seed["reproduced"] == pytest.approx(4 / 6) and np.isnan(one_seed["reproduced_low"])


def test_a_chain_that_left_no_code_is_dead_in_later_generations():
    rows = pd.DataFrame([
        {"trial_id": "f0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "f1", "parent_trial_id": "f0", "generation": 1, "passed_all": False, "status": "no_code"},
        {"trial_id": "g0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "g1", "parent_trial_id": "g0", "generation": 1, "passed_all": True, "status": "scored"},
        {"trial_id": "g2", "parent_trial_id": "g1", "generation": 2, "passed_all": True, "status": "scored"},
    ]).assign(**CHAIN, seed=0)
    table = survival_by_generation(rows).set_index("generation")
    assert table["chains"].tolist() == [2, 2, 2] and table["survivors"].tolist() == [2, 1, 1]


def test_an_infra_error_never_counts_as_a_chain_failing_to_reproduce():
    rows = pd.concat([_chain_rows(), pd.DataFrame([
        {"trial_id": "e0", "parent_trial_id": None, "generation": 0, "passed_all": True, "status": "scored"},
        {"trial_id": "e1", "parent_trial_id": "e0", "generation": 1, "passed_all": False, "status": "infra_error"},
        {"trial_id": "x0", "parent_trial_id": None, "generation": 0, "passed_all": False, "status": "error"},
        {"trial_id": "x1", "parent_trial_id": "x0", "generation": 1, "passed_all": True, "status": "scored"},
    ]).assign(**CHAIN, seed=9)], ignore_index=True)
    table = chains(rows).set_index("root")
    assert table.loc["e0", "reproduced"] is None  # unknown, not False
    assert "x1" not in table.index  # an excluded generation 0 does not split its chain off
    row = chain_summary(rows).loc[("s", "m", 0.0, "m", "chain:agent", "ours", "all")]
    assert (row["chains"], row["known"]) == (5, 3) and row["reproduced"] == pytest.approx(1 / 3)


def test_survival_by_generation_splits_groups_and_handles_no_rows():
    rows = pd.concat([_chain_rows(), _chain_rows().assign(model="n", trial_id=lambda f: "n" + f["trial_id"],
                                                          parent_trial_id=lambda f: "n" + f["parent_trial_id"])])
    table = survival_by_generation(rows, by=["model"])
    assert table.groupby("model").size().tolist() == [4, 4]
    assert table.loc[table["model"] == "n", "survivors"].tolist() == [2, 1, 1, 0]
    empty = survival_by_generation(_chain_rows().iloc[:0])
    assert empty.empty and "share" in empty.columns


def _imported_chains() -> pd.DataFrame:
    """Three chains whose generation 0 was imported (model `-`) and whose later generations were made by its
    agent driving model `m`; the third chain's import left no code, so no model ever ran in it."""
    rows = []
    for seed, passes in enumerate([[True, True, False], [True, False], [False]]):
        for g, ok in enumerate(passes):
            rows.append({"trial_id": f"c{seed}g{g}", "parent_trial_id": f"c{seed}g{g - 1}" if g else None,
                         "generation": g, "passed_all": ok, "status": "scored" if ok or g < 2 else "no_code",
                         "pass_rate": 1.0 if ok else 0.5, "seed": seed, "spec": "s", "temperature": 0.0,
                         "generator": "chain:import", "model": "m" if g else "-", "chain_model": "m",
                         "cost_usd": 0.0 if g == 0 else 0.1, "prompt_tokens": 1, "completion_tokens": 1})
    rows[-1]["status"] = "no_code"
    return pd.DataFrame(rows)


def test_a_chain_is_one_unit_whatever_made_each_generation():
    rows = _imported_chains()
    units = chain_units(rows).set_index("trial_id")
    assert set(units["model"]) == {"m"}  # generation 0 too: the chain is listed under the model that drives it
    assert set(units["gen0"]) == {"import"} and units.loc["c0g2", "root"] == "c0g0"
    table = chains(rows).set_index("root")
    assert list(table.index) == ["c0g0", "c1g0", "c2g0"]
    assert set(table["gen0"]) == {"import"} and set(table["model"]) == {"m"}
    assert table["reproduced"].tolist() == [True, False, False]
    summary = chain_summary(rows)
    assert len(summary) == 1 and summary.index.names == ["spec", "model", "temperature", "gen0", "generator",
                                                         "spec_text", "selection"]
    row = summary.iloc[0]
    assert (row["chains"], row["known"], row["reproduced_n"]) == (3, 3, 1)
    survival = survival_by_generation(rows)
    # generation 2: chain 0 died there, chain 1 never reached it (unknown), chain 2 ended at generation 0
    assert survival["chains"].tolist() == [3, 3, 2] and survival["survivors"].tolist() == [2, 1, 0]
    cells = pass_rate_table(rows, by=["model"])  # per generation, but never a `-` model split off
    assert list(cells.index.get_level_values("model")) == ["m", "m", "m"]


def test_older_tables_without_chain_model_take_the_model_that_ran():
    rows = _imported_chains().drop(columns="chain_model")
    table = chains(rows).set_index("root")
    assert table.loc["c0g0", "model"] == "m" and table.loc["c1g0", "model"] == "m"
    assert table.loc["c2g0", "model"] == "-"  # only generation 0, and it called no model: nothing says which


def test_a_model_made_generation_0_is_labelled_by_its_model_and_kept_apart_by_generator():
    rows = pd.concat([_chain_rows(), _chain_rows().assign(generator="chain:oneshot",
                                                          trial_id=lambda f: "o" + f["trial_id"],
                                                          parent_trial_id=lambda f: "o" + f["parent_trial_id"])])
    table = chain_summary(rows)
    assert list(table.index.get_level_values("generator")) == ["chain:agent", "chain:oneshot"]
    assert set(table.index.get_level_values("gen0")) == {"m"} and table["chains"].tolist() == [3, 3]


def test_trials_outside_chains_are_not_chains():
    rows = _chain_rows().assign(generator="oneshot", parent_trial_id=None, generation=0)
    assert chains(rows).empty and chain_summary(rows).empty and survival_by_generation(rows).empty
    assert set(chain_units(rows)["gen0"]) == {""}


def test_every_status_of_generation_1_decides_reproduction_as_its_definition_says():
    """One chain per status: generation 0 passes, generation 1 ends with that status (a claimed pass on each
    excluded status, which must not count). Excluded: unknown; scored and passing: reproduced; else: not."""
    from harness.seams import EXCLUDED_STATUSES, TrialStatus

    rows = []
    for i, status in enumerate(TrialStatus):
        claims = status is TrialStatus.scored or status.value in EXCLUDED_STATUSES
        rows += [{"trial_id": f"r{i}", "parent_trial_id": None, "generation": 0, "passed_all": True,
                  "status": "scored", **CHAIN, "seed": i},
                 {"trial_id": f"k{i}", "parent_trial_id": f"r{i}", "generation": 1, "passed_all": claims,
                  "status": status.value, **CHAIN, "seed": i}]
    table = chains(pd.DataFrame(rows)).set_index("root")
    expected = {f"r{i}": (None if s.value in EXCLUDED_STATUSES else s is TrialStatus.scored)
                for i, s in enumerate(TrialStatus)}
    assert table["reproduced"].to_dict() == expected
    summary = chain_summary(pd.DataFrame(rows)).iloc[0]
    known = len(TrialStatus) - len(EXCLUDED_STATUSES)
    assert (summary["chains"], summary["known"], summary["reproduced_n"]) == (len(TrialStatus), known, 1)
    survival = survival_by_generation(pd.DataFrame(rows)).set_index("generation")
    assert survival.loc[1, ["chains", "survivors"]].tolist() == [known, 1]  # the excluded leave the denominator


def test_with_ended_chains_counts_a_dead_chain_as_failing_at_every_later_generation():
    from harness.analysis.lineage import with_ended_chains

    # Three chains of depth 3: h dies at generation 1 (no code), i lives, j's generation 1 hit an infra error.
    spec = [("h0", None, 0, True, "scored"), ("h1", "h0", 1, False, "no_code"),
            ("i0", None, 0, True, "scored"), ("i1", "i0", 1, True, "scored"), ("i2", "i1", 2, True, "scored"),
            ("i3", "i2", 3, True, "scored"), ("j0", None, 0, True, "scored"), ("j1", "j0", 1, False, "infra_error")]
    rows = pd.DataFrame([{"trial_id": t, "parent_trial_id": p, "generation": g, "passed_all": ok, "status": s,
                          "pass_rate": 1.0 if ok else None, "cost_usd": 0.01, **CHAIN, "seed": i}
                         for i, (t, p, g, ok, s) in enumerate(spec)])
    extended = with_ended_chains(rows)
    ended = extended[extended["ended_chain"]]
    assert ended["trial_id"].tolist() == ["h0+2", "h0+3"]  # j is unknown after its outage: nothing added
    assert ended["parent_trial_id"].tolist() == ["h1", "h0+2"] and (ended["cost_usd"] == 0).all()
    survivors_only = pass_rate_table(rows, by=["spec", "model", "temperature"])["passed_all"]
    counted = pass_rate_table(extended, by=["spec", "model", "temperature"])
    assert survivors_only.xs(2, level="generation").tolist() == [1.0]  # the survivors alone
    assert counted.xs(2, level="generation")[["n", "passed_all"]].values.tolist() == [[2, 0.5]]
    assert counted.xs(3, level="generation")["passed_all"].tolist() == [0.5]  # as survival_by_generation says
    assert survival_by_generation(rows).set_index("generation").loc[3, "share"] == 0.5
    assert with_ended_chains(rows.iloc[2:6])["ended_chain"].sum() == 0  # a living chain: nothing to add
