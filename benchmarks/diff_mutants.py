"""Benchmark: the suite against the differential battery, mutant by mutant.

    python benchmarks/diff_mutants.py semver [--sample 0] [--seed 0] [--size 20] [--jobs 1]
    python benchmarks/diff_mutants.py minimal-coding-agent --sample 5 --size 5

For each first-order mutant of the spec's reference (all, or a seeded sample): whether the hidden suite kills
it, whether the battery finds it non-equivalent to the reference, and how long each took. A mutant the suite
kills that the battery calls equivalent is a failure of the battery (printed, exit 1); a mutant the suite
misses that the battery shows diverging is a suite gap, printed with its divergence. `--jobs N` works on N
mutants at once (as `harness-killrate --jobs`); the report is printed in the mutants' order whatever finishes first.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from harness.config.schema import SandboxConfig
from harness.equivalence.battery import build_battery
from harness.equivalence.diff import compare, record
from harness.models.synthetic.model import reference_files
from harness.sandbox.backends import make_sandbox
from harness.scoring.killrate import all_mutants
from harness.scoring.rooms import score
from harness.specs.loading import load_spec
from harness.sweep import interrupt

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--sample", type=int, default=0, help="a seeded sample of this many mutants (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, help="generated scenarios per template (default: the manifest's)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants scored and recorded at once (default 1)")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: give the number of mutants to work on at once, 1 or more")
    spec = load_spec(ROOT / "specs", args.spec)
    sandbox = make_sandbox(SandboxConfig())
    battery = build_battery(spec, args.seed, args.size)
    started = time.monotonic()
    reference = record(spec, spec.reference_dir, battery, sandbox)
    print(f"{spec.name}: battery of {len(battery.scenarios)} scenarios; reference recorded in "
          f"{time.monotonic() - started:.1f} s, complete={reference.complete} {reference.detail}")
    files = reference_files(spec.root)
    mutants = all_mutants(files)
    if args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    counts = {"killed, diverges": 0, "killed, EQUIVALENT": 0, "survived, diverges": 0, "survived, equivalent": 0}
    audit_began = time.monotonic()

    def one(mutant):
        """(killed by the suite, the battery's verdict, seconds spent recording)"""
        with tempfile.TemporaryDirectory(prefix="harness-mutant-") as tmp:
            impl = Path(tmp)
            impl.chmod(0o755)  # the scorer copies the folder with its mode: 0700 would hide it from bwrap's uid
            for rel, text in {**files, mutant.path: mutant.source}.items():
                (impl / rel).parent.mkdir(parents=True, exist_ok=True)
                (impl / rel).write_text(text, encoding="utf-8")
            killed = not score(spec, impl, sandbox, fail_fast=True).passed
            began = time.monotonic()
            verdict = compare(reference, record(spec, impl, battery, sandbox))
            return killed, verdict, time.monotonic() - began

    results = interrupt.each(one, mutants, args.jobs)
    seconds = [spent for _, _, spent in results]
    for mutant, (killed, verdict, _) in zip(mutants, results):
        key = f"{'killed' if killed else 'survived'}, " + (
            "diverges" if not verdict.equivalent else "EQUIVALENT" if killed else "equivalent")
        counts[key] += 1
        if not killed or verdict.equivalent:
            print(f"  {mutant.label}: {key}")
            print("\n".join("    " + line for line in verdict.lines()))
    print(f"{len(mutants)} mutants: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"scored and recorded {len(mutants)} mutants in {time.monotonic() - audit_began:.1f} s")
    if seconds:
        print(f"recording a mutant: median {sorted(seconds)[len(seconds) // 2]:.1f} s, max {max(seconds):.1f} s")
    sys.exit(1 if counts["killed, EQUIVALENT"] else 0)


if __name__ == "__main__":
    main()
