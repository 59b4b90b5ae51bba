"""Benchmark: what the sandbox's start and wait cost one run, under each backend, from a small and a big parent.

    python benchmarks/sandbox_wait.py [--repeat 20] [--score-repeat 5] [--spec semver] [--ballast-gb 1]

Per backend, the median of: a bare `true` (`exec`, wall time), its start alone (until `start` returns: the
spawn), and one scoring run of the spec's reference. Then the harness process takes `--ballast-gb` of small
Python objects, as a sweep holding many results might, and `true` is measured again: a spawn that copies the
parent's page tables (fork, where vfork or posix_spawn would not) grows with it. Backends alternate run by run,
so background load falls on both alike. To compare revisions, run the same script with PYTHONPATH set to each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

try:
    from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
    from harness.scoring.rooms import score
    from harness.specs.loading import load_spec
except ImportError:  # PYTHONPATH set to a revision from before the package was laid out by stage
    from harness.sandbox import BwrapSandbox, ProcessSandbox, bwrap_available
    from harness.scoring import score
    from harness.specs import load_spec

ROOT = Path(__file__).resolve().parent.parent


def bare_true(backends: list, repeat: int) -> dict[str, dict[str, float]]:
    """Median ms of a whole `exec(["true"])` and of its `start` alone, per backend."""
    times: dict[str, dict[str, list[float]]] = {b.name: {"exec": [], "start": []} for b in backends}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for backend in backends:
                sandbox = backend()
                begun = time.monotonic()
                with sandbox.start(["true"], cwd=Path(tmp), env={}, timeout_s=30) as running:
                    started = time.monotonic()
                    result = running.wait()
                ended = time.monotonic()
                assert result.success, result.stderr
                times[backend.name]["start"].append(started - begun)
                times[backend.name]["exec"].append(ended - begun)
    return {name: {k: statistics.median(v) * 1000 for k, v in kinds.items()} for name, kinds in times.items()}


def scoring(backends: list, spec, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {b.name: [] for b in backends}
    for _ in range(repeat):
        for backend in backends:
            begun = time.monotonic()
            result = score(spec, spec.reference_dir, backend())
            times[backend.name].append(time.monotonic() - begun)
            assert result.passed, (result.status, result.detail)
    return {name: statistics.median(v) * 1000 for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--score-repeat", type=int, default=5)
    parser.add_argument("--spec", default="semver")
    parser.add_argument("--ballast-gb", type=float, default=1.0)
    args = parser.parse_args()
    backends = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
    spec = load_spec(ROOT / "specs", args.spec)
    small = bare_true(backends, args.repeat)
    scored = scoring(backends, spec, args.score_repeat)
    # About 36 bytes an int (object and list slot): many small objects, as a parent's heap really is.
    ballast = list(range(int(args.ballast_gb * 1e9 / 36)))
    big = bare_true(backends, args.repeat)
    print(f"medians: bare true x{args.repeat}, scoring {args.spec} x{args.score_repeat}; "
          f"big parent holds {len(ballast):,} ints (~{args.ballast_gb:g} GB)")
    for backend in backends:
        name = backend.name
        print(f"  {name:<8} true {small[name]['exec']:6.1f} ms (start {small[name]['start']:5.1f} ms) | "
              f"big parent: true {big[name]['exec']:6.1f} ms (start {big[name]['start']:5.1f} ms) | "
              f"scoring {scored[name]:6.0f} ms")


if __name__ == "__main__":
    main()
