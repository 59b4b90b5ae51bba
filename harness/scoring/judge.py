"""The verdict on a scoring run: a limit the sandbox saw it hit, a report stream it forged, or per-test outcomes.

The outcomes come from our pytest plugin's stream (harness/inside/harness_report.py), read over a pipe the code
under test cannot reach, and checked for the shape only that plugin writes. A test's message quotes values the
code under test returned: it is kept as untrusted text, capped, stripped of control characters and redacted.
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass
from typing import Optional

from harness.records.redact import known_secrets, redact
from harness.seams import ExecResult, Score, ScoreStatus, TestOutcome, TestResult

MESSAGE_CHARS = 2000  # of a test's message, as the plugin caps it (a longer one is cut here again)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline: no terminal escapes
# A default repr's memory address (`<Version object at 0x7f3a...>`): a different number each run, so the message
# of a test that fails the same way twice would differ, and with it two tables of the same trials.
ADDRESS = re.compile(r"(?<= at )0x[0-9a-fA-F]+(?=>)")


def judge(result: ExecResult, time_limit_s: float) -> Score:
    """Name how the run ended: a limit the sandbox saw it hit, a report it forged, or the per-test outcomes.

    Statuses come from what the sandbox observed, never from text the code under test printed: `output` and
    `disk` from the watcher that killed the run (or a child killed by SIGXFSZ), `memory` from the OOM killer's
    count in the run's cgroup, `processes` from the forks the cgroup refused. A limit names a run that did not
    pass every test; a run that passed them all stays `scored` (it recovered, and what it was judged on is
    intact), the hit named in its detail. A limit reached with nothing killed or refused (memory reclaimed at the
    limit) is no failure. Where the host cannot count a limit's hits, none is inferred: the outcomes stand."""
    stream = read_stream(result.report)
    if stream.complete and stream.exitstatus != result.returncode:
        stream = Stream(stream.tests, False, f"pytest exited {result.returncode}, its report says {stream.exitstatus}")
    tests, seconds, seen = (stream.tests if stream.complete else ()), result.seconds, observed(result)
    if result.output_exceeded:
        return Score(ScoreStatus.output, tests, seconds, "stdout + stderr passed the sandbox's output limit", seen)
    if result.disk_exceeded:
        return Score(ScoreStatus.disk, tests, seconds, "the run's writes passed sandbox.disk_mb (a host dir it may "
                     "write, or a scratch tmpfs found full)", seen)
    hit = limit_hit(result)
    if hit and not (stream.complete and all(t.ok for t in stream.tests)):
        return Score(hit[0], tests, seconds, hit[1], seen)
    if result.timed_out:
        return Score(ScoreStatus.timeout, tests, seconds, f"suite exceeded {time_limit_s:g} s", seen)
    if stream.forged:
        return Score(ScoreStatus.tampered, (), seconds, stream.forged, seen)
    if not stream.complete:
        tail = (result.stdout + result.stderr)[-500:]
        return Score(ScoreStatus.no_report, (), seconds,
                     f"pytest exited {result.returncode} without finishing its report: {tail}", seen)
    return Score(ScoreStatus.scored, tests, seconds, f"passed every test, though {hit[1]}" if hit else "", seen)


def limit_hit(result: ExecResult) -> Optional[tuple[ScoreStatus, str]]:
    """The limit the sandbox saw the run hit, from the kernel's counts and the signals that ended its child."""
    events = result.events
    if events.oom_kills:
        return ScoreStatus.memory, f"the OOM killer ended {events.oom_kills} process(es) at sandbox.memory_mb"
    if events.forks_refused:
        return ScoreStatus.processes, f"{events.forks_refused} fork(s) refused at sandbox.processes"
    if result.returncode == -signal.SIGXFSZ:
        return ScoreStatus.disk, "killed by SIGXFSZ: a file reached sandbox.file_mb"
    return None


def observed(result: ExecResult) -> str:
    """The limits whose hits this run's sandbox could see (the record's list; what is missing was not counted)."""
    return ",".join(name for name, seen in (("memory", result.events.oom_kills is not None),
                                            ("processes", result.events.forks_refused is not None),
                                            ("disk", True), ("output", True)) if seen)


@dataclass(frozen=True)
class Stream:
    tests: tuple[TestResult, ...]
    complete: bool  # the stream ended with pytest's "end" event
    forged: str = ""  # why the stream cannot have come from our plugin alone; empty when it could
    exitstatus: int = -1  # pytest's exit code, as the end event reports it


def read_stream(text: str) -> Stream:
    """Per-test outcomes from the plugin's JSON lines, checked for the shape only our plugin writes."""
    tests: list[TestResult] = []
    seen: set[str] = set()
    secrets = known_secrets()
    lines = text.splitlines()
    for number, line in enumerate(lines):
        try:
            event = json.loads(line)
            kind = event["event"]
            if (kind == "start") != (number == 0):
                return Stream(tuple(tests), False, f"line {number + 1}: a second start or none first")
            if kind == "end":
                if number != len(lines) - 1 or event["tests"] != len(tests):
                    return Stream(tuple(tests), False, f"line {number + 1}: an end that does not close the stream")
                return Stream(tuple(tests), True, exitstatus=int(event["exitstatus"]))
            if kind == "test":
                if event["id"] in seen:
                    return Stream(tuple(tests), False, f"line {number + 1}: {event['id']} reported twice")
                seen.add(event["id"])
                tests.append(TestResult(event["id"], TestOutcome(event["outcome"]), float(event["seconds"]),
                                        untrusted_message(event.get("message", ""), secrets),
                                        str(event.get("clause", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            return Stream(tuple(tests), False, f"line {number + 1} is not a report event ({exc.__class__.__name__})")
    return Stream(tuple(tests), False)


def untrusted_message(message: object, secrets: tuple[str, ...] = ()) -> str:
    """A test's message as the harness keeps it: capped at MESSAGE_CHARS, control characters but tab and newline
    shown as U+FFFD, memory addresses in default reprs as `0x...`, known secrets masked. Anything but a string is
    no message our plugin wrote (TypeError: the stream is not ours)."""
    if not isinstance(message, str):
        raise TypeError(f"a message is text, not {type(message).__name__}")
    if len(message) > MESSAGE_CHARS:  # as the plugin cuts: the note on what was cut fits within the cap
        kept = MESSAGE_CHARS - 40
        message = message[:kept] + f" [... {len(message) - kept} more characters]"
    return redact(ADDRESS.sub("0x...", CONTROL.sub("\ufffd", message)), secrets)
