"""Benchmark and check: run the demo sweep and a bootstrap chain, render both reports, open every page in
headless Chromium; print how long each report took, each page's height and any problem (a page error, a failed
load, content running off the page); save full-page screenshots to look at. Exits 1 on a problem.

    python benchmarks/report_pages.py --shots /tmp/report-shots [--runs-dir /tmp/report-runs]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests/browser.py

from tests.browser import check_pages  # noqa: E402

SWEEPS = {  # experiment folder -> the harness command's arguments
    "demo": [],
    "paper": ["experiment=paper", f"specs_dir={ROOT / 'tests' / 'fixtures'}", "spec.name=tiny-agent",
              "generator.depth=2", "seed=0,1"],
}


def run(*argv: str) -> float:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", *argv], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or proc.stderr.strip():
        sys.exit(f"{argv[0]} {' '.join(argv[1:])[:200]}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, required=True, help="folder for the screenshots")
    parser.add_argument("--runs-dir", type=Path, help="default: a new temporary folder")
    args = parser.parse_args()
    runs = args.runs_dir or Path(tempfile.mkdtemp(prefix="report-runs-"))
    args.shots.mkdir(parents=True, exist_ok=True)
    pages = []
    for experiment, overrides in SWEEPS.items():
        swept = time.monotonic()
        subprocess.run([sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={runs}", *overrides],
                       cwd=ROOT, check=True, capture_output=True)
        swept = time.monotonic() - swept
        seconds = run("from harness.report.notebooks import main; main()", str(runs / experiment))  # fails on console noise
        print(f"{experiment}: sweep {swept:.1f} s, harness-report {seconds:.1f} s")
        pages += sorted((runs / experiment / "report").glob("*.html"))
    failed = False
    for check in check_pages(pages, args.shots):
        print(f"  {check.url}: {check.height} px tall, " + ("; ".join(check.problems) or "no problem"))
        failed |= bool(check.problems)
    print(f"screenshots: {args.shots}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
