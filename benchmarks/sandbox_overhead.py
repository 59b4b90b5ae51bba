"""Benchmark: what the bwrap sandbox adds to one scoring run, against the process backend.

    python benchmarks/sandbox_overhead.py [--spec semver] [--repeat 10]

Scores the spec's reference alternately under each backend (alternating spreads any background load evenly)
and prints median wall time per scoring run and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="semver")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if not bwrap_available():
        raise SystemExit("bubblewrap is not installed: apt-get install bubblewrap")
    spec = load_spec(ROOT / "specs", args.spec)
    times: dict[str, list[float]] = {"process": [], "bwrap": []}
    for _ in range(args.repeat):
        for name, sandbox in (("process", ProcessSandbox()), ("bwrap", BwrapSandbox())):
            start = time.monotonic()
            score(spec, spec.reference_dir, sandbox)
            times[name].append(time.monotonic() - start)
    process, bwrap = (statistics.median(times[k]) for k in ("process", "bwrap"))
    print(f"{args.spec}: {args.repeat} scoring runs per backend")
    print(f"  process  median {process:.3f} s")
    print(f"  bwrap    median {bwrap:.3f} s")
    print(f"  overhead {bwrap - process:+.3f} s per scoring run")


if __name__ == "__main__":
    main()
