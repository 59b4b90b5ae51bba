"""Benchmark: the trial viewer at N trials. Writes the viewer's pages for N fabricated trials (a fresh process,
then again with nothing changed), and opens its table and a trial page in headless Chromium: how long the
table takes to load and to filter, and whether any page has a problem. Exits 1 on a problem.

    python benchmarks/viewer_pages.py [--records 10000] [--from runs/demo] [--keep DIR] [--shots DIR]

The trials are copies of a real experiment's (by default the demo, run once into a temporary folder, about 40 s):
each copy is its record with a new trial id and seed, and hard links to its implementation and transcript, so
every page has what a real one has.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests/browser.py

from tests.browser import Chromium  # noqa: E402

MAIN = "from harness.run.app import main; main()"
WRITE = "from harness.view.site import main; main()"
# In the table's page: how long loading took (navigation start to the end of the load event, the rows drawn by
# then), and how long drawing one cell's rows takes.
LOADED = "performance.getEntriesByType('navigation')[0].loadEventEnd"
FILTER = """(() => { const start = performance.now(); cell.value = cell.options[1].value;
  cell.dispatchEvent(new Event('input')); const one = performance.now() - start;
  const again = performance.now(); cell.value = ''; cell.dispatchEvent(new Event('input'));
  const all = performance.now() - again, count = document.getElementById('count').textContent;
  const every = performance.now(); more.click(); const shown = performance.now() - every;
  return {cell: one, all: all, every: shown, count: count,
          rows: document.querySelectorAll('#trials-table tbody tr').length}; })()"""


def fabricate(source: Path, run_dir: Path, count: int) -> None:
    """`count` trials in `run_dir`, cycling through `source`'s: a record each, its artifacts hard-linked."""
    templates = sorted((source / "trials").glob("*.json"))
    if not templates:
        sys.exit(f"no records in {source / 'trials'}")
    trials = run_dir / "trials"
    trials.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        template = templates[i % len(templates)]
        record = json.loads(template.read_text(encoding="utf-8"))
        tid = hashlib.sha256(f"viewer-{i}".encode()).hexdigest()[:16]
        record.update(trial_id=tid, seed=i // len(templates))
        (trials / f"{tid}.json").write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
        artifacts = template.with_suffix("")
        for path in artifacts.rglob("*"):
            rel = path.relative_to(artifacts)
            if path.is_file() and not path.is_symlink() and (rel.parts[0] == "impl" or rel.name == "transcript.jsonl"):
                (trials / tid / rel).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, trials / tid / rel)


def write(run_dir: Path) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", WRITE, str(run_dir)], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    return time.monotonic() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--from", dest="source", type=Path, help="runs/<experiment> to copy (default: the demo)")
    parser.add_argument("--keep", type=Path, help="experiment folder to fabricate into, or reuse")
    parser.add_argument("--shots", type=Path, help="folder for screenshots of the table and a trial page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewer-pages-") as tmp:
        run_dir = args.keep or Path(tmp) / "exp"
        if not any((run_dir / "trials").glob("*.json")):
            source = args.source
            if source is None:
                subprocess.run([sys.executable, "-c", MAIN, f"runs_dir={tmp}/demo-runs"], cwd=ROOT, check=True,
                               capture_output=True)
                source = Path(tmp) / "demo-runs" / "demo"
            fabricate(source, run_dir, args.records)
        first, said = write(run_dir)
        again, _ = write(run_dir)
        out = run_dir / "report" / "trials"
        size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
        print(f"{said}\nharness-view: {first:.1f} s the first time, {again:.1f} s with nothing changed; "
              f"{len(list(out.iterdir()))} files, {size:.0f} MB "
              f"(index.html {(out / 'index.html').stat().st_size / 2**20:.1f} MB)")
        problems = check(out, args.shots)
    sys.exit(1 if problems else 0)


def check(out: Path, shots: Path | None) -> list[str]:
    """Open the table and its first trial's page; print the timings; return every problem seen."""
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    with Chromium() as browser:
        table = browser.check((out / "index.html").as_uri(), shots / "viewer-index.png" if shots else None,
                              evaluate=f"({{loaded: {LOADED}, filter: {FILTER}}})")
        first = sorted(p for p in out.glob("*.html") if p.name != "index.html")[0]
        start = time.monotonic()
        trial = browser.check(first.as_uri(), shots / "viewer-trial.png" if shots else None, evaluate=LOADED)
        seconds = time.monotonic() - start
    value = table.value or {}
    drawn = value["filter"]
    print(f"table: loaded in {value.get('loaded', float('nan')):.0f} ms; one cell drawn in {drawn['cell']:.0f} ms, "
          f"every cell again in {drawn['all']:.0f} ms ({drawn['count']}); all {drawn['rows']} rows drawn in "
          f"{drawn['every']:.0f} ms")
    print(f"trial page {first.name}: loaded in {trial.value:.0f} ms ({seconds:.1f} s with opening and checking)")
    problems = table.problems + trial.problems
    print("problems: " + ("; ".join(problems) or "none"))
    return problems


if __name__ == "__main__":
    main()
