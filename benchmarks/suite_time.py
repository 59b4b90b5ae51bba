"""Benchmark: one scoring run of a spec's suite on its reference, per text the spec declares.

    python benchmarks/suite_time.py [--spec minimal-coding-agent] [--repeat 3] [--sandbox bwrap|process] [--cold]

Scores the reference in the default sandbox, judged once by every test (spec.text=ours) and once by the tests of
the upstream text's selection where the spec declares one (the paper clauses), and prints the median wall time of
each and whether every test passed. `--cold`: with `sandbox.warm` false (every suite started cold). The target for minimal-coding-agent: a full run in at most 45 s here.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import yaml

from harness.config.schema import SandboxConfig, SandboxKind
from harness.sandbox.backends import make_sandbox
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="minimal-coding-agent")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sandbox", choices=[k.value for k in SandboxKind], default="auto")
    parser.add_argument("--cold", action="store_true", help="sandbox.warm=false")
    args = parser.parse_args()
    spec = load_spec(ROOT / "specs", args.spec)
    manifest = yaml.safe_load((spec.root / "manifest.yaml").read_text())
    upstream = (manifest.get("texts") or {}).get("upstream") or {}
    selections = {"ours/all": ()}
    if upstream.get("judged_by", "all") != "all":
        selections["upstream/" + "+".join(upstream["judged_by"])] = tuple(upstream["judged_by"])
    sandbox = make_sandbox(SandboxConfig(kind=SandboxKind(args.sandbox), warm=not args.cold))
    print(f"{args.spec}: reference, {args.repeat} scoring runs per selection, {type(sandbox).__name__}, "
          f"{'warm' if sandbox.warm else 'cold'}")
    for label, judged_by in selections.items():
        times, outcomes = [], set()
        for _ in range(args.repeat):
            start = time.monotonic()
            result = score(dataclasses.replace(spec, judged_by=judged_by), spec.reference_dir, sandbox)
            times.append(time.monotonic() - start)
            outcomes.add(f"{sum(t.ok for t in result.tests)}/{len(result.tests)} {result.status.value}")
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {label:<16} median {statistics.median(times):.3f} s ({runs}); {' | '.join(sorted(outcomes))}")


if __name__ == "__main__":
    main()
