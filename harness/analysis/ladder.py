"""The spec ladder: pass rates against the size of the spec (experiment=ladder, docs/paper.md).

Size is measured two ways, both on what a model is given and what judges it: the words of the spec's text, and
the clauses its suite checks (the tests' clause markers where a suite names them, else its tests, one clause
each). Every function here is pure: the notebook reads the texts (harness/report/ladder.py) and passes them in.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional

import pandas as pd

from harness.analysis.cells import pass_rate_table

SIZE_COLUMNS = ["words", "tests", "clauses"]


def words(text: str) -> int:
    """Words of a spec's text: its runs of non-whitespace characters (markdown marks and code count as words,
    as a model reads them)."""
    return len(re.findall(r"\S+", text))


def spec_sizes(texts: Mapping[str, str], results: pd.DataFrame, tests: Optional[pd.DataFrame] = None,
               suites: Mapping[str, tuple[int, int]] = {}) -> pd.DataFrame:
    """One row per spec of `texts` (name -> text), indexed by spec:

        words     words(text)
        tests     its suite's tests, as collected (`suites`: spec -> (tests, clauses)); for a spec whose suite
                  was not collected, the most tests any scored trial of it ran (the results table's tests_total)
        clauses   its suite's clauses, as collected; else distinct clauses its tests name in the per-test table,
                  or its tests where none names one

    What the trials ran is only a lower bound: in records made before the scorer counted the tests of a module that
    did not import (harness/scoring/expected.py), such a module is one error (SmolLM2's four semver trials 'ran' 4
    of semver's 253 tests), so the suite's own count comes first.
    """
    named = pd.Series(dtype=int)
    if tests is not None and len(tests):  # the per-test table names trials; their spec is in the results table
        marked = tests.merge(results[["trial_id", "spec"]], on="trial_id")
        marked = marked[marked["clause"].notna() & (marked["clause"].astype(str) != "")]
        named = marked.groupby("spec")["clause"].nunique()
    rows = []
    for spec, text in sorted(texts.items()):
        mine = results.loc[results["spec"] == spec, "tests_total"]
        count = int(mine.max()) if len(mine) else 0
        count, clauses = suites.get(spec) or (count, int(named.get(spec, 0)) or count)
        rows.append({"spec": spec, "words": words(text), "tests": count, "clauses": clauses})
    return pd.DataFrame(rows, columns=["spec", *SIZE_COLUMNS]).set_index("spec")


def ladder_table(results: pd.DataFrame, sizes: pd.DataFrame, by: Iterable[str] = ("spec", "model")) -> pd.DataFrame:
    """`pass_rate_table(results, by)` (temperatures pooled unless `by` names them; intervals clustered by seed)
    with each spec's size beside it, rungs in order of words, then spec name. Specs without a size (their text
    was not given) are left out, as are generations after a chain's first: a chain's later generations were
    made from the same text by another author, the generation before."""
    first = results[results["generation"] == 0] if "generation" in results else results
    cells = pass_rate_table(first, by=by).reset_index()
    table = cells.merge(sizes.reset_index(), on="spec", how="inner")
    return table.sort_values(["words", "spec", *[k for k in by if k != "spec"]], kind="stable").reset_index(drop=True)
