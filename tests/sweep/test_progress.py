"""The progress line: what it counts, and that on a terminal no other line is ever written onto its row."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import subprocess
import sys

from harness.records.totals import Totals
from harness.seams import EXCLUDED_STATUSES, TrialStatus
from harness.sweep.progress import attach, detach, progress_line, show
from tests.conftest import ROOT


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
    assert progress_line(tmp_path, 5, 8) == ("trials 5/8 | experiment: 4 recorded, 2 not passing, 1 infra | "
                                             "running 1 | cost $0.0350")
    assert progress_line(tmp_path, 5, 8, made_up=True).endswith("| cost $0.0350 at synthetic prices")


def test_every_status_is_counted_once_as_not_passing_or_infra(tmp_path):
    for status in TrialStatus:  # a claimed pass on an excluded status must not hide it from `infra`
        claims_a_pass = status is TrialStatus.scored or status.value in EXCLUDED_STATUSES
        write(tmp_path, status.value, status.value, claims_a_pass, 0.001)
    n, excluded = len(TrialStatus), len(EXCLUDED_STATUSES)
    assert progress_line(tmp_path, 1, 9, "job 1/2") == (
        f"job 1/2 | trials 1/9 | experiment: {n} recorded, {n - excluded - 1} not passing, {excluded} infra | "
        f"running 0 | cost ${n * 0.001:.4f}"
    )  # the counted ones, of which only `scored` passes


def screen(output: str) -> list[str]:
    """The rows a terminal shows for this output: `\\r` goes back to the row's start, ESC[K clears the rest of the
    row, `\\n` starts a new row."""
    rows, row, column, i = [], [], 0, 0
    while i < len(output):
        if output.startswith("\033[K", i):
            del row[column:]
            i += 3
            continue
        char = output[i]
        if char == "\r":
            column = 0
        elif char == "\n":
            rows, row, column = rows + ["".join(row)], [], 0
        else:
            row[column:column + 1] = [char]
            column += 1
        i += 1
    return rows + ["".join(row)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_other_lines_go_above_the_progress_line(tmp_path, monkeypatch):
    terminal = Terminal()  # stdout and stderr on one terminal, as in a shell
    out, err = attach(terminal, terminal)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    hydra_like = logging.getLogger("test-progress")  # Hydra's console handler writes to sys.stdout as it was
    hydra_like.addHandler(logging.StreamHandler(out))
    hydra_like.propagate = False
    write(tmp_path, "a", "scored", True, 0.01)
    show(tmp_path, 1, 2)
    hydra_like.warning("[HYDRA] #1 : seed=1")
    print("a line written", end="")
    print(" in two parts")
    show(tmp_path, 2, 2)
    detach()
    print("summary")
    assert sys.stdout is terminal and sys.stderr is terminal
    assert screen(terminal.getvalue()) == [
        "[HYDRA] #1 : seed=1", "a line written in two parts",
        "trials 2/2 | experiment: 1 recorded, 0 not passing, 0 infra | running 0 | cost $0.0100", "summary", ""]


def test_off_a_terminal_progress_is_a_log_line(tmp_path, caplog, monkeypatch):
    write(tmp_path, "a", "scored", False, None)
    with caplog.at_level(logging.INFO, logger="harness"):
        show(tmp_path, 1, 1)
    assert caplog.messages == [
        "progress: trials 1/1 | experiment: 1 recorded, 1 not passing, 0 infra | running 0 | cost $0.0000"]


def test_a_real_sweep_on_a_terminal_never_glues_a_line_to_the_progress_line(tmp_path, tiny_specs):
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from harness.run.app import main; main()", f"runs_dir={tmp_path / 'runs'}",
         f"specs_dir={tiny_specs}", "spec=semver", "spec.name=adder", "seed=0,1", "temperature=0",
         "experiment.name=tty"],
        cwd=ROOT, stdin=child, stdout=child, stderr=child, env={**os.environ, "COLUMNS": "400"})
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child side closed
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert proc.wait(timeout=300) == 0, output.decode()[-3000:]
    assert b"trials 1/2 |" in output  # drawn after the first trial, then kept below the lines that followed
    rows = screen(output.decode())
    progress = [row for row in rows if "| experiment:" in row]  # the last one stays on the screen as a line
    assert len(progress) == 1 and re.fullmatch(r"trials 2/2 \| experiment: .* cost \$\d+\.\d{4} at synthetic prices",
                                                progress[0]), rows
    # Hydra's job line says what the job runs, not its overrides (seed=0 ...) as if one trial ran
    assert any(row.startswith("[") and "[HYDRA]" in row and "#0 : 2 trial(s), batch 1 of 1" in row for row in rows), rows
    assert not [row for row in rows if "[HYDRA]" in row and not row.startswith("[")], rows


def test_totals_follow_each_write_and_are_recounted_when_records_change_by_hand(tmp_path):
    """The line reads running totals (harness/records/totals.py), not every record: a record rewritten through the store
    moves them by its own difference, and records added or deleted by hand are recounted once per sweep."""
    from harness.records.store import RecordStore

    store = RecordStore(tmp_path)
    store.write(make_record("a", status="scored", passed_all=False, cost_usd=0.25))
    store.write(make_record("b", status="infra_error", passed_all=False, cost_usd=0.5))
    assert store.totals() == Totals(records=2, counted=1, not_passing=1, cost_usd=0.75, costed=2)
    store.write(make_record("a", status="scored", passed_all=True, cost_usd=0.125))  # the same trial again
    assert store.totals() == Totals(records=2, counted=1, not_passing=0, cost_usd=0.625, costed=2)
    write(tmp_path, "c", "no_code", False, 1.0)  # by hand: the store cannot know until it counts
    assert store.totals().records == 2
    assert store.totals(verify=True) == Totals(records=3, counted=2, not_passing=1, cost_usd=1.625, costed=3)
    (tmp_path / "trials" / "b.json").unlink()
    assert store.totals(verify=True) == Totals(records=2, counted=2, not_passing=1, cost_usd=1.125, costed=2)


def make_record(tid, status, passed_all, cost_usd):
    """A whole TrialRecord, as trials write them."""
    from harness.records.store import TrialRecord

    return TrialRecord(
        trial_id=tid, experiment="e", spec="s", spec_sha256="", suite_sha256="", generator="oneshot", model="m",
        litellm_model="m", temperature=0.0, seed=0, sample=0, status=TrialStatus(status), detail="",
        ground_truth=None, tests_total=1, tests_passed=int(passed_all), tests_failed=int(not passed_all),
        tests_errored=0, tests_skipped=0, pass_rate=float(passed_all), passed_all=passed_all, impl_lines=1,
        prompt_tokens=0, completion_tokens=0, cost_usd=cost_usd, model_calls=1, cache_hits=0, gen_seconds=0.0,
        score_seconds=0.0, git_sha="x")
