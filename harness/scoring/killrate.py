"""How strong is a spec's suite, and how independent are its verdicts? Score first-order mutants of its reference.

    harness-killrate semver                                  # every mutant: kill rate and survivors
    harness-killrate minimal-coding-agent --sample 40 --blast-radius

A mutant is killed when the suite does not pass it entirely (failed or errored tests, timeout, no report). Some
survivors are equivalent mutants (a deleted docstring, a default nobody can observe); read them before blaming
the suite. The survivors are listed so that they can be read.

`--blast-radius` runs the whole suite on every mutant (no stop at the first failure) and reports, per mutant, how
many tests it fails. One first-order change should fail the few tests of the clause it breaks; a mutant that fails
many tests either breaks something every run needs (argument parsing, start-up, the loop itself) or shows tests
that share a fate they should not. The wide mutants are listed with the clauses their failing tests name.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.messages import one_line
from harness.config.schema import PROJECT_ROOT
from harness.errors import ConfigError, command
from harness.models.synthetic.model import mutants_of, reference_files
from harness.models.synthetic.mutate import Mutant
from harness.sandbox.backends import ProcessSandbox
from harness.scoring.rooms import score
from harness.seams import Score, ScoreStatus
from harness.specs.loading import load_spec
from harness.sweep import interrupt

WIDE_SHARE = 0.10  # a mutant failing more than this share of the suite is listed with its clauses


@dataclass(frozen=True)
class MutantScore:
    mutant: Mutant
    score: Score

    @property
    def killed(self) -> bool:
        return not self.score.passed

    @property
    def blast(self) -> int:
        """Tests the mutant fails; a run that reported no tests (timeout, no report) fails them all."""
        if self.score.status is not ScoreStatus.scored:
            return -1
        return sum(not t.ok for t in self.score.tests)


def all_mutants(files: dict[str, str]) -> list[Mutant]:
    return [m for path, src in sorted(files.items()) if path.endswith(".py") for m in mutants_of(path, src)]


def score_mutant(spec, files: dict[str, str], mutant: Mutant, sandbox: ProcessSandbox, fail_fast: bool) -> MutantScore:
    with tempfile.TemporaryDirectory(prefix="harness-mutant-") as tmp:
        impl = Path(tmp)
        for rel, text in {**files, mutant.path: mutant.source}.items():
            (impl / rel).parent.mkdir(parents=True, exist_ok=True)
            (impl / rel).write_text(text, encoding="utf-8")
        return MutantScore(mutant, score(spec, impl, sandbox, fail_fast=fail_fast))


def blast_report(scored: list[MutantScore], suite_size: int) -> list[str]:
    """Median, 90th percentile and maximum of failed tests per killed mutant, and the wide mutants' clauses."""
    radii = sorted(suite_size if s.blast < 0 else s.blast for s in scored if s.killed)
    if not radii:
        return ["blast radius: no mutant was killed"]
    p90 = radii[min(len(radii) - 1, int(0.9 * len(radii)))]
    spread = " ".join(f"{width}:{n}" for width, n in sorted(Counter(radii).items()))
    lines = [f"blast radius over {len(radii)} killed mutants (tests failed, of {suite_size}): "
             f"median {statistics.median(radii):g}, p90 {p90}, max {radii[-1]}",
             f"  tests failed:mutants  {spread}"]
    for s in sorted(scored, key=lambda s: -(suite_size if s.blast < 0 else s.blast)):
        width = suite_size if s.blast < 0 else s.blast
        if s.killed and width > WIDE_SHARE * suite_size:
            clauses = Counter(t.clause or "?" for t in s.score.tests if not t.ok)
            named = ", ".join(f"{c} ({n})" for c, n in clauses.most_common(4)) or s.score.status.value
            lines.append(f"  wide: {s.mutant.label} fails {width}: {named}")
            first = next((t for t in s.score.tests if not t.ok and t.message), None)
            if first is not None:  # why, in one line: what the first failing test saw
                lines.append(f"    first: {first.test_id}: {one_line(first.message)}")
    return lines


@command("harness-killrate")
def main(argv: list[str] | None = None) -> None:
    """harness-killrate <spec>: the share of the reference's mutants that the spec's suite kills."""
    parser = argparse.ArgumentParser(prog="harness-killrate",
                                     description="Fraction of reference mutants a spec's suite kills.")
    parser.add_argument("spec")
    parser.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    parser.add_argument("--sample", type=int, default=0, help="score a random sample of this many (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blast-radius", action="store_true",
                        help="run the whole suite on each mutant and report how many tests each one fails")
    parser.add_argument("--jobs", type=int, default=1,
                        help="mutants scored at once (default 1). A suite that times what it runs (the agent's "
                             "stall and run limits) can fail a mutant only because the machine is busy: give it "
                             "idle cores")
    args = parser.parse_args(argv)
    if args.sample < 0:
        raise ConfigError(f"--sample {args.sample}: give a number of mutants to score, or 0 for all of them")
    if args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: give the number of mutants to score at once, 1 or more")
    spec = load_spec(args.specs_dir, args.spec)  # an unknown or broken spec: one line, exit 2
    files = reference_files(spec.root)
    mutants = all_mutants(files)
    if args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    sandbox = ProcessSandbox()
    began, finished, lock = time.monotonic(), itertools.count(1), threading.Lock()

    def one(mutant: Mutant) -> MutantScore:
        scored = score_mutant(spec, files, mutant, sandbox, fail_fast=not args.blast_radius)
        with lock:  # an agent's mutant takes seconds: say where the audit is
            print(f"[{next(finished)}/{len(mutants)}] {mutant.label}: {'killed' if scored.killed else 'survived'} "
                  f"({scored.score.seconds:.1f} s)", file=sys.stderr, flush=True)
        return scored

    scored = interrupt.each(one, mutants, args.jobs)  # Ctrl-C kills the mutants' runs in flight
    survivors = [s.mutant for s in scored if not s.killed]
    n = len(mutants)
    print(f"{spec.name}: {n - len(survivors)}/{n} mutants killed ({(n - len(survivors)) / max(n, 1):.1%})")
    for m in survivors:
        print(f"  survived: {m.label}")
    print(f"scored {n} mutants in {time.monotonic() - began:.1f} s")
    if args.blast_radius:
        suite_size = max((len(s.score.tests) for s in scored), default=0)
        print("\n".join(blast_report(scored, suite_size)))


if __name__ == "__main__":
    main()
