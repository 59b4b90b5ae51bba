"""Benchmark: what a change costs one scoring run, against an earlier revision of the harness.

    python benchmarks/revision_overhead.py BASE_REV [--spec semver --spec wordfreq] [--repeat 5]
                                                    [--sandbox bwrap --sandbox process]

Scores each spec's reference with the harness at BASE_REV (exported with `git archive`, its own specs and
suites) and with the working tree, alternately (so background load falls on both alike), each run in a fresh
Python process, and prints the median wall time of `score()` per revision and the change.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One scoring run with the harness found in argv[1]; prints its wall time. Run from elsewhere so that argv[1]
# is the only harness on the path.
ONE_RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
try:
    from harness.sandbox.backends import BwrapSandbox, ProcessSandbox
    from harness.scoring.rooms import score
    from harness.specs.loading import load_spec
except ImportError:  # a revision from before the package was laid out by stage
    from harness.sandbox import BwrapSandbox, ProcessSandbox
    from harness.scoring import score
    from harness.specs import load_spec
spec = load_spec(Path(sys.argv[1]) / "specs", sys.argv[2])
sandbox = BwrapSandbox() if sys.argv[3] == "bwrap" else ProcessSandbox()
start = time.monotonic()
result = score(spec, spec.reference_dir, sandbox)
seconds = time.monotonic() - start
if not result.passed:
    raise SystemExit(f"the reference did not pass: {result.status.value} {result.detail}")
print(seconds)
"""


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)
    return into


def one_run(tree: Path, spec: str, sandbox: str) -> float:
    done = subprocess.run([sys.executable, "-c", ONE_RUN, str(tree), spec, sandbox], capture_output=True,
                          text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--spec", action="append")
    parser.add_argument("--sandbox", action="append", choices=["bwrap", "process"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-base-") as tmp:
        trees = {args.base: export(args.base, Path(tmp)), "working tree": ROOT}
        for spec in args.spec or ["semver", "wordfreq"]:
            for sandbox in args.sandbox or ["bwrap", "process"]:
                times: dict[str, list[float]] = {name: [] for name in trees}
                for n in range(args.repeat):
                    for name in (list(trees) if n % 2 == 0 else list(reversed(trees))):
                        times[name].append(one_run(trees[name], spec, sandbox))
                base, now = (statistics.median(times[name]) for name in trees)
                runs = "; ".join(f"{name}: " + ", ".join(f"{t:.2f}" for t in ts) for name, ts in times.items())
                print(f"{spec} {sandbox}: {args.base} median {base:.3f} s, working tree median {now:.3f} s "
                      f"({(now / base - 1) * 100:+.0f} %)  [{runs}]", flush=True)


if __name__ == "__main__":
    main()
