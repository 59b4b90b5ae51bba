"""The end of a sweep: the experiment's tables brought up to date from its records, and the summary printed."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from harness.records.tables import refresh_results
from harness.report.summary import next_steps, summarize
from harness.sweep.budget import stops


def end_of_sweep(run_dir: Path) -> Optional[str]:
    """Rebuild the experiment's tables from its records and print the summary and what to run next; say once if
    the budget stopped the sweep, and return why (None when it did not)."""
    if not (Path(run_dir) / "trials").is_dir():
        return None
    results = refresh_results(run_dir)
    print(summarize(results))
    refused = stops(run_dir)
    if refused:
        print(f"STOPPED BY BUDGET: {refused[-1]}; {len(refused)} trial(s) of this sweep not started")
    print(f"tables: {Path(run_dir) / 'results.parquet'} ({len(results)} trials)")
    print(next_steps(Path(run_dir), results))
    return refused[-1] if refused else None
