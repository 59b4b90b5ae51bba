"""harness.analysis.ladder: spec sizes in words and clauses, and pass rates per rung beside them."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis.intervals import clustered_interval
from harness.analysis.ladder import ladder_table, spec_sizes, words


def trial(spec, seed, passed, *, temperature=0.0, model="m", generation=0, status="scored", tests_total=4):
    return {"trial_id": f"{spec}-{model}-{temperature}-{seed}-{generation}", "spec": spec, "model": model,
            "temperature": temperature, "seed": seed, "generator": "oneshot", "generation": generation,
            "status": status, "passed_all": passed, "pass_rate": 1.0 if passed else 0.5, "cost_usd": 0.01,
            "tests_total": tests_total}


def test_words_are_runs_of_non_whitespace():
    assert words("# fizzbuzz — one function\n\n    def fizzbuzz(n: int) -> str\n") == 10  # as `wc -w` counts
    assert words("") == 0 and words(" \n\t") == 0


def test_sizes_count_named_clauses_else_tests():
    results = pd.DataFrame([trial("a", 0, True, tests_total=3), trial("a", 1, False, tests_total=2),
                            trial("b", 0, True, tests_total=5)])
    tests = pd.DataFrame({"trial_id": ["a-m-0.0-0-0"] * 3 + ["b-m-0.0-0-0"] * 5,
                          "test_id": ["t1", "t2", "t3", "u1", "u2", "u3", "u4", "u5"],
                          "clause": ["x", "x", "y", "", None, "", "", ""]})
    sizes = spec_sizes({"a": "one two three", "b": "one"}, results, tests)
    assert sizes.to_dict("index") == {"a": {"words": 3, "tests": 3, "clauses": 2},  # clauses x and y
                                      "b": {"words": 1, "tests": 5, "clauses": 5}}  # none named: its tests
    assert spec_sizes({"c": "w"}, results).loc["c"].to_dict() == {"words": 1, "tests": 0, "clauses": 0}


def test_the_ladder_pools_temperatures_keeps_first_generations_and_orders_rungs_by_words():
    rows = [trial("big", s, s % 2 == 0, temperature=t) for s in range(4) for t in (0.0, 1.0)]
    rows += [trial("small", s, True, temperature=t) for s in range(4) for t in (0.0, 1.0)]
    rows += [trial("small", 0, False, generation=1)]  # a chain's later generation: not a rung's trial
    rows += [trial("small", 9, False, status="infra_error")]  # not the model's doing: left out
    rows += [trial("unmeasured", 0, True)]  # no text given: left out
    results = pd.DataFrame(rows)
    sizes = pd.DataFrame({"spec": ["big", "small"], "words": [800, 100], "tests": [40, 10], "clauses": [30, 10]})
    table = ladder_table(results, sizes.set_index("spec"))
    assert list(table["spec"]) == ["small", "big"] and list(table["words"]) == [100, 800]
    assert list(table["n"]) == [8, 8] and list(table["seeds"]) == [4, 4]
    assert list(table["passed_all"]) == pytest.approx([1.0, 0.5])
    expected = clustered_interval([float(s % 2 == 0) for s in range(4) for _ in (0.0, 1.0)],
                                  [s for s in range(4) for _ in (0.0, 1.0)])
    assert (table.loc[1, "passed_all_low"], table.loc[1, "passed_all_high"]) == pytest.approx(
        (expected.low, expected.high))
    by_temperature = ladder_table(results, sizes.set_index("spec"), by=("spec", "model", "temperature"))
    assert list(by_temperature["temperature"]) == [0.0, 1.0, 0.0, 1.0] and set(by_temperature["n"]) == {4}


def test_a_suites_collected_size_comes_before_what_its_trials_ran():
    """Code that fails to import runs one error per test file: four trials that all did are no size of the suite."""
    results = pd.DataFrame([trial("semver", s, False, tests_total=4) for s in range(4)])
    sizes = spec_sizes({"semver": "one two"}, results, suites={"semver": (253, 40)})
    assert sizes.loc["semver"].to_dict() == {"words": 2, "tests": 253, "clauses": 40}
    assert spec_sizes({"semver": "one two"}, results).loc["semver", "tests"] == 4  # uncollected: a lower bound
