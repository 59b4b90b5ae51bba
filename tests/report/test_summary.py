"""The end-of-sweep table."""

from __future__ import annotations

import pandas as pd

from harness.report.summary import next_steps, summarize
from harness.seams import TrialStatus


def cells(text: str) -> list[list[str]]:
    """The cell table's data lines, split on whitespace (its header is two lines; a blank line ends it)."""
    return [line.split() for line in text.split("\n\n")[0].splitlines()[2:] if not line.startswith("*")]


def trials(**columns) -> pd.DataFrame:
    return pd.DataFrame({"spec": "s", "model": "m", "generator": "g", "temperature": 0.0, "generation": 0,
                         "cost_usd": 0.001, **columns})


def test_the_summary_says_how_the_failed_trials_ended():
    statuses = ["scored", "scored", "timeout", "memory", "memory", "infra_error", "tampered"]
    results = trials(status=statuses, seed=range(7), pass_rate=[1.0, 0.5, 0, 0, 0, 0, 0],
                     passed_all=[True] + [False] * 6)
    line = cells(summarize(results))[-1]
    assert line[:6] == ["s", "ours/all", "m", "g", "0.0", "0"]  # records without spec_text and selection: ours/all
    assert line[6:9] == ["7", "2", "infra_error:1"]  # trials, scored, excluded (no detail names a class)
    assert line[9:12] == ["memory:2", "tampered:1", "timeout:1"]


def test_the_summary_keeps_texts_generators_and_generations_apart():
    results = trials(status="scored", seed=0, spec_text=["ours", "upstream", "ours", "ours"],
                     selection=["all", "paper", "all", "all"], generator=["g", "g", "h", "g"],
                     generation=[0, 0, 0, 1], pass_rate=[1.0, 0.5, 0.25, 0.0],
                     passed_all=[True, False, False, False], cost_usd=None, trial_id=["a", "b", "c", "d"],
                     parent_trial_id=[None, None, None, "a"])
    text = summarize(results)
    rows = {" ".join(line[:6]): line[6:] for line in cells(text)}
    assert set(rows) == {"s ours/all m g 0.0 0", "s ours/all m g 0.0 1", "s ours/all m h 0.0 0",
                         "s upstream/paper m g 0.0 0"}
    rates = {cell: [float(x) for x in line[4:6]] for cell, line in rows.items()}  # pass_rate, passed_all
    assert rates["s ours/all m g 0.0 0"] == [1.0, 1.0] and rates["s ours/all m g 0.0 1"] == [0.0, 0.0]
    assert rates["s upstream/paper m g 0.0 0"] == [0.5, 0.0] and rates["s ours/all m h 0.0 0"] == [0.25, 0.0]


def test_infra_errors_leave_the_pass_rate_denominators():
    results = trials(status=["scored", "infra_error", "error", "interrupted"], seed=[0, 1, 2, 3],
                     pass_rate=[1.0, 0.0, 0.0, 0.0], passed_all=[True, False, False, False])
    line = cells(summarize(results))[-1]
    assert line[6:11] == ["4", "1", "error:1", "infra_error:1", "interrupted:1"]  # trials, scored, excluded
    assert line[12:14] == ["1.0", "1.0"]  # pass_rate and passed_all over the one counted trial, not 0.25
    assert line[14:16] == ["[nan,nan]", "1*"]  # one seed: no interval, and flagged


def test_the_summary_shows_the_interval_seeds_and_cost_per_success():
    statuses = [s.value for s in TrialStatus]  # every status, one trial each, on a seed each
    n = len(statuses)
    results = trials(status=statuses, seed=range(n), pass_rate=[1.0] + [0.0] * (n - 1),
                     passed_all=[True] + [False] * (n - 1))
    text = summarize(results)
    line = cells(text)[-1]
    counted = n - 3  # all but infra_error, error and interrupted
    assert line[6:11] == [str(n), "1", "error:1", "infra_error:1", "interrupted:1"]
    low, high = line[-4].strip("[]").split(",")
    assert 0.0 <= float(low) < 1 / counted < float(high) < 0.6  # the clustered interval of 1 pass in the counted
    assert line[-3] == str(counted)  # seeds among the counted trials, 5 or more: not flagged
    # spent by all n trials at $0.001 each; the counted trials' spend per success
    assert line[-2:] == [f"{n * 0.001:.4f}", f"{counted * 0.001:.4f}"]
    results.loc[3, "cost_usd"] = None
    assert cells(summarize(results))[-1][-2:] == ["-", "-"]  # unknown, never 0
    assert "fewer than 5 seeds" not in text


def test_infra_errors_are_named_by_their_error_class_with_a_reason():
    details = ["", "RateLimitError: litellm.RateLimitError: 429 slow down", "RateLimitError: 429 again",
               "CacheMiss: no recording for request 3f2a", "ValueError: a harness bug\nsecond line", "interrupted"]
    results = trials(status=["scored", "infra_error", "infra_error", "infra_error", "error", "interrupted"],
                     seed=range(6), pass_rate=[1.0] + [0.0] * 5, passed_all=[True] + [False] * 5, detail=details,
                     trial_id=[f"t{i}" for i in range(6)])
    table, reasons = summarize(results).split("\n\nexcluded")
    assert cells(table)[-1][8:12] == ["CacheMiss:1", "RateLimitError:2", "error:1", "interrupted:1"]
    lines = reasons.splitlines()[1:]
    assert lines == ["  CacheMiss x1 (infra_error): [t3] CacheMiss: no recording for request 3f2a",
                     "  RateLimitError x2 (infra_error): [t1] RateLimitError: litellm.RateLimitError: 429 slow down",
                     "  error x1 (error): [t4] ValueError: a harness bug second line",
                     "  interrupted x1 (interrupted): [t5] interrupted"]


def test_a_chain_is_one_unit_in_the_summary():
    # gen 0 imported (model `-`), gens 1 and 2 made by its agent driving model m: one chain, listed under m.
    results = trials(status="scored", seed=0, generator="chain:import", model=["-", "m", "m"], chain_model="m",
                     generation=[0, 1, 2], trial_id=["a", "b", "c"], parent_trial_id=[None, "a", "b"],
                     pass_rate=1.0, passed_all=True)
    table, chains = summarize(results).split("\n\nbootstrap chains")
    assert {line[2] for line in cells(table)} == {"m"}
    chain_lines = [line.split() for line in chains.splitlines()[4:]]
    assert chain_lines == [["s", "ours/all", "chain:import", "import", "m", "0.0", "1", "1", "1", "1.0",
                            "[nan,nan]", "3.0", "3"]]  # one chain, one seed: no interval


def test_a_legend_follows_the_table_and_synthetic_prices_are_marked_as_made_up():
    results = trials(status="scored", seed=[0, 1], pass_rate=1.0, passed_all=True,
                     litellm_model=["harness/synthetic", "openai/gpt-4o"], model=["synthetic", "gpt"])
    text = summarize(results)
    table, legend = text.split("\n\n")[:2]
    spent = {line[2]: line[-2:] for line in cells(table)}
    assert spent == {"synthetic": ["~0.0010", "~0.0010"], "gpt": ["0.0010", "0.0010"]}
    for word in ("text:", "gen:", "excluded:", "other:", "cached:"):
        assert word in legend
    assert "~ the synthetic model's made-up prices: no money was spent" in legend
    assert "~" not in summarize(results.iloc[1:])  # a real model's spend: no mark, no note


def test_a_spend_the_cache_served_reads_cached_not_free():
    results = trials(status="scored", seed=[0, 1], generation=[0, 1], pass_rate=1.0, passed_all=True,
                     cost_usd=[0.01, 0.0], model_calls=3, cache_hits=[0, 3])
    spent = {line[5]: line[-2:] for line in cells(summarize(results))}
    assert spent == {"0": ["0.0100", "0.0100"], "1": ["cached", "cached"]}


def test_unscored_endings_are_named_with_the_first_trials_reason():
    detail = "agent exited 1 after 0 model call(s): Traceback (most recent call last):\n" + "  line\n" * 60 + \
        "NameError: name 'options' is not defined; no entry file ['agent.py']"
    results = trials(status=["scored", "no_code", "timeout"], seed=range(3), pass_rate=[1.0, 0, 0],
                     passed_all=[True, False, False], detail=["", detail, "the suite ran past 60 s"],
                     trial_id=["t0", "t1", "t2"])
    reasons = summarize(results).split("ended without a score")[1].splitlines()[1:]
    assert reasons[0].startswith("  no_code x1 (no_code): [t1] agent exited 1 after 0 model call(s)")
    assert reasons[0].endswith("NameError: name 'options' is not defined; no entry file ['agent.py']")
    assert " ... " in reasons[0] and len(reasons[0]) < 200  # the middle of the traceback is cut
    assert reasons[1] == "  timeout x1 (timeout): [t2] the suite ran past 60 s"


def test_replies_cut_off_at_max_tokens_are_counted_after_the_endings():
    """SmolLM2 at 256 tokens: every reply cut off, most of them scored; the summary said nothing of it."""
    results = trials(status=["scored", "scored", "no_code", "infra_error"], seed=range(4),
                     pass_rate=[0.0, 1.0, 0, 0], passed_all=[False, True, False, False],
                     truncated_replies=[1, 0, 2, 1], trial_id=["t0", "t1", "t2", "t3"],
                     detail=["reply cut off at max_tokens (256 tokens)", "", "reply cut off; no code block",
                             "RateLimitError: 429"])
    text = summarize(results)
    assert ("cut off at max_tokens: 2 of 3 counted trials had a reply cut off, each judged on what the cap left "
            "(a larger `model.max_tokens` may end otherwise); first: [t0] reply cut off at max_tokens (256 tokens)"
            ) in text
    assert "cut off at max_tokens" not in summarize(results.assign(truncated_replies=0))
    assert "cut off at max_tokens" not in summarize(results.drop(columns="truncated_replies"))  # older tables


def test_the_next_step_names_the_commands_that_apply(tmp_path):
    few = trials(status="scored", seed=[0, 1], pass_rate=1.0, passed_all=True)
    line = next_steps(tmp_path, few)
    assert line.startswith(f"next: harness-report {tmp_path} (then open {tmp_path / 'report' / 'index.html'})")
    assert f"harness-seeds {tmp_path} --half-width" in line and "harness-equivalence" not in line
    chained = trials(status=["scored", "infra_error"], seed=range(2), generation=[0, 1], pass_rate=1.0,
                     passed_all=True)
    line = next_steps(tmp_path, chained)
    assert line.startswith("next: the same command again") and f"harness-equivalence {tmp_path}" in line
    many = trials(status="scored", seed=range(5), pass_rate=1.0, passed_all=True)
    assert "harness-seeds" not in next_steps(tmp_path, many)
