"""Benchmark: scoring runs with the suite's room cold and warm (harness/sandbox/warm.py), side by side.

    python benchmarks/warm_judge.py [--specs semver wordfreq minimal-coding-agent] [--repeat 5] [--mutants 40]

For each spec and backend, one scoring run of the reference each way to start (the warm template starts there),
then `--repeat` pairs, interleaved (cold-warm, then warm-cold) so that a machine's load weighs on both alike:
the median of each, their ratio, and whether every run gave the same per-test outcomes. Then a kill-rate
sample: `--mutants` random first-order mutants of semver's reference (seed 0), each scored cold and warm in turn
with fail-fast as harness-killrate scores them: the wall time of each pass and whether every mutant got the same
verdict. Nothing is asserted: the machine's load moves these numbers; read them side by side.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

from harness.models.synthetic.model import reference_files
from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring.killrate import all_mutants, score_mutant
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])


def outcomes(result) -> tuple:
    return result.status.value, tuple((t.test_id, t.outcome.value) for t in result.tests)


def suite_times(name: str, backend, repeat: int) -> str:
    spec = load_spec(ROOT / "specs", name)
    sandboxes = {"cold": backend(warm=False), "warm": backend(warm=True)}
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    seen = {outcomes(score(spec, spec.reference_dir, s)) for s in sandboxes.values()}
    for i in range(repeat):
        for mode in ("cold", "warm") if i % 2 == 0 else ("warm", "cold"):
            start = time.monotonic()
            seen.add(outcomes(score(spec, spec.reference_dir, sandboxes[mode])))
            times[mode].append(time.monotonic() - start)
    cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
    tests = len(next(iter(seen))[1])
    return (f"  {name:<22} {backend.name:<8} cold {cold:6.3f} s  warm {warm:6.3f} s  x{cold / warm:4.2f}  "
            f"({tests} tests; outcomes {'identical' if len(seen) == 1 else 'DIFFER'})")


def killrate_times(backend, sample: int) -> str:
    spec = load_spec(ROOT / "specs", "semver")
    files = reference_files(spec.root)
    mutants = random.Random(0).sample(all_mutants(files), sample)
    sandboxes = {"cold": backend(warm=False), "warm": backend(warm=True)}
    spent, verdicts = {"cold": 0.0, "warm": 0.0}, {"cold": [], "warm": []}
    for i, mutant in enumerate(mutants):
        for mode in ("cold", "warm") if i % 2 == 0 else ("warm", "cold"):
            start = time.monotonic()
            verdicts[mode].append(score_mutant(spec, files, mutant, sandboxes[mode], fail_fast=True).killed)
            spent[mode] += time.monotonic() - start
    killed = sum(verdicts["warm"])
    same = "identical" if verdicts["cold"] == verdicts["warm"] else "DIFFER"
    return (f"  semver {sample} mutants  {backend.name:<8} cold {spent['cold']:6.1f} s  warm {spent['warm']:6.1f} s  "
            f"x{spent['cold'] / spent['warm']:4.2f}  ({killed}/{sample} killed; verdicts {same})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=["semver", "wordfreq", "minimal-coding-agent"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mutants", type=int, default=40)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    print(f"one scoring run of the reference, median of {args.repeat}, interleaved:")
    for name in args.specs:
        for backend in BACKENDS:
            print(suite_times(name, backend, args.repeat if name != "minimal-coding-agent" else 3), flush=True)
    if args.mutants:
        print("kill-rate sample (fail-fast), every mutant scored both ways in turn:")
        for backend in BACKENDS:
            print(killrate_times(backend, args.mutants), flush=True)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
