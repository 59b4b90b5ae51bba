"""Benchmark: scoring runs with the harness at an earlier revision and with the working tree, side by side.

    python benchmarks/judge_revisions.py BASE_REV [--specs semver wordfreq minimal-coding-agent] [--repeat 5]
                                                  [--mutants 40] [--sandbox bwrap --sandbox process]

One long-lived Python process per revision (BASE_REV exported with `git archive`, with its own specs), each
scoring on request, so that both are measured in their steady state (a warm template started once, as in a
sweep), not their start-up: first one run each to start, then `--repeat` runs of each spec's reference per
revision, alternating which goes first (background load falls on both alike). Prints medians, their ratio and
whether both revisions gave the same per-test outcomes. Then the kill-rate sample harness-killrate scores:
`--mutants` random mutants of semver's reference (seed 0), fail-fast, each scored by both in turn: total wall
time and whether every mutant got the same verdict. Where the cgroup v1 `cpuacct` controller is mounted (as root),
each revision's worker runs in a group of its own, and the CPU time its whole tree spent on a run (the harness,
templates, rooms, sandboxes) is printed beside the wall time: on a machine shared with other work, CPU time
moves far less with the load than wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A worker: reads `spec backend [mutant-index sample]` lines, scores, answers one JSON line each.
WORKER = """
import json, random, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from harness.models.synthetic.model import reference_files
from harness.sandbox.backends import BwrapSandbox, ProcessSandbox
from harness.scoring.killrate import all_mutants, score_mutant
from harness.scoring.rooms import score
from harness.specs.loading import load_spec
sandboxes = {"bwrap": BwrapSandbox(), "process": ProcessSandbox()}
for line in sys.stdin:
    name, backend, *mutant = line.split()
    spec = load_spec(Path(sys.argv[1]) / "specs", name)
    start = time.monotonic()
    if mutant:
        files = reference_files(spec.root)
        chosen = random.Random(0).sample(all_mutants(files), int(mutant[1]))[int(mutant[0])]
        answer = {"killed": score_mutant(spec, files, chosen, sandboxes[backend], fail_fast=True).killed}
    else:
        result = score(spec, spec.reference_dir, sandboxes[backend])
        answer = {"outcomes": [result.status.value, sorted((t.test_id, t.outcome.value) for t in result.tests)]}
    answer["seconds"] = time.monotonic() - start
    print(json.dumps(answer), flush=True)
"""


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class Worker:
    def __init__(self, tree: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(tree)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
        # Before its first request: every process it starts from then on is counted in its group.
        self.group = CPUACCT / f"harness-bench-{os.getpid()}-{self.proc.pid}"
        try:
            self.group.mkdir()
            (self.group / "cgroup.procs").write_text(str(self.proc.pid))
        except OSError:
            self.group = None

    def cpu(self) -> float:
        return int((self.group / "cpuacct.usage").read_text()) / 1e9 if self.group else float("nan")

    def ask(self, *words) -> dict:
        spent = self.cpu()
        self.proc.stdin.write(" ".join(map(str, words)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"a worker died: exit status {self.proc.wait()}")
        return {**json.loads(line), "cpu": self.cpu() - spent}

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        if self.group is not None:
            for _ in range(100):  # its templates end once they see its pipe close
                try:
                    self.group.rmdir()
                    return
                except OSError:
                    time.sleep(0.05)


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)
    return into


def side_by_side(workers: dict[str, Worker], repeat: int, *words) -> tuple[dict[str, list], dict[str, list]]:
    """`repeat` answers of each worker to the same request, alternating which is asked first; the times are
    (wall, CPU) pairs."""
    times: dict[str, list] = {name: [] for name in workers}
    answers: dict[str, list] = {name: [] for name in workers}
    for i in range(repeat):
        for name in list(workers)[:: 1 if i % 2 == 0 else -1]:
            answer = workers[name].ask(*words)
            times[name].append((answer.pop("seconds"), answer.pop("cpu")))
            answers[name].append(answer)
    return times, answers


def medians(runs: list) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--specs", nargs="+", default=["semver", "wordfreq", "minimal-coding-agent"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mutants", type=int, default=40)
    parser.add_argument("--sandbox", action="append", choices=["bwrap", "process"])
    parser.add_argument("--agent-repeat", type=int, default=3, help="--repeat for minimal-coding-agent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        workers = {"before": Worker(export(args.base, Path(tmp))), "after": Worker(ROOT)}
        print(f"{args.base} (before) vs the working tree (after); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores", flush=True)
        try:
            for backend in args.sandbox or ["bwrap", "process"]:
                compare(workers, backend, args)
        finally:
            for worker in workers.values():
                worker.close()
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def compare(workers: dict[str, Worker], backend: str, args: argparse.Namespace) -> None:
    """The reference of each spec, then the kill-rate sample, scored by both revisions under `backend`."""
    for spec in args.specs:
        side_by_side(workers, 1, spec, backend)  # start-up: a warm template, caches
        times, answers = side_by_side(workers, args.repeat if spec != "minimal-coding-agent" else
                                      args.agent_repeat, spec, backend)
        (before, before_cpu), (after, after_cpu) = medians(times["before"]), medians(times["after"])
        same = {json.dumps(a) for runs in answers.values() for a in runs}
        print(f"  {backend:<8} {spec:<22} before {before:6.3f} s  after {after:6.3f} s  x{before / after:4.2f}"
              f"  (CPU {before_cpu:6.3f} s -> {after_cpu:6.3f} s)"
              f"  outcomes {'identical' if len(same) == 1 else 'DIFFER'}", flush=True)
    if args.mutants:
        spent = {name: 0.0 for name in workers}
        verdicts: dict[str, list] = {name: [] for name in workers}
        for i in range(args.mutants):
            times, answers = side_by_side(workers, 1, "semver", backend, i, args.mutants)
            for name in workers:
                spent[name] += times[name][0][0]
                verdicts[name].append(answers[name][0]["killed"])
        print(f"  {backend:<8} semver, {args.mutants} mutants  before {spent['before']:6.1f} s  after "
              f"{spent['after']:6.1f} s  x{spent['before'] / spent['after']:4.2f}  "
              f"({sum(verdicts['after'])} killed; verdicts "
              f"{'identical' if verdicts['before'] == verdicts['after'] else 'DIFFER'})", flush=True)


if __name__ == "__main__":
    main()
