"""How strong is a spec's suite? Score first-order mutants of its reference and count the ones it kills.

    harness-killrate semver                 # every mutant
    harness-killrate minimal-coding-agent --sample 60 --seed 0

A mutant is killed when the suite does not pass it entirely (failed or errored tests, timeout, no report). Some
survivors are equivalent mutants (a deleted docstring, a default nobody can observe); read them before blaming
the suite. The survivors are listed so that they can be read.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from harness.config import PROJECT_ROOT
from harness.mutate import Mutant
from harness.sandbox import ProcessSandbox
from harness.scoring import ScoreStatus, TestOutcome, score
from harness.specs import load_spec
from harness.synthetic import mutants_of, reference_files


def all_mutants(files: dict[str, str]) -> list[Mutant]:
    return [m for path, src in sorted(files.items()) if path.endswith(".py") for m in mutants_of(path, src)]


def killed(spec, files: dict[str, str], mutant: Mutant, sandbox: ProcessSandbox) -> bool:
    """True when the suite rejects the mutant."""
    with tempfile.TemporaryDirectory(prefix="harness-mutant-") as tmp:
        impl = Path(tmp)
        for rel, text in {**files, mutant.path: mutant.source}.items():
            (impl / rel).parent.mkdir(parents=True, exist_ok=True)
            (impl / rel).write_text(text, encoding="utf-8")
        result = score(spec, impl, sandbox, fail_fast=True)
    passed = result.status is ScoreStatus.scored and result.tests and all(
        t.outcome in (TestOutcome.passed, TestOutcome.skipped) for t in result.tests)
    return not passed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fraction of reference mutants a spec's suite kills.")
    parser.add_argument("spec")
    parser.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    parser.add_argument("--sample", type=int, default=0, help="score a random sample of this many (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = load_spec(args.specs_dir, args.spec)
    files = reference_files(spec.root)
    mutants = all_mutants(files)
    if args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    sandbox = ProcessSandbox()
    survivors = [m for m in mutants if not killed(spec, files, m, sandbox)]
    n = len(mutants)
    print(f"{spec.name}: {n - len(survivors)}/{n} mutants killed ({(n - len(survivors)) / max(n, 1):.1%})")
    for m in survivors:
        print(f"  survived: {m.label}")


if __name__ == "__main__":
    main()
