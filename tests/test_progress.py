from __future__ import annotations

import json

from harness.progress import progress_line


def write(run_dir, tid, status, passed_all, cost):
    (run_dir / "trials").mkdir(parents=True, exist_ok=True)
    record = {"trial_id": tid, "status": status, "passed_all": passed_all, "cost_usd": cost}
    (run_dir / "trials" / f"{tid}.json").write_text(json.dumps(record))


def test_the_line_counts_records_and_running_claims(tmp_path):
    write(tmp_path, "a", "scored", True, 0.01)
    write(tmp_path, "b", "scored", False, 0.02)
    write(tmp_path, "c", "no_code", False, 0.005)
    write(tmp_path, "d", "infra_error", False, None)
    (tmp_path / "inflight").mkdir()
    (tmp_path / "inflight" / "e.json").write_text("{}")
    assert progress_line(tmp_path, 5, 8) == ("jobs 5/8 | trials: 4 done, 2 not passing, 1 infra | running 1 | "
                                             "cost $0.0350")
