"""The pytest plugin the scorer loads into the sandboxed pytest. Standalone: it is copied next to the suite.

It writes one JSON line per event to the pipe in $HARNESS_REPORT_FD, as each test ends:
    {"event": "start"}
    {"event": "test", "id": ..., "outcome": passed|failed|errored|skipped, "seconds": ..., "crash": ...}
    {"event": "end", "tests": <count>, "exitstatus": <pytest's exit code>}
The scorer checks the stream's shape (harness/scoring.py). A stream is harder to forge than a report file the
code under test could rewrite at exit, but code running in this process can still reach the pipe: suites that
run the implementation as a subprocess are the ones whose reports it cannot touch.
"""

import json
import os

_fd = int(os.environ.pop("HARNESS_REPORT_FD", "-1"))  # popped: processes the tests start do not learn it
_sink = None
_count = 0
_pending = {}  # nodeid -> (outcome, seconds, crash), until its teardown is reported


def _emit(**event):
    _sink.write(json.dumps(event) + "\n")
    _sink.flush()


def _test_id(nodeid):
    """The id pytest's junit report would give: dotted module path and classes, then the test name."""
    path, *names = nodeid.split("::")
    module = path[:-3] if path.endswith(".py") else path
    return ".".join([module.replace("/", "."), *names[:-1]]) + "::" + (names[-1] if names else "")


def _crash(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message[:300]
    lines = [line for line in str(report.longrepr or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


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
              crash=_crash(report))


def pytest_runtest_logreport(report):
    global _count
    if _sink is None:
        return
    outcome, seconds, crash = _pending.get(report.nodeid, ("passed", 0.0, ""))
    seconds += report.duration
    if report.skipped and outcome == "passed":
        outcome = "skipped"
    elif report.failed:
        outcome = "failed" if report.when == "call" else "errored"
        crash = crash or _crash(report)
    if report.when != "teardown":
        _pending[report.nodeid] = (outcome, seconds, crash)
        return
    _pending.pop(report.nodeid, None)
    _count += 1
    _emit(event="test", id=_test_id(report.nodeid), outcome=outcome, seconds=round(seconds, 4), crash=crash)


def pytest_sessionfinish(session, exitstatus):
    if _sink is not None:
        _emit(event="end", tests=_count, exitstatus=int(exitstatus))
