"""The harness's seams, on one screen. Each stage of a trial talks to the next only through these.

    spec --Generator--> implementation files --Scorer(Sandbox)--> per-test outcomes --> TrialRecord

A Generator may call a model only through a ModelGateway; a Scorer runs untrusted code only through a Sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Protocol, Sequence

if TYPE_CHECKING:
    from harness.replies import Reply, Usage
    from harness.child import ExecResult, Running
    from harness.scoring import Score
    from harness.specs import Spec


class ModelGateway(Protocol):
    usage: "Usage"

    def complete(self, messages: list[dict], *, temperature: float, seed: Optional[int],
                 tools: Optional[list[dict]] = None, wire: str = "chat") -> "Reply":
        """One chat completion; transient provider failures are retried inside; raises ProviderError when they
        persist. `wire` names the format an agent's request arrived in (chat, messages, responses), for the
        transcript."""


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


class Generator(Protocol):
    def generate(self, spec: "Spec", ctx: GenerationContext) -> Generation:
        """Produce an implementation of `spec`. A reply without usable code is a Generation with no files."""


class Sandbox(Protocol):
    name: str  # the backend that runs the code ("bwrap" or "process"), recorded with each trial
    isolates_network: bool  # True: the child has no network but a private loopback (and a gateway bound in)

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
             gateway: Optional[Path] = None, shared: Sequence[Path] = ()) -> "ExecResult":
        """Run untrusted code; the child's failures and limits are data in the result, never exceptions."""

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = ()) -> "Running":
        """Start what `exec` runs and return at once; the caller waits for it or stops it."""


class Scorer(Protocol):
    def __call__(self, spec: "Spec", impl_dir: Path, sandbox: Sandbox) -> "Score":
        """Run the spec's hidden suite against the implementation in `impl_dir`."""
