"""The pytest plugin the scorer loads into the sandboxed pytest. Standalone: it is copied next to the suite.

It writes one JSON line per event to the pipe in $HARNESS_REPORT_FD, as each test ends:
    {"event": "start"}
    {"event": "test", "id": ..., "outcome": passed|failed|errored|skipped, "seconds": ..., "message": ...,
     "clause": ...}
    {"event": "end", "tests": <count>, "exitstatus": <pytest's exit code>}

Selection: a suite may mark each test `@pytest.mark.clause(id, *texts)` (the clause it checks and the texts that
state it). `--harness-select paper,ours` keeps only the tests marked with one of those texts; without it every
test runs. `--harness-list PATH` writes the collected tests with their clauses to PATH as JSON (with
--collect-only, to build a spec's clause table).
`message` is why a test did not pass: the assertion with pytest's explanation, or the exception's type and text,
at most MESSAGE_CHARS characters ("" for a test that passed). It quotes values the code under test returned, so
the harness treats it as untrusted text (harness/scoring/judge.py caps it again).
The scorer checks the stream's shape (harness/scoring/rooms.py). A stream is harder to forge than a report file the
code under test could rewrite at exit, but code running in this process can still reach the pipe: suites that
run the implementation as a subprocess are the ones whose reports it cannot touch.
"""

import json
import os
import secrets
from pathlib import Path

import pytest

_fd = int(os.environ.pop("HARNESS_REPORT_FD", "-1"))  # popped: processes the tests start do not learn it
_sink = None
_count = 0
_pending = {}  # nodeid -> (outcome, seconds, message), until its teardown is reported
_clauses = {}  # nodeid -> the clause its marker names
MESSAGE_CHARS = 2000  # of a failure's message, a note on what was cut included


def _emit(**event):
    # Flushed with the "end" only: the judge reads outcomes from a complete stream alone, and a write per test
    # woke the harness's reader once per test, which a busy machine made the most expensive part of a test.
    _sink.write(json.dumps(event) + "\n")
    if event["event"] == "end":
        _sink.flush()


def _test_id(nodeid):
    """The id pytest's junit report would give: dotted module path and classes, then the test name."""
    path, *names = nodeid.split("::")
    module = path[:-3] if path.endswith(".py") else path
    return ".".join([module.replace("/", "."), *names[:-1]]) + "::" + (names[-1] if names else "")


def _message(report):
    """Why the test did not pass: pytest's one-exception summary (an assertion with its explanation, or
    `Type: text`), else the last line of its report (a collection error, say), capped."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    else:
        lines = [line for line in str(report.longrepr or "").splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    if len(text) > MESSAGE_CHARS:  # cut to leave room for the note, so that the whole stays within the cap
        kept = MESSAGE_CHARS - 40
        text = text[:kept] + f" [... {len(text) - kept} more characters]"
    return text


@pytest.fixture
def tmp_path(tmp_path_factory):
    """pytest's tmp_path, replaced: a fresh folder under a random name in the rooms' shared dir
    ($HARNESS_SCRATCH, which neither room can list: harness/scoring/rooms.py). pytest's own are named after the
    test (tmp/test_<name>0) and sit side by side, which would tell the implementation which test calls it and
    where the other tests' inputs are; this one is reached only by the path the suite hands it."""
    scratch = os.environ.get("HARNESS_SCRATCH")
    if not scratch:  # outside the scorer (collecting a suite's clauses, say)
        return tmp_path_factory.mktemp("t")
    folder = os.path.join(scratch, secrets.token_hex(16))
    os.mkdir(folder, 0o700)
    return Path(folder)


def pytest_addoption(parser):
    parser.addoption("--harness-select", default="", help="comma-separated texts: run only tests of their clauses")
    parser.addoption("--harness-list", default="", help="write the collected tests and their clauses to this file")


def _clause(item):
    marker = item.get_closest_marker("clause")
    return (str(marker.args[0]), [str(t) for t in marker.args[1:]]) if marker and marker.args else ("", [])


def pytest_collection_modifyitems(session, config, items):
    texts = {t for t in config.getoption("harness_select").split(",") if t}
    if texts:
        kept = [item for item in items if texts.intersection(_clause(item)[1])]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    for item in items:
        _clauses[item.nodeid] = _clause(item)[0]
    listing = config.getoption("harness_list")
    if listing:
        with open(listing, "w", encoding="utf-8") as out:
            json.dump([{"id": _test_id(item.nodeid), "function": getattr(item, "originalname", item.name),
                        "clause": _clause(item)[0], "texts": _clause(item)[1],
                        "what": item.get_closest_marker("clause").kwargs.get("what", "") if _clause(item)[0] else ""}
                       for item in items], out)


def pytest_configure(config):
    global _sink
    if _fd >= 0 and _sink is None:
        os.set_inheritable(_fd, False)
        _sink = os.fdopen(_fd, "w", encoding="utf-8")
        _emit(event="start")


def pytest_collectreport(report):
    global _count
    if _sink is not None and report.failed:
        _count += 1
        _emit(event="test", id=_test_id(report.nodeid) + "<collection>", outcome="errored", seconds=0.0,
              message=_message(report))


def pytest_runtest_logreport(report):
    global _count
    if _sink is None:
        return
    outcome, seconds, message = _pending.get(report.nodeid, ("passed", 0.0, ""))
    seconds += report.duration
    if report.skipped and outcome == "passed":
        outcome = "skipped"
    elif report.failed:
        outcome = "failed" if report.when == "call" else "errored"
        message = message or _message(report)
    if report.when != "teardown":
        _pending[report.nodeid] = (outcome, seconds, message)
        return
    _pending.pop(report.nodeid, None)
    _count += 1
    _emit(event="test", id=_test_id(report.nodeid), outcome=outcome, seconds=round(seconds, 4), message=message,
          clause=_clauses.get(report.nodeid, ""))


def pytest_sessionfinish(session, exitstatus):
    if _sink is not None:
        _emit(event="end", tests=_count, exitstatus=int(exitstatus))
