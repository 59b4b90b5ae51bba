"""Sweep progress, read from the experiment's running totals and running-trial claims on disk (so it works across
workers).

On a terminal it is a status line at the bottom of the screen: whatever else is written (Hydra's log lines,
ours, the summary) first erases it and, once the line is complete, draws it again below, so that no line ever
starts on the status line's row. Otherwise (a log file, CI, a launcher's worker) it is a plain log line after
each job (in sweeps of more than 100 jobs, after every hundredth and the last).
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from harness.records.store import RecordStore

log = logging.getLogger("harness")
ERASE = "\r\033[K"  # back to the start of the row, and clear it


def progress_line(run_dir: Path, ended: int, total: int, label: str = "", made_up: bool = False) -> str:
    """`trials 3/18 | experiment: 3 recorded, 1 not passing, 0 infra | running 0 | cost $0.0123`: how many of
    this job's trials ended, then the experiment's totals (harness/records/totals.py, kept as records are written):
    `not passing` counts the trials that count against the model (harness.seams.counts_against_model)
    without passing every test, `infra` the others. `label` names the launcher job when there are several;
    `made_up` marks the cost as the synthetic model's invented prices (`cost $0.0123 at synthetic prices`)."""
    kept = RecordStore(run_dir).totals()
    running = len(list((Path(run_dir) / "inflight").glob("*.json")))
    prefix = f"{label} | " if label else ""
    return (f"{prefix}trials {ended}/{total} | experiment: {kept.records} recorded, {kept.not_passing} not "
            f"passing, {kept.records - kept.counted} infra | running {running} | cost ${kept.cost_usd:.4f}"
            + (" at synthetic prices" if made_up else ""))


def show(run_dir: Path, ended: int, total: int, label: str = "", made_up: bool = False) -> None:
    """Show progress after `ended` of the job's `total` trials; in jobs of more than 100 trials, after every
    hundredth of them and the last (a log line each is enough). `made_up`: see `progress_line`."""
    every = max(1, -(-total // 100))
    if ended % every and ended != total:
        return
    line = progress_line(run_dir, ended, total, label, made_up)
    if isinstance(sys.stderr, StatusStream):
        sys.stderr.screen.status(line)
    else:
        log.info("progress: %s", line)


class Screen:
    """One terminal shared by stdout and stderr, with a status line kept below everything else written."""

    def __init__(self, terminal: TextIO):
        self.terminal = terminal  # where the status line is drawn: the real stderr
        self.lock = threading.RLock()  # a sweep's trials run in threads (harness/sweep/pool.py) and all write here
        self.line = ""
        self.drawn = False  # the status line is on the screen, with the cursor at its end

    def status(self, line: str) -> None:
        with self.lock:
            self.line = line
            self._erase()
            self._draw()

    def write(self, stream: TextIO, text: str) -> int:
        if not text:
            return 0
        with self.lock:
            self._erase()
            written = stream.write(text)
            stream.flush()
            if text.endswith("\n"):  # only below a complete line: a partial one would be cut by the status line
                self._draw()
            return written

    def close(self) -> None:
        """Leave the last status as an ordinary line and stop drawing it."""
        if self.drawn:
            self.terminal.write("\n")
            self.terminal.flush()
        self.line, self.drawn = "", False

    def _erase(self) -> None:
        if self.drawn:
            self.terminal.write(ERASE)
            self.terminal.flush()
            self.drawn = False

    def _draw(self) -> None:
        if self.line:
            self.terminal.write(self.line)
            self.terminal.flush()
            self.drawn = True


class StatusStream:
    """A text stream on the terminal that writes through its Screen; everything else is the stream's own."""

    def __init__(self, stream: TextIO, screen: Screen):
        self.stream, self.screen = stream, screen

    def write(self, text: str) -> int:
        return self.screen.write(self.stream, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def attach(stdout: TextIO, stderr: TextIO) -> tuple[TextIO, TextIO]:
    """The streams to use as sys.stdout and sys.stderr: on a terminal, wrapped so that the progress line is kept
    below what they write (stdout only when it is the terminal too); otherwise as they are."""
    if not stderr.isatty() or isinstance(stderr, StatusStream):
        return stdout, stderr
    screen = Screen(stderr)
    return (StatusStream(stdout, screen) if stdout.isatty() else stdout), StatusStream(stderr, screen)


def detach() -> None:
    """Put back the streams `attach` wrapped, leaving the last progress line on the screen."""
    if isinstance(sys.stderr, StatusStream):
        sys.stderr.screen.close()
        sys.stderr = sys.stderr.stream
    if isinstance(sys.stdout, StatusStream):
        sys.stdout = sys.stdout.stream
