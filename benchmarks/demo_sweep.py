"""Benchmark: the demo sweep against the machine's bound, re-runs, a single trial's start, and records on disk.

    python benchmarks/demo_sweep.py [--repeat 3] [--beside 10000]

Each figure is measured by running the `harness` command as a user would, in a fresh temporary runs dir:

- demo wall, and its bound max(sum of generation, sum of suite runs / cores), both from the same run: the
  bound is what the machine could do if the harness cost nothing and kept every core busy;
- re-running the finished demo (every trial already recorded);
- a single trial (`hydra.mode=RUN spec=semver`): seconds from the command to its first model answer written to
  its transcript (its work under way), and to the command's end;
- the demo beside `--beside` records already on disk (fabricated from the demo's own records, under other trial
  ids, then given the totals and tables a sweep that wrote them would have left), against the demo beside none:
  the harness's cost per trial must not grow with the records it keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# The `harness` command, here and in revisions from before the package was laid out by stage (harness/app.py).
COMMAND = [sys.executable, "-c",
           "try:\n from harness.run.app import main\nexcept ImportError:\n from harness.app import main\nmain()"]


def harness(*overrides: str, watch: Path | None = None) -> tuple[float, float | None]:
    """Run the command; its wall time, and when `watch` (a trials folder) is given, the seconds until a trial
    there had its first model answer in its transcript: the moment its work is under way."""
    start = time.monotonic()
    proc = subprocess.Popen([*COMMAND, *overrides], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = None
    while proc.poll() is None:
        if watch is not None and seen is None and any(watch.glob("*/transcript.jsonl")):
            seen = time.monotonic() - start
        time.sleep(0.005)
    if proc.returncode not in (0, 3):
        sys.exit(f"harness failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return time.monotonic() - start, seen


def cores() -> int:
    return len(os.sched_getaffinity(0))


def demo(runs: Path) -> dict:
    wall, _ = harness(f"runs_dir={runs}")
    results = pd.read_parquet(runs / "demo" / "results.parquet")
    generation, suites = results["gen_seconds"].sum(), results["score_seconds"].sum()
    bound = max(generation, suites / cores())
    return {"wall": wall, "generation": generation, "suites": suites, "bound": bound, "ratio": wall / bound,
            "trials": len(results)}


def fabricate(run_dir: Path, count: int) -> None:
    """`count` records beside the demo's, copied from its own records under trial ids no demo trial has."""
    models = [json.loads(p.read_text()) for p in sorted((run_dir / "trials").glob("*.json"))]
    for i in range(count):
        record = dict(models[i % len(models)], trial_id=f"fab{i:07d}", seed=1000 + i)
        (run_dir / "trials" / f"fab{i:07d}.json").write_text(json.dumps(record))


def adopt(run_dir: Path) -> None:
    """Give the fabricated records what the harness keeps beside records it wrote itself (running totals, the
    tables and their index), as a sweep that wrote them would have left; not timed."""
    sys.path.insert(0, str(ROOT))
    try:
        from harness.records.store import RecordStore
        from harness.records.tables import build_tables
    except ImportError:  # a revision from before the package was laid out by stage
        from harness.records import RecordStore
        from harness.tables import build_tables

    if not hasattr(RecordStore, "totals"):  # a revision from before running totals keeps nothing beside records
        return

    RecordStore(run_dir).totals(verify=True)
    build_tables(run_dir)


def beside(count: int) -> tuple[float, float]:
    """Demo wall beside `count` fabricated records, and the re-run's."""
    with tempfile.TemporaryDirectory() as tmp:
        seeded = Path(tmp) / "seed"
        harness(f"runs_dir={seeded}")
        runs = Path(tmp) / "runs"
        (runs / "demo" / "trials").mkdir(parents=True)
        fabricate(seeded / "demo", count)
        for path in (seeded / "demo" / "trials").glob("fab*.json"):
            shutil.move(path, runs / "demo" / "trials" / path.name)
        adopt(runs / "demo")
        wall, _ = harness(f"runs_dir={runs}")
        rerun, _ = harness(f"runs_dir={runs}")
        return wall, rerun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beside", type=int, default=10_000, help="records on disk for the last figure (0: skip)")
    args = parser.parse_args()
    runs_, reruns, starts, singles, besides = [], [], [], [], []
    for _ in range(args.repeat):  # each figure once per round, so that a busy moment touches them all alike
        if args.beside:
            besides.append(beside(args.beside))
        with tempfile.TemporaryDirectory() as tmp:
            runs_.append(demo(Path(tmp) / "runs"))
            reruns.append(harness(f"runs_dir={Path(tmp) / 'runs'}")[0])
            single = Path(tmp) / "single"
            wall, seen = harness(f"runs_dir={single}", "hydra.mode=RUN", "spec=semver",
                                 watch=single / "adhoc" / "trials")
            singles.append(wall)
            starts.append(seen if seen is not None else float("nan"))
    med = lambda key: statistics.median(r[key] for r in runs_)  # noqa: E731
    print(f"machine: {cores()} cores, load average {os.getloadavg()[0]:.2f} at the end; medians of {args.repeat}")
    print(f"demo sweep ({runs_[0]['trials']} trials)")
    walls = ", ".join(f"{r['wall']:.2f}" for r in runs_)
    print(f"  wall                 {med('wall'):6.2f} s   (runs: {walls})")
    print(f"  sum of generation    {med('generation'):6.2f} s")
    print(f"  sum of suite runs    {med('suites'):6.2f} s   / {cores()} cores")
    print(f"  bound                {med('bound'):6.2f} s")
    print(f"  wall / bound         {med('ratio'):6.2f}     (goal <= 1.2)")
    print(f"re-run, all recorded   {statistics.median(reruns):6.2f} s   (goal <= 2)")
    print(f"single trial: work starts after {statistics.median(starts):.2f} s (goal <= 1), "
          f"command ends after {statistics.median(singles):.2f} s")
    if args.beside:
        wall, rerun = (statistics.median(b[i] for b in besides) for i in (0, 1))
        walls = ", ".join(f"{b[0]:.2f}" for b in besides)
        print(f"demo beside {args.beside} records: {wall:.2f} s (runs: {walls}; beside none: {med('wall'):.2f} s, "
              f"{wall / med('wall') - 1:+.0%}; goal within 10 %); its re-run {rerun:.2f} s")


if __name__ == "__main__":
    main()
