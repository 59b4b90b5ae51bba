"""Benchmark: wall time of the demo sweep and the harness's own overhead per trial.

    python benchmarks/demo_sweep.py [--repeat 3]

Overhead = (sweep wall time - time inside test suites - time waiting on the model) / trials; it includes process
start-up (Python, Hydra, litellm imports), config composition, preflight, record writing and table building.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def run_demo(runs: Path) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "from harness.app import main; main()", f"runs_dir={runs}"],
                   cwd=ROOT, check=True, capture_output=True)
    return time.monotonic() - start


def model_latency(run_dir: Path) -> float:
    total = 0.0
    for transcript in run_dir.glob("trials/*/transcript.jsonl"):
        for line in transcript.read_text().splitlines():
            total += json.loads(line).get("latency_s") or 0.0
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    walls, overheads, reruns = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            runs = Path(tmp)
            wall = run_demo(runs)
            results = pd.read_parquet(runs / "demo" / "results.parquet")
            outside = wall - results["score_seconds"].sum() - model_latency(runs / "demo")
            walls.append(wall)
            overheads.append(outside / len(results))
            reruns.append(run_demo(runs))
    print(f"demo sweep: {len(results)} trials")
    print(f"  wall time           median {statistics.median(walls):6.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    print(f"  suites (pytest)     {results['score_seconds'].sum():6.2f} s in the last run")
    print(f"  overhead per trial  median {statistics.median(overheads):6.3f} s")
    print(f"  re-run (all skipped) median {statistics.median(reruns):6.2f} s")


if __name__ == "__main__":
    main()
