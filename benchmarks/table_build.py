"""Benchmark: rebuilding an experiment's tables from N trial records (targets: <= 3 s, <= 500 MB peak RSS).

    python benchmarks/table_build.py [--records 10000] [--repeat 3] [--from runs/demo/trials] [--keep DIR]

Fabricates N records in a temporary experiment folder from real ones (by default it runs the demo sweep once,
about 40 s, to get its 18 records; `--from` names a folder of records to use instead): each copy gets its own
trial id, seed, creation time and timings, so every row differs while keeping a real record's shape (its
per-test list, its resolved config). Then it times `build_tables` in a fresh Python process each repeat, so the
peak RSS (the child's VmHWM) is the build's alone plus the interpreter and its imports, and prints both against
the targets. `--keep DIR` keeps (or reuses) the fabricated folder, to compare two revisions on the same records.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_MB = 3.0, 500
# The `harness` command, here and in revisions from before the package was laid out by stage (harness/app.py).
MAIN = "try:\n from harness.run.app import main\nexcept ImportError:\n from harness.app import main\nmain()"

# Run in the child: import first (not timed), then time the build and report the process's peak RSS.
CHILD = """
import json, sys, time
from pathlib import Path
try:
    from harness.records.tables import build_tables
except ImportError:  # revisions before the package was laid out by stage (harness/tables.py, or records.py before it)
    try:
        from harness.tables import build_tables
    except ImportError:
        from harness.records import build_tables
start, cpu = time.perf_counter(), time.process_time()
results, tests = build_tables(Path(sys.argv[1]))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": hwm / 1024, "results": len(results), "tests": len(tests)}))
"""


def demo_records(workdir: Path) -> Path:
    """Run the demo sweep into `workdir` and return its trials folder."""
    subprocess.run([sys.executable, "-c", MAIN, f"runs_dir={workdir}"],
                   cwd=ROOT, check=True, capture_output=True)
    return workdir / "demo" / "trials"


def fabricate(source: Path, trials: Path, count: int) -> None:
    """Write `count` records into `trials`, cycling through the records in `source` and varying what makes a row."""
    templates = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(source.glob("*.json"))]
    if not templates:
        raise SystemExit(f"no records in {source}")
    trials.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for i in range(count):
        record = dict(templates[i % len(templates)])
        tid = f"{rng.getrandbits(64):016x}"
        created = f"2026-11-25T{i % 24:02d}:{i % 60:02d}:00+00:00"
        record.update(trial_id=tid, seed=i // len(templates), created_at=created,
                      gen_seconds=round(rng.uniform(0, 30), 4), score_seconds=round(rng.uniform(0.5, 3), 4))
        record["tests"] = [{**t, "seconds": round(rng.uniform(0, 0.01), 4)} for t in record["tests"]]
        record["config"] = {**record["config"], "seed": record["seed"]}
        text = json.dumps(record, indent=1, sort_keys=True, default=str)  # as harness.records.atomic.write_json_atomic
        (trials / f"{tid}.json").write_text(text, encoding="utf-8")


def measure(run_dir: Path) -> dict:
    """One full build: the index of what the tables were built from (harness/records/table_index.py) is removed first,
    or the build would only read what changed since the last one (nothing, here)."""
    (run_dir / "tables.index.json").unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], cwd=ROOT, check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--from", dest="source", type=Path, help="a folder of real records (default: run the demo)")
    parser.add_argument("--keep", type=Path, help="experiment folder to fabricate into, or reuse when it has records")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="table-build-") as tmp:
        run_dir = args.keep or Path(tmp) / "exp"
        trials = run_dir / "trials"
        if not any(trials.glob("*.json")):
            fabricate(args.source or demo_records(Path(tmp) / "demo-runs"), trials, args.records)
        size = sum(p.stat().st_size for p in trials.glob("*.json")) / 2**20
        print(f"{len(list(trials.glob('*.json')))} records, {size:.0f} MB of JSON in {trials}")
        runs = [measure(run_dir) for _ in range(args.repeat)]
    for i, run in enumerate(runs, 1):
        print(f"  run {i}: {run['seconds']:.2f} s ({run['cpu']:.2f} s CPU), peak RSS {run['peak_mb']:.0f} MB "
              f"({run['results']} results rows, {run['tests']} tests rows)")
    seconds, peak = statistics.median(r["seconds"] for r in runs), max(r["peak_mb"] for r in runs)
    verdict = "met" if seconds <= TARGET_SECONDS else "MISSED"
    print(f"median {seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"peak RSS {peak:.0f} MB (target <= {TARGET_MB} MB: {'met' if peak <= TARGET_MB else 'MISSED'})")


if __name__ == "__main__":
    main()
