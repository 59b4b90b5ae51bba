"""The harness's seams and the types that cross them. Each stage of a trial talks to the next only through these.

    spec --Generator--> implementation files --Scorer(Sandbox)--> Score (per-test outcomes) --> trial record
              |
          ModelGateway --> Reply (cached, retried, costed, transcribed) ... Usage

A Generator may call a model only through a ModelGateway; a Scorer runs untrusted code only through a Sandbox.
This module imports nothing else of the harness: the stages import it, never the other way round.

How things end is data, named once here: a scoring run ends with a ScoreStatus, a trial with a TrialStatus (every
ScoreStatus, plus the endings that happen before or around scoring); which of them count against the model, and
which test outcomes pass, are defined here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Optional, Protocol, Sequence

# -- the model gateway ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class Reply:
    """What one model call returned (from the provider or from the response cache)."""

    content: Optional[str]
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Optional[float]
    latency_s: float
    attempts: int
    ground_truth: Optional[str] = None  # only the synthetic model knows what it answered
    cached: bool = False  # answered from the response cache: no provider call, no cost

    def message(self) -> dict:
        """The assistant message in OpenAI format, to append to a conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return msg


@dataclass
class Usage:
    """What a trial's model calls add up to."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Optional[float] = 0.0
    ground_truths: list[str] = field(default_factory=list)
    truncated: int = 0  # replies cut off at max_tokens (finish_reason "length")

    def add(self, reply: Reply) -> None:
        self.calls, self.truncated = self.calls + 1, self.truncated + (reply.finish_reason == "length")
        self.cache_hits += reply.cached
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        # One unpriced call makes the total unknown rather than silently low.
        self.cost_usd = None if self.cost_usd is None or reply.cost_usd is None else self.cost_usd + reply.cost_usd
        if reply.ground_truth:
            self.ground_truths.append(reply.ground_truth)


class ModelGateway(Protocol):
    usage: Usage

    def complete(self, messages: list[dict], *, temperature: float, seed: Optional[int],
                 tools: Optional[list[dict]] = None, wire: str = "chat") -> Reply:
        """One chat completion; transient provider failures are retried inside; raises ProviderError when they
        persist. `wire` names the format an agent's request arrived in (chat, messages, responses), for the
        transcript."""


# -- generation ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationContext:
    """What a generator may use: the trial's gateway (None for controls), sampling values and a scratch folder."""

    gateway: Optional[ModelGateway]
    temperature: float
    seed: int
    workdir: Path


@dataclass(frozen=True)
class Generation:
    files: Mapping[str, str]  # relative path -> text; empty when nothing usable was produced
    detail: str = ""  # why nothing usable was produced, or notes
    ending: str = "no_code"  # with no files: how the trial ends, one of TRIAL_ENDINGS that count against the model


@dataclass(frozen=True)
class TokenBound:
    """The most tokens a generation can be billed for, read and written (the budget's claim: sweep/budget.py)."""
    prompt_tokens: int
    completion_tokens: int


class Generator(Protocol):
    def generate(self, spec: Any, ctx: GenerationContext) -> Generation:
        """Produce an implementation of `spec` (a harness.specs.loading.Spec). A reply without usable code is a
        Generation with no files."""

    def token_bound(self, spec: Any, max_tokens: int) -> Optional[TokenBound]:
        """The most `generate` can use with replies of at most `max_tokens`; None when nothing bounds it."""


# -- the sandbox ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """What the kernel counted for a run. None: the host could not count it (no usable cgroups)."""

    oom_kills: Optional[int] = None  # processes the OOM killer ended at the memory limit
    forks_refused: Optional[int] = None  # forks (and threads) refused at the process limit
    memory_at_limit: Optional[int] = None  # times usage reached the limit (memory was reclaimed; nothing failed)

    def __add__(self, other: "Events") -> "Events":
        def total(a: Optional[int], b: Optional[int]) -> Optional[int]:
            return None if a is None and b is None else (a or 0) + (b or 0)
        return Events(total(self.oom_kills, other.oom_kills), total(self.forks_refused, other.forks_refused),
                      total(self.memory_at_limit, other.memory_at_limit))


@dataclass(frozen=True)
class ExecResult:
    """How a sandboxed run ended. A child's failures and the limits it hit are data here, never exceptions."""

    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    output_exceeded: bool = False  # stdout + stderr passed the output limit, and the child was killed for it
    report: str = ""  # what the child wrote to the report channel (exec with report=True)
    disk_exceeded: bool = False  # a host dir it may write outgrew the disk limit, or its scratch filled: killed
    events: Events = Events()  # what the kernel counted at the run's limits (None where it cannot count)

    @property
    def success(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.output_exceeded or self.disk_exceeded)


class Started(Protocol):
    """A run `Sandbox.start` began: wait for its end (or a limit), or stop it now; either returns its result."""

    def wait(self) -> ExecResult: ...

    def stop(self) -> ExecResult: ...

    def __enter__(self) -> "Started": ...

    def __exit__(self, *exc: object) -> None: ...


class Sandbox(Protocol):
    name: str  # the backend that runs the code ("bwrap" or "process"), recorded with each trial
    isolates_network: bool  # True: the child has no network but a private loopback (and a gateway bound in)

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
             gateway: Optional[Path] = None, shared: Sequence[Path] = (), warm: bool = False) -> ExecResult:
        """Run untrusted code; the child's failures and limits are data in the result, never exceptions.
        `warm`: the child is `python -m pytest` of trusted code only, and may be forked from a warm template."""

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = (), warm: bool = False) -> Started:
        """Start what `exec` runs and return at once; the caller waits for it or stops it."""

    def scratch_root(self) -> Optional[Path]:
        """Where a scoring run's folder must be made for a warm child to see it; None: anywhere."""


# -- scoring -------------------------------------------------------------------------------------------------------


class TestOutcome(str, Enum):
    __test__ = False  # not a pytest test class
    passed = "passed"
    failed = "failed"
    errored = "errored"
    skipped = "skipped"


# A test passes when the suite did not fail it: passed, or skipped (the suite chose not to judge it, as pytest's exit
# code has it). The one definition of a passing test, wherever tests are counted.
PASSING_OUTCOMES = frozenset({TestOutcome.passed.value, TestOutcome.skipped.value})


def passes(outcome: str) -> bool:
    """Whether a test with this outcome passed (see PASSING_OUTCOMES)."""
    return str(getattr(outcome, "value", outcome)) in PASSING_OUTCOMES


class ScoreStatus(str, Enum):
    """How a scoring run ended. Every status but `scored` names a failure; none of them is ever a pass."""

    scored = "scored"  # the suite ran and reported every test (whatever the pass rate)
    timeout = "timeout"  # the suite exceeded the spec's time limit
    memory = "memory"  # the code under test ran out of memory (the sandbox's address-space limit)
    processes = "processes"  # the code under test hit the process limit (a fork bomb, say)
    disk = "disk"  # a file or the scratch space outgrew its limit
    output = "output"  # stdout + stderr passed the output limit (the run was killed)
    tampered = "tampered"  # the report stream was forged or garbled, or a file would shadow a module we import
    no_report = "no_report"  # pytest ended without a complete report (killed, crashed, exited early)


@dataclass(frozen=True)
class TestResult:
    __test__ = False
    test_id: str
    outcome: TestOutcome
    seconds: float
    message: str = ""  # why it did not pass (assertion or exception text); untrusted: it quotes the code's values
    clause: str = ""  # the spec clause the test checks, when the suite names one

    @property
    def ok(self) -> bool:
        return passes(self.outcome)


@dataclass(frozen=True)
class Score:
    status: ScoreStatus
    tests: tuple[TestResult, ...]
    seconds: float
    detail: str = ""
    observed: str = ""  # the limits whose hits the sandbox could see ("memory,processes,disk,output" at most)

    def count(self, outcome: TestOutcome) -> int:
        return sum(t.outcome is outcome for t in self.tests)

    @property
    def passed(self) -> bool:
        """The suite ran, reported at least one test, and every test it reported passed: the one definition of an
        implementation that passes (a trial's `passed_all`)."""
        return self.status is ScoreStatus.scored and bool(self.tests) and all(t.ok for t in self.tests)


class Scorer(Protocol):
    def __call__(self, spec: Any, impl_dir: Path, sandbox: Sandbox) -> Score:
        """Run the hidden suite of `spec` (a harness.specs.loading.Spec) against the implementation in
        `impl_dir`, in `sandbox`."""


# -- how a trial ends ----------------------------------------------------------------------------------------------

# The ways a trial ends besides those of its scoring run, and whether each counts against the model.
TRIAL_ENDINGS = {
    "no_code": True,  # the model's reply held no code (prose, or nothing), or an agent left no usable file
    "no_path": True,  # the reply held code, but no block named a file the spec needs (or only unsafe paths)
    "no_tool_calls": True,  # an agent's model answered in text and never called a tool: nothing was written
    # an agent's loop reached its turn or token limit, or outgrew the model's context, with nothing written
    "turn_limit": True, "token_limit": True, "context_full": True,
    "infra_error": False,  # the provider kept failing after every retry, or a strict replay had no recording
    "error": False,  # a harness bug, caught at the trial boundary
    "interrupted": False,  # stopped by the user (Ctrl-C); its spend is kept
}
# Every way a scoring run ends is also a way a trial ends, derived rather than copied, so a status added to
# ScoreStatus is a trial status at once.
TrialStatus = Enum("TrialStatus", {**{s.name: s.value for s in ScoreStatus}, **{k: k for k in TRIAL_ENDINGS}},
                   type=str, module=__name__)
TrialStatus.__doc__ = "How a trial ended: a ScoreStatus, or one of TRIAL_ENDINGS."
# Not the model's doing: left out of every denominator (pass rates, the summary, chain statistics, progress) and
# retried on the next run. The one definition of "counts against the model"; every other status does.
EXCLUDED_STATUSES = frozenset(name for name, counts in TRIAL_ENDINGS.items() if not counts)


# The model's endings before scoring: it left nothing to score, and a chain nothing to run next.
NO_IMPLEMENTATION = frozenset(name for name, counts in TRIAL_ENDINGS.items() if counts)


def counts_against_model(status: str) -> bool:
    """Whether a trial that ended with `status` is counted in pass rates (see EXCLUDED_STATUSES)."""
    return str(getattr(status, "value", status)) not in EXCLUDED_STATUSES
