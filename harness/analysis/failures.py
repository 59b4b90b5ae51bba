"""Which tests and clauses of a spec implementations break, and which break together: per-test failure rates, and
test outcomes pooled by the clause each test checks (by suite module for suites that name no clause), then the clauses that failed in exactly the
same trials merged into one group, so that one implementation failing nearly everything reads as one row rather
than a hundred equal ones. Pure functions over the results and tests tables, like harness.analysis.cells."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from harness.analysis.cells import chain_units, with_text_columns
from harness.analysis.intervals import clustered_interval, clustered_intervals
from harness.seams import PASSING_OUTCOMES, TrialStatus

TEXT = ["spec_text", "selection"]


def unit(test_id: str, clause: object) -> str:
    """What a test is pooled under: the clause its suite names, else its suite module (`test_cli` of
    `test_cli::test_x[1]` or of `test_cli.Case::test_x`)."""
    if isinstance(clause, str) and clause:
        return clause
    return test_id.split("::")[0].split(".")[0]


def clause_failures(results: pd.DataFrame, tests: pd.DataFrame, by: Iterable[str] = ("model",)) -> pd.DataFrame:
    """Per spec, text, `by` and clause (`unit`), over the trials with status `scored` (only they have per-test
    outcomes) whose report lists at least one test of the clause:

        runs        those trials
        failures    those in which at least one test of the clause did not pass (PASSING_OUTCOMES)
        failure_rate = failures / runs, with its 95 % interval clustered by seed (failure_rate_low, _high:
                       runs that share a seed may fail alike; NaN with one seed)
        tests       distinct tests of the clause; named: whether the suite names the clause (else a module)
        failed_in   the failing trials' ids, sorted

    A clause with many tests weighs no more than one with a single test: a run breaks it or not.
    Columns: spec, spec_text, selection, the `by` columns, clause, named, tests, runs, failures, failure_rate,
    failure_rate_low, failure_rate_high, failed_in."""
    by = list(by)
    keys = ["spec", *TEXT, *by]
    columns = [*keys, "clause", "named", "tests", "runs", "failures", "failure_rate", "failure_rate_low",
               "failure_rate_high", "failed_in"]
    scored = with_text_columns(chain_units(results))
    scored = scored.loc[scored["status"] == "scored", list(dict.fromkeys(["trial_id", "seed", *keys]))]
    outcomes = tests.merge(scored, on="trial_id")
    if outcomes.empty:
        return pd.DataFrame(columns=columns)
    clauses = outcomes["clause"] if "clause" in outcomes else pd.Series("", index=outcomes.index)
    outcomes = outcomes.assign(clause=[unit(t, c) for t, c in zip(outcomes["test_id"], clauses)],
                               named=[isinstance(c, str) and c != "" for c in clauses],
                               failed=~outcomes["outcome"].isin(PASSING_OUTCOMES))
    per_clause = outcomes.groupby([*keys, "clause"], sort=True)
    named, tests_of = per_clause["named"].any(), per_clause["test_id"].nunique()
    failed = outcomes.groupby([*keys, "clause", "trial_id"], sort=True)["failed"].any()
    seed_of = dict(zip(scored["trial_id"], scored["seed"]))
    rows = []
    for key in named.index:
        runs = failed.loc[key]
        failing = tuple(sorted(runs.index[runs.to_numpy()]))
        interval = clustered_interval(runs.to_numpy(dtype=float), [seed_of[t] for t in runs.index])
        rows.append({**dict(zip([*keys, "clause"], key)), "named": bool(named[key]), "tests": int(tests_of[key]),
                     "runs": len(runs), "failures": len(failing), "failure_rate": len(failing) / len(runs),
                     "failure_rate_low": interval.low, "failure_rate_high": interval.high, "failed_in": failing})
    return pd.DataFrame(rows, columns=columns)


def failure_groups(clauses: pd.DataFrame, by: Iterable[str] = ("model",)) -> pd.DataFrame:
    """`clause_failures`' clauses that failed at least once, merged per spec and text into groups of clauses
    that failed in exactly the same trials and ran in the same number of trials per `by` value: each group is a
    row per `by` value with `clauses` (how many), `names` (the clauses, in order), runs, failures, failure_rate
    with its interval (a group's clauses failed in the same trials, so the interval of any one of them), and
    failed_in (as in `clause_failures`); `group` numbers them per spec and text, most failures first (summed over
    `by`), then the largest group."""
    by = list(by)
    columns = ["spec", *TEXT, "group", "clauses", "names", "named", *by, "runs", "failures", "failure_rate",
               "failure_rate_low", "failure_rate_high", "failed_in"]
    failing = clauses.groupby(["spec", *TEXT, "clause"], sort=True)["failures"].transform("sum") > 0
    rows = []
    for key, text_rows in clauses[failing].groupby(["spec", *TEXT], sort=True):
        signature, bounds = {}, {}
        named = text_rows.groupby("clause")["named"].any()
        for name, runs in text_rows.groupby("clause", sort=True):
            ordered = runs.sort_values(by)
            pattern = tuple((tuple(r[by]), r["runs"], r["failed_in"]) for _, r in ordered.iterrows())
            signature.setdefault(pattern, []).append(name)
            bounds.setdefault(pattern, [(r["failure_rate_low"], r["failure_rate_high"]) for _, r in ordered.iterrows()])
        order = sorted(signature.items(), key=lambda item: (-sum(len(p[2]) for p in item[0]), -len(item[1])))
        for number, (pattern, names) in enumerate(order):
            for (values, runs, failed_in), (low, high) in zip(pattern, bounds[pattern]):
                rows.append({**dict(zip(["spec", *TEXT], key)), "group": number, "clauses": len(names),
                             "names": names, "named": bool(named[names].all()), **dict(zip(by, values)), "runs": runs, "failures": len(failed_in),
                             "failure_rate": len(failed_in) / runs, "failure_rate_low": low, "failure_rate_high": high,
                             "failed_in": failed_in})
    return pd.DataFrame(rows, columns=columns)


def group_label(names: list[str], named: bool = True, width: int = 60) -> str:
    """`tools.read_file.lines` for one clause; `12 clauses: cli.model, cli.task, ...` for a group (`modules`
    when the suite names no clause: `named` False), cut at `width` characters."""
    noun = "clauses" if named else "suite modules"
    text = names[0] if len(names) == 1 else f"{len(names)} {noun}: " + ", ".join(names)
    return text if len(text) <= width else text[:width - 3] + "..."


def test_failure_rates(results: pd.DataFrame, tests: pd.DataFrame, by: str | Iterable[str] = "model") -> pd.DataFrame:
    """How often each test of each spec fails, per group of trials; only trials with status `scored` count.

    For a test t of a spec and a group, over the scored trials of the group whose report lists t (a skipped test
    passes, as everywhere: PASSING_OUTCOMES):

        failure_rate = (runs whose outcome is not passing) / runs,   with failure_rate_low/high its 95 % interval
                       clustered by seed (`clustered_interval`: runs sharing a seed may fail alike; NaN when
                       the runs have one seed)

    Trials without a report (no_code, timeout, ...) have no per-test outcome, so they are not in any `runs`;
    their failure shows in `pass_rate_table` instead. Test ids are only unique within a spec, hence the spec column.
    Columns: spec, test_id, the `by` columns, runs, failures, failure_rate, failure_rate_low, failure_rate_high;
    sorted by spec, then failure_rate descending, then test_id.
    """
    by = [by] if isinstance(by, str) else list(by)
    results = chain_units(results)  # a chain's generations under the model that drives it
    scored = results.loc[results["status"] == TrialStatus.scored.value, list(dict.fromkeys(
        ["trial_id", "spec", "seed", *by]))]
    runs = tests[["trial_id", "test_id", "outcome"]].merge(scored, on="trial_id")
    runs = runs.assign(failed=(~runs["outcome"].isin(PASSING_OUTCOMES)).astype(float))
    keys = ["spec", "test_id", *by]
    rates = clustered_intervals(runs, keys, "failed", "seed")
    table = pd.DataFrame({"runs": rates["n"], "failures": rates["total"].round().astype(int),
                          "failure_rate": rates["mean"], "failure_rate_low": rates["low"],
                          "failure_rate_high": rates["high"]}, index=rates.index).reset_index()
    table = table.sort_values(["spec", "failure_rate", "test_id"], ascending=[True, False, True], kind="stable")
    return table.reset_index(drop=True)[[*keys, "runs", "failures", "failure_rate", "failure_rate_low",
                                         "failure_rate_high"]]


test_failure_rates.__test__ = False  # a statistic, not a pytest test, even when a test module imports it
