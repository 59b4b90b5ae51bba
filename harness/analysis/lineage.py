"""Statistics of bootstrap chains (the rows linked by parent_trial_id): which reproduced themselves, and how
many chains survive to each generation. Pure functions, like harness.analysis.cells."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from harness.analysis.cells import chain_units, with_text_columns
from harness.analysis.intervals import clustered_interval
from harness.seams import EXCLUDED_STATUSES, NO_IMPLEMENTATION

# What a chain is, besides its root: never pooled, whatever `by` asks for (see `chain_keys`).
CHAIN_KEPT_APART = ("gen0", "generator", "spec_text", "selection")
CHAIN_BY = ("spec", "model", "temperature")


def chain_keys(by: Iterable[str]) -> list[str]:
    """The grouping of chains actually used: `by`, then each of CHAIN_KEPT_APART it does not name. `model` is
    the model driving the chain, `gen0` how its generation 0 was made (see `analysis.chain_units`)."""
    by = list(by)
    return by + [key for key in CHAIN_KEPT_APART if key not in by]


def chains(results: pd.DataFrame) -> pd.DataFrame:
    """One row per bootstrap chain: the trials of a chain generator (`chain:<kind>`) linked by parent_trial_id
    back to one generation-0 trial, taken as one unit (`analysis.chain_units`).

    Columns: root (generation 0's trial id), spec, spec_text, selection, generator, gen0 (how generation 0 was
    made: its model, or the generator kind when it called none), model (the model driving generations 1, 2, ...),
    temperature, seed, generations (how many were recorded with a status that counts), survived = the number of
    leading generations 0, 1, ... that pass every test (a chain whose generation 0 fails survives 0),
    reproduced = generations 0 and 1 both pass every test (the paper's question: did the agent re-implement
    itself?). `reproduced` is None (unknown) when generation 0 passed but generation 1 has no counted record (an
    infra error, or not run yet): that chain says nothing either way.
    """
    rows = _counted_chain_rows(results).sort_values(["root", "generation"])
    out = []
    for chain_root, chain in rows.groupby("root", sort=True):
        passed = list(chain["passed_all"].astype(bool))
        survived = next((i for i, ok in enumerate(passed) if not ok), len(passed))
        first = chain.iloc[0]
        generation_1 = (chain["generation"] == 1).any()
        reproduced = (passed[0] and passed[1]) if generation_1 and chain["generation"].iloc[0] == 0 else (
            False if chain["generation"].iloc[0] == 0 and not passed[0] else None)
        out.append({"root": chain_root, **{k: first[k] for k in CHAIN_COLUMNS}, "generations": len(chain),
                    "survived": survived, "reproduced": reproduced})
    return pd.DataFrame(out, columns=["root", *CHAIN_COLUMNS, "generations", "survived", "reproduced"])


CHAIN_COLUMNS = ["spec", "spec_text", "selection", "generator", "gen0", "model", "temperature", "seed"]


def _counted_chain_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The counted trials of chains, each with its chain's root and labels found over all rows, so an excluded
    generation 0 does not split its chain."""
    units = with_text_columns(chain_units(results))
    return units.loc[(units["gen0"] != "") & ~units["status"].isin(EXCLUDED_STATUSES)].copy()


def chain_summary(results: pd.DataFrame, by: Iterable[str] = CHAIN_BY) -> pd.DataFrame:
    """Per group of chains (`chain_keys(by)`): chains, how many have a known outcome (`known`), how many of those
    reproduced themselves (`reproduced_n`) and their share (`reproduced`, with its interval reproduced_low/high
    over the known chains clustered by seed: `clustered_interval`, since chains sharing a seed, as samples or
    temperatures pooled, may fail alike; with one chain a seed it is Clopper-Pearson on the chains; NaN when the
    known chains have one seed), mean and max survival. Chains whose reproduction is unknown (see `chains`)
    leave the denominator of `reproduced`."""
    table = chains(results)
    by = chain_keys(by)
    rows = []
    for key, group in table.groupby(by, sort=True):
        known = group.dropna(subset=["reproduced"])
        share = clustered_interval(known["reproduced"].astype(float), known["seed"])
        rows.append({**dict(zip(by, key)), "chains": len(group), "known": len(known),
                     "reproduced_n": int(known["reproduced"].astype(bool).sum()), "reproduced": share.mean,
                     "reproduced_low": share.low, "reproduced_high": share.high,
                     "mean_survived": group["survived"].mean(), "max_survived": group["survived"].max()})
    columns = ["chains", "known", "reproduced_n", "reproduced", "reproduced_low", "reproduced_high", "mean_survived",
               "max_survived"]
    return pd.DataFrame(rows, columns=[*by, *columns]).set_index(by)


def survival_by_generation(results: pd.DataFrame, by: Iterable[str] = CHAIN_BY) -> pd.DataFrame:
    """Per group of chains (`chain_keys(by)`) and generation g = 0 .. G (G the highest generation in the table):
    how many chains reach g alive.

    A chain's generation g is known alive when it is recorded with a counted status and passes every test; known
    dead when it is recorded and fails, or when an earlier generation left no implementation (the chain ended
    there); unknown otherwise (recorded as infra_error or error, or never run because the sweep was shallower).
    Over the c_g chains of a group whose generation g is known, with s_g of them alive:

        share = s_g / c_g,   with its 95 % interval share_low/high over those chains clustered by seed
                             (`clustered_interval`, as for `chain_summary`; NaN when they have one seed)

    Unknown generations leave the denominator: an outage never counts as a chain dying. Unlike `chains`'
    `survived`, a generation g that passes after a failing g - 1 still counts.
    Columns: the `by` columns, generation, chains (c_g), survivors (s_g), share, share_low, share_high.
    """
    by = chain_keys(by)
    columns = [*by, "generation", "chains", "survivors", "share", "share_low", "share_high"]
    rows = _counted_chain_rows(results)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    last = int(rows["generation"].max())
    out = []
    for key, group in rows.groupby(by, sort=True):
        key = dict(zip(by, key))
        chains = [(_first_seed(chain), _generation_states(chain, last)) for _, chain in group.groupby("root")]
        for g in range(last + 1):
            known = [(seed, state[g]) for seed, state in chains if state[g] is not None]
            share = clustered_interval([float(alive) for _, alive in known], [seed for seed, _ in known])
            out.append({**key, "generation": g, "chains": len(known), "survivors": sum(a for _, a in known),
                        "share": share.mean, "share_low": share.low, "share_high": share.high})
    return pd.DataFrame(out, columns=columns)


def _first_seed(chain: pd.DataFrame):
    """The seed a chain is clustered by: its earliest recorded generation's, as `chains` reports it."""
    return chain.loc[chain["generation"].idxmin(), "seed"]


def _generation_states(chain: pd.DataFrame, last: int) -> list:
    """True (alive), False (dead) or None (unknown) for generations 0 .. last of one chain's counted rows."""
    by_generation = {int(r["generation"]): r for _, r in chain.iterrows()}
    states, ended = [], False
    for g in range(last + 1):
        row = by_generation.get(g)
        if row is not None:
            states.append(bool(row["passed_all"]) if pd.notna(row["passed_all"]) else False)
            ended = row["status"] in NO_IMPLEMENTATION  # nothing for the next generation to run: the chain ends here
        else:
            states.append(False if ended else None)
    return states


def with_ended_chains(results: pd.DataFrame) -> pd.DataFrame:
    """`chain_units(results)` with a row for every generation a chain never reached because it ended, so that a
    per-generation rate counts dead chains rather than conditioning on the survivors.

    A chain ends at generation k when its generation k left no implementation (`no_code`): nothing is left to
    run as the agent. For each generation g = k + 1 .. G, G the highest generation any chain of its group
    (`chain_keys(CHAIN_BY)`) reached, it gets a row copied from generation k with generation g, status `no_code`,
    pass_rate 0, passed_all False, nothing spent and no model call, and `ended_chain` True (False on every
    recorded row). A chain whose last recorded generation was excluded (an infra error) or that simply stopped
    at the sweep's depth gets none: its later generations are unknown, as in `survival_by_generation`."""
    units = with_text_columns(chain_units(results)).assign(ended_chain=False)
    rows = _counted_chain_rows(results)
    if rows.empty:
        return units
    added = []
    for _, group in rows.groupby(chain_keys(CHAIN_BY), sort=True, dropna=False):
        deepest = int(group["generation"].max())
        for _, chain in group.sort_values("generation").groupby("root", sort=True):
            last = chain.iloc[-1]
            if last["status"] != "no_code":
                continue
            parent, ended_at = last["trial_id"], int(last["generation"])
            for g in range(ended_at + 1, deepest + 1):
                added.append({**last.to_dict(), **ENDED, "generation": g, "trial_id": f"{last['root']}+{g}",
                              "parent_trial_id": parent,
                              "detail": f"the chain ended at generation {ended_at}: it left no code"})
                parent = added[-1]["trial_id"]
    if not added:
        return units
    return pd.concat([units, pd.DataFrame(added).reindex(columns=units.columns)], ignore_index=True)


# What a generation after a chain's end is: a failure that cost nothing. The keys absent from a table are dropped.
ENDED = {"status": "no_code", "pass_rate": 0.0, "passed_all": False, "cost_usd": 0.0, "prompt_tokens": 0,
         "completion_tokens": 0, "model_calls": 0, "cache_hits": 0, "impl_lines": float("nan"),
         "ground_truth": None, "ended_chain": True}
