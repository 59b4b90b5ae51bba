"""The console scripts (pyproject's [project.scripts]): each loads its command only once it is running, so that Ctrl-C
while Python imports it (a second or more: Hydra, pandas, litellm) ends like Ctrl-C anywhere else in a command,
with one line and exit 130, not a traceback; so does SIGTERM. Bad input is each command's own: one line, exit 2
(`harness.errors.command`)."""

from __future__ import annotations

import importlib
import signal
import sys

from harness.errors import INTERRUPTED_EXIT

# command name -> the module whose `main` it runs
COMMANDS = {
    "harness": "harness.run.app", "harness-archive": "harness.run.archive", "harness-tables": "harness.records.tables",
    "harness-report": "harness.report.notebooks", "harness-seeds": "harness.analysis.seeds",
    "harness-killrate": "harness.scoring.killrate", "harness-clauses": "harness.specs.clauses",
    "harness-diff": "harness.equivalence.diff", "harness-equivalence": "harness.equivalence.classes",
    "harness-view": "harness.view.site", "harness-compare": "harness.report.compare",
}


def _run(name: str) -> None:
    # SIGTERM (`kill`, a scheduler ending the job, a container stopping) ends a command as Ctrl-C does: records
    # of trials in flight marked `interrupted`, servers and sandboxes stopped, one line and exit 130. Its default,
    # an exit on the spot, skipped all of that.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main = importlib.import_module(COMMANDS[name]).main
    except KeyboardInterrupt:
        print(f"{name}: interrupted while starting; nothing was done", file=sys.stderr)
        raise SystemExit(INTERRUPTED_EXIT) from None
    main()


def harness() -> None:
    _run("harness")


def archive() -> None:
    _run("harness-archive")


def tables() -> None:
    _run("harness-tables")


def report() -> None:
    _run("harness-report")


def seeds() -> None:
    _run("harness-seeds")


def killrate() -> None:
    _run("harness-killrate")


def clauses() -> None:
    _run("harness-clauses")


def diff() -> None:
    _run("harness-diff")


def equivalence() -> None:
    _run("harness-equivalence")


def view() -> None:
    _run("harness-view")


def compare() -> None:
    _run("harness-compare")
