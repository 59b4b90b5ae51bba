"""Benchmark: what a cgroup per run (harness/sandbox/cgroups.py) adds to a sandboxed run, under each backend.

    python benchmarks/cgroup_overhead.py [--spec semver] [--repeat 10]

Runs a bare `true` and scores the spec's reference with and without cgroups, alternating (so background load
falls on both alike), and prints the medians and their difference. Without usable cgroups there is nothing to
measure.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness.sandbox import cgroups
from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

ROOT = Path(__file__).resolve().parent.parent


def timed(run) -> float:
    start = time.monotonic()
    run()
    return time.monotonic() - start


def measure(backend, spec, repeat: int) -> dict[str, list[float]]:
    usable = cgroups.usable
    times: dict[str, list[float]] = {k: [] for k in ("true on", "true off", "score on", "score off")}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for state in ("on", "off"):
                cgroups.usable = usable if state == "on" else (lambda: False)
                try:
                    times[f"true {state}"].append(timed(lambda: backend().exec(["true"], cwd=Path(tmp), env={},
                                                                               timeout_s=30)))
                    times[f"score {state}"].append(timed(lambda: score(spec, spec.reference_dir, backend())))
                finally:
                    cgroups.usable = usable
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="semver")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if not cgroups.usable():
        raise SystemExit("no cgroup can be made here: nothing to measure")
    spec = load_spec(ROOT / "specs", args.spec)
    for backend in [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else []):
        times = {k: statistics.median(v) for k, v in measure(backend, spec, args.repeat).items()}
        print(f"{backend.name}, {args.repeat} runs each (medians):")
        for what in ("true", "score"):
            on, off = times[f"{what} on"], times[f"{what} off"]
            label = "bare true" if what == "true" else f"scoring {args.spec}"
            print(f"  {label:<16} with cgroups {on * 1000:7.1f} ms, without {off * 1000:7.1f} ms: "
                  f"{(on - off) * 1000:+.1f} ms")


if __name__ == "__main__":
    main()
