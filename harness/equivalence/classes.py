"""Behaviour classes over a sweep, each chain's fixpoint, and code similarity: equivalence.parquet, similarity.parquet.

Every scored implementation of a spec is recorded once over the spec's battery (harness/equivalence/diff.py, in the
sandbox; cached by the implementation's and the battery's hashes, so rebuilding the tables replays nothing).
Two implementations are equivalent when their normalised observations are equal, so equivalence is a plain
equality of fingerprints and the classes are exact. Class 0 is the reference's; -1 means the implementation
could not be recorded entirely (it hung past the recorder's limit, flooded, crashed the recorder), and its row
says why.

A chain's `fixpoint_generation` is the first generation that behaves as its parent (a chain of reference agents:
1); NaN when none does.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Optional

import pandas as pd

from harness.config.schema import PROJECT_ROOT, SandboxConfig, SandboxKind
from harness.equivalence.battery import build_battery
from harness.equivalence.diff import Observations, Verdict, compare, record_cached
from harness.equivalence.similarity import similarity, source_of
from harness.errors import ConfigError, command
from harness.records.store import RecordStore
from harness.records.tables import write_table
from harness.sandbox.backends import make_sandbox
from harness.seams import Sandbox
from harness.specs.loading import Spec, load_spec
from harness.sweep import interrupt

EQUIVALENCE_COLUMNS = ["trial_id", "spec", "generation", "parent_trial_id", "chain_root", "show_parent",
                       "behaviour_class",
                       "class_size", "compared_with", "first_divergence", "same_as_parent",
                       "divergence_from_parent", "fixpoint_generation", "similarity_to_parent", "battery_seed",
                       "scenarios"]
SIMILARITY_COLUMNS = ["spec", "trial_a", "trial_b", "pair", "similarity"]


def _divergence(verdict: Verdict) -> str:
    if verdict.equivalent:
        return ""
    d = verdict.difference
    if d is None:
        return verdict.detail
    return f"{verdict.scenario} | {d.step} | {d.left[:200]} | {d.right[:200]}"


def _implementations(run_dir: Path) -> list[dict]:
    """The records of a sweep whose implementation is on disk, each with its `impl` folder."""
    store = RecordStore(run_dir)
    found = []
    for rec in store.all():
        impl = store.artifacts(rec["trial_id"]) / "impl"
        if impl.is_dir() and any(impl.iterdir()):
            found.append({**rec, "impl": impl})
    return found


def _chain_root(tid: str, parents: dict[str, Optional[str]]) -> str:
    seen = set()
    while parents.get(tid) and tid not in seen:
        seen.add(tid)
        tid = parents[tid]  # type: ignore[assignment]
    return tid


def spec_rows(spec: Spec, trials: list[dict], sandbox: Sandbox, cache: Path, seed: int,
              per_template: Optional[int], jobs: int = 1) -> list[dict]:
    """One equivalence row per trial of one spec, before the chain columns are filled in; `jobs` implementations
    recorded at once."""
    try:
        battery = build_battery(spec, seed, per_template)
    except ConfigError as exc:  # a spec that declares no way to compare: similarity only
        battery, reference, seen = None, Observations({}, False, str(exc)), {}
    if battery is not None:
        folders = [spec.reference_dir, *(t["impl"] for t in trials)]
        # Ctrl-C kills the recordings in flight, and record_cached keeps nothing of theirs
        reference, *recorded = interrupt.each(lambda impl: record_cached(spec, impl, battery, sandbox, cache), folders,
                                              jobs)
        seen = {t["trial_id"]: observations for t, observations in zip(trials, recorded)}
    seen = {t["trial_id"]: seen.get(t["trial_id"], reference) for t in trials}
    classes = {reference.fingerprint: 0}
    for tid in sorted(seen):
        if seen[tid].complete:
            classes.setdefault(seen[tid].fingerprint, len(classes))
    sizes = pd.Series([classes.get(o.fingerprint, -1) for o in seen.values()]).value_counts().to_dict()
    rows = []
    for trial in trials:
        mine = seen[trial["trial_id"]]
        number = classes.get(mine.fingerprint, -1) if mine.complete else -1
        parent = seen.get(trial.get("parent_trial_id") or "")
        versus_parent = compare(parent, mine) if parent is not None else None
        rows.append({
            "trial_id": trial["trial_id"], "spec": spec.name, "generation": int(trial.get("generation") or 0),
            "parent_trial_id": trial.get("parent_trial_id"), "behaviour_class": number,
            "show_parent": bool(((trial.get("config") or {}).get("generator") or {}).get("show_parent", False)),
            "class_size": int(sizes.get(number, 0)), "compared_with": "reference",
            "first_divergence": _divergence(compare(reference, mine)) if mine.complete else mine.detail,
            "same_as_parent": None if versus_parent is None else versus_parent.equivalent,
            "divergence_from_parent": "" if versus_parent is None else _divergence(versus_parent),
            "battery_seed": seed, "scenarios": len(battery.scenarios) if battery else 0})
    return rows


def _fixpoints(frame: pd.DataFrame) -> pd.Series:
    """chain root -> the first generation that behaves as its parent."""
    reproduced = frame[frame["same_as_parent"].fillna(False).astype(bool)]
    return reproduced.groupby("chain_root")["generation"].min()


def comparison_tables(run_dir: Path, specs_dir: Path, sandbox: Sandbox, seed: int = 0,
                      per_template: Optional[int] = None, unrelated_pairs: int = 50,
                      jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The equivalence and similarity tables of the sweep in `run_dir` (see the module's docstring); `jobs`
    implementations recorded at once."""
    trials = _implementations(run_dir)
    parents = {t["trial_id"]: t.get("parent_trial_id") for t in trials}
    rows: list[dict] = []
    for name in sorted({t["spec"] for t in trials}):
        mine = [t for t in trials if t["spec"] == name]
        rows += spec_rows(load_spec(specs_dir, name), mine, sandbox, run_dir / "diff-cache", seed, per_template,
                          jobs)
    frame = pd.DataFrame(rows, columns=EQUIVALENCE_COLUMNS)
    frame["chain_root"] = [_chain_root(t, parents) for t in frame["trial_id"]]
    frame["fixpoint_generation"] = frame["chain_root"].map(_fixpoints(frame)).astype("float64")
    pairs = similarity_table(trials, parents, seed, unrelated_pairs)
    to_parent = pairs[pairs["pair"] == "parent"].set_index("trial_b")["similarity"]
    frame["similarity_to_parent"] = frame["trial_id"].map(to_parent).astype("float64")
    return frame.sort_values(["spec", "chain_root", "generation"], kind="stable").reset_index(drop=True), pairs


def similarity_table(trials: list[dict], parents: dict, seed: int, unrelated_pairs: int) -> pd.DataFrame:
    """Similarity of every child to its parent, and of up to `unrelated_pairs` (a seeded sample) of pairs of the
    same spec from different chains: what re-implementing scores, against what copying would."""
    sources = {t["trial_id"]: source_of(t["impl"]) for t in trials}
    spec_of = {t["trial_id"]: t["spec"] for t in trials}
    rows = [{"spec": spec_of[c], "trial_a": p, "trial_b": c, "pair": "parent",
             "similarity": similarity(sources[p], sources[c])}
            for c, p in sorted(parents.items()) if p in sources]
    roots = {t: _chain_root(t, parents) for t in sources}
    unrelated = [(a, b) for a in sorted(sources) for b in sorted(sources)
                 if a < b and spec_of[a] == spec_of[b] and roots[a] != roots[b]]
    for a, b in random.Random(seed).sample(unrelated, min(unrelated_pairs, len(unrelated))):
        rows.append({"spec": spec_of[a], "trial_a": a, "trial_b": b, "pair": "unrelated",
                     "similarity": similarity(sources[a], sources[b])})
    return pd.DataFrame(rows, columns=SIMILARITY_COLUMNS)


def write_comparison_tables(run_dir: Path, specs_dir: Path, sandbox: Sandbox, **options) -> pd.DataFrame:
    """Build and write equivalence.{parquet,csv} and similarity.{parquet,csv} beside results.parquet."""
    equivalence, pairs = comparison_tables(Path(run_dir), Path(specs_dir), sandbox, **options)
    write_table(equivalence, Path(run_dir) / "equivalence", csv=True)
    write_table(pairs, Path(run_dir) / "similarity", csv=True)
    return equivalence


@command("harness-equivalence", "its tables are rebuilt whole by the next run")
def main(argv: Optional[list[str]] = None) -> None:
    """harness-equivalence runs/<experiment>: build the two tables of a finished sweep and say what they hold."""
    parser = argparse.ArgumentParser(prog="harness-equivalence",
                                     description="Behaviour classes, chain fixpoints and code similarity of a sweep.")
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, holding trials/")
    parser.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis's seed for the battery")
    parser.add_argument("--size", type=int, help="generated scenarios per template (default: the manifest's size)")
    parser.add_argument("--sandbox", choices=[k.value for k in SandboxKind], default="auto")
    parser.add_argument("--jobs", type=int, default=1,
                        help="implementations recorded at once (default 1). Recording is mostly round trips to the "
                             "implementation's room, which leave a core idle; the agent's battery times what its "
                             "agents do, so give it idle cores")
    args = parser.parse_args(argv)
    if args.size is not None and args.size < 1:
        raise ConfigError(f"--size {args.size}: give at least 1 generated scenario per template")
    if args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: give the number of implementations to record at once, 1 or more")
    if not (args.experiment_dir / "trials").is_dir():
        raise ConfigError(f"{args.experiment_dir} holds no trials/; give runs/<experiment>")
    sandbox = make_sandbox(SandboxConfig(kind=SandboxKind(args.sandbox)))
    table = write_comparison_tables(args.experiment_dir, args.specs_dir, sandbox, seed=args.seed,
                                    per_template=args.size, jobs=args.jobs)
    for spec, rows in table.groupby("spec"):
        sizes = rows["behaviour_class"].value_counts().sort_index()
        print(f"{spec}: {len(rows)} implementations in {len(sizes)} class(es): "
              + ", ".join(f"{'unrecorded' if c == -1 else c}: {n}" for c, n in sizes.items()))
        chains = rows[rows["generation"] > 0].groupby("chain_root")["fixpoint_generation"].first()
        if len(chains):
            print(f"  {len(chains)} chain(s); fixpoint generation: "
                  + ", ".join(f"{root[:8]} {'-' if pd.isna(g) else int(g)}" for root, g in chains.items()))
    print(f"wrote {args.experiment_dir / 'equivalence.parquet'} and {args.experiment_dir / 'similarity.parquet'}")


if __name__ == "__main__":
    main()
