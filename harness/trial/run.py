"""One trial end to end: generate (through the gateway), score (in the sandbox), record (on disk).

    TrialSetup (built once by the front door, harness/trial/front_door.py) + a generator -> files -> scorer -> record

`run_trial` is the single-trial function: the front door calls it once for a trial, and a bootstrap chain
(harness/trial/chain.py) once per generation.
"""

from __future__ import annotations

import logging
import time
import traceback
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from harness.config.schema import ModelConfig
from harness.errors import ContextExceeded, ProviderError
from harness.models.cache import CacheMiss, ResponseCache
from harness.models import local
from harness.models.gateway import Gateway, prices
from harness.models.synthetic import provider as synthetic_provider
from harness.records.atomic import locked
from harness.records.store import RecordStore, TrialRecord, trial_id
from harness.sandbox.copies import write_tree
from harness.seams import (Generation, GenerationContext, Generator, Sandbox, Score, Scorer, TestOutcome, TestResult,
                           TokenBound, TrialStatus, Usage, passes)
from harness.specs.loading import Spec
from harness.sweep import interrupt
from harness.sweep.budget import Budget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelAccess:
    """How a trial reaches its model: each trial gets a gateway of its own (its transcript, its usage)."""

    model: ModelConfig
    cache: ResponseCache
    specs_dir: Path
    downloads_dir: Optional[Path] = None  # where a local model's pinned weights are kept
    server_logs: Optional[Path] = None  # where the log of a local model's server goes (the experiment folder)

    def gateway(self, spec: Spec, transcript: Path, tid: str, sample: int) -> Gateway:
        # the synthetic model is a provider like any other (served in-process, so without importing litellm),
        # told where specs are and this trial's text
        synthetic_provider.register(self.specs_dir, {spec.name: spec.text})
        served = {}
        if self.model.local is not None:  # a server of our own, started at the first call the cache cannot answer
            served = dict(endpoint=local.endpoint(self.model, self.downloads_dir, self.server_logs),
                          served_by=local.describe(self.model.local))
        return Gateway(self.model, sample=sample, transcript=transcript, cache=self.cache, trial=tid, **served)

    def cost_bound(self, tokens: Optional[TokenBound]) -> Optional[float]:
        """The most a generation within `tokens` can cost at the model's prices; None when nothing bounds it. A
        model without a known price records no cost, so it spends nothing the budget counts: 0."""
        known = prices(self.model)
        if tokens is None or known is None:
            return None if tokens is None else 0.0
        return tokens.prompt_tokens * known[0] + tokens.completion_tokens * known[1]


@dataclass(frozen=True)
class TrialSetup:
    """What every trial one config defines (a trial, or every generation of a chain) shares, built once."""

    experiment: str
    spec: Spec
    sandbox: Sandbox
    scorer: Scorer  # harness.scoring.rooms.score, the hidden suite in two rooms
    store: RecordStore
    budget: Budget
    model: ModelAccess
    temperature: float
    seed: int
    sample: int
    identity: dict  # what defines its trial (harness.trial.identity.define_trial); a chain's generations add a Place
    label: str  # the record's generator column
    chain_model: Optional[str]  # in a chain, the model driving generations 1, 2, ...
    provenance: dict  # the resolved config, kept in every record
    score_slots: AbstractContextManager = field(default_factory=nullcontext)  # held while the suite runs


@dataclass(frozen=True)
class TrialOutcome:
    record: Optional[dict]  # the record as stored on disk; None when the budget kept the trial from starting
    skipped: bool  # True when nothing ran (already recorded, or over budget)
    refused: str = ""  # why the trial did not start


@dataclass(frozen=True)
class Place:
    """Where a trial sits in its chain (generation 0 without a parent outside chains), and what it adds to the
    setup's identity (nothing outside chains)."""

    generation: int = 0
    parent_id: Optional[str] = None
    identity: Optional[dict] = None


def run_trial(setup: TrialSetup, generator: Generator, *, uses_model: bool, place: Place = Place()) -> TrialOutcome:
    """Run one trial unless it is already recorded; write its record the moment it ends, and log its verdict."""
    outcome = _run_unless_done(setup, generator, uses_model, place)
    r = outcome.record
    if r is not None:
        verdict = "already recorded" if outcome.skipped else f"{r['status']} {r['tests_passed']}/{r['tests_total']}"
        log.info("%s %s %s gen=%s T=%s seed=%s sample=%s -> %s [%s]", r["spec"], r["generator"], r["model"],
                 r["generation"], r["temperature"], r["seed"], r["sample"], verdict, r["trial_id"])
    return outcome


def _run_unless_done(setup: TrialSetup, generator: Generator, uses_model: bool, place: Place) -> TrialOutcome:
    tid = trial_id(**{**setup.identity, **(place.identity or {})})
    store = setup.store
    if store.is_done(tid):
        return TrialOutcome(store.load(tid), skipped=True)
    # Several harness processes may share an experiment (two sweeps, launcher workers): a trial runs in one only.
    with locked(store.lock_path(tid), wait=False) as mine:
        if not mine:
            log.warning("trial %s is running in another harness process; left to it", tid)
            return TrialOutcome(None, skipped=True, refused="running in another harness process")
        if store.is_done(tid):  # another process finished it between our first look and the lock
            return TrialOutcome(store.load(tid), skipped=True)
        with setup.budget.admit(tid, lambda: _cost_bound(setup, generator, uses_model)) as refusal:
            if refusal:  # said once, at the end of the sweep, not once per refused trial
                log.debug("%s [%s]", refusal, tid)
                return TrialOutcome(None, skipped=True, refused=refusal)
            return _run_one(setup, generator, tid, uses_model, place)


def _cost_bound(setup: TrialSetup, generator: Generator, uses_model: bool) -> Optional[float]:
    """What the budget claims for this trial before it starts: the most its generation can cost (None: unbounded)."""
    if not uses_model:
        return 0.0
    return setup.model.cost_bound(generator.token_bound(setup.spec, setup.model.model.max_tokens))


def _run_one(setup: TrialSetup, generator: Generator, tid: str, uses_model: bool, place: Place) -> TrialOutcome:
    artifacts = setup.store.artifacts(tid)
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "transcript.jsonl").unlink(missing_ok=True)  # a retried trial starts a fresh transcript
    gateway = setup.model.gateway(setup.spec, artifacts / "transcript.jsonl", tid, setup.sample) if uses_model else None
    ctx = GenerationContext(gateway, setup.temperature, setup.seed, artifacts)
    interrupted = None
    try:
        fields = _run_stages(setup, generator, ctx)
        interrupt.check()  # a trial in a pool's thread, stopped by Ctrl-C: its end is the user's doing
    except KeyboardInterrupt as exc:  # recorded with what it spent, then the sweep stops; retried next run
        interrupted = exc
        fields = _fields(TrialStatus.interrupted, "interrupted by the user (Ctrl-C)", 0.0, 0.0)
    model = setup.model.model
    record = TrialRecord(
        trial_id=tid, experiment=setup.experiment, spec=setup.spec.name, spec_sha256=setup.spec.spec_sha256,
        suite_sha256=setup.spec.suite_sha256, generator=setup.label, model=model.name if gateway else "-",
        litellm_model=model.litellm_model if gateway else "-", temperature=setup.temperature, seed=setup.seed,
        sample=setup.sample, generation=place.generation, parent_trial_id=place.parent_id,
        chain_model=setup.chain_model, spec_text=setup.spec.text_name, selection=setup.spec.selection,
        sandbox=setup.sandbox.name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **_served_by(setup.identity if gateway else {}),
        config=setup.provenance, **_usage_fields(gateway.usage if gateway else Usage()), **fields,
    )
    setup.store.write(record)
    if interrupted is not None:
        raise interrupted
    return TrialOutcome(setup.store.load(tid), skipped=False)


def _run_stages(setup: TrialSetup, generator: Generator, ctx: GenerationContext) -> dict:
    """Generate, then score. The trial boundary: the only place that turns an exception into a status."""
    gen_start = time.monotonic()
    gen_seconds = score_seconds = 0.0
    try:
        generation = generator.generate(setup.spec, ctx)
        gen_seconds = time.monotonic() - gen_start
        if not generation.files:  # the model's ending, named by the generator (TRIAL_ENDINGS)
            return _fields(TrialStatus(generation.ending), generation.detail, gen_seconds, 0.0)
        impl = _write_files(ctx.workdir / "impl", generation)
        with setup.score_slots:  # a sweep's concurrent trials share the cores (harness/sweep/pool.py)
            result = setup.scorer(setup.spec, impl, setup.sandbox)
        score_seconds = result.seconds
        return _fields(_status(result), _join(generation.detail, result.detail), gen_seconds, score_seconds,
                       result, impl_lines=sum(t.count("\n") + 1 for t in generation.files.values()))
    except ProviderError as exc:
        return _fields(TrialStatus.infra_error, f"{exc.error_class}: {exc}", time.monotonic() - gen_start, 0.0)
    except ContextExceeded as exc:  # the model's limit: counted against it (an agent ends its loop on it itself)
        return _fields(TrialStatus.context_full, str(exc), time.monotonic() - gen_start, 0.0)
    except CacheMiss as exc:
        return _fields(TrialStatus.infra_error, f"CacheMiss: {exc}", time.monotonic() - gen_start, 0.0)
    except Exception as exc:  # noqa: BLE001 -- a harness bug must not stop the sweep; it is recorded and retried
        log.exception("trial failed inside the harness")
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return _fields(TrialStatus.error, detail, gen_seconds or time.monotonic() - gen_start, score_seconds)


def _status(result: Score) -> TrialStatus:
    return TrialStatus(result.status.value)  # every way a scoring run ends is also a trial status


def _fields(status: TrialStatus, detail: str, gen_seconds: float, score_seconds: float,
            result: Optional[Score] = None, impl_lines: int = 0) -> dict:
    """The record's verdict columns. A test passes as `seams.passes` says (a skipped test is no failure), and the
    trial passes as `Score.passed` says."""
    tests = result.tests if result else ()
    counts = {o: sum(t.outcome is o for t in tests) for o in TestOutcome}
    total, passing = len(tests), sum(passes(t.outcome) for t in tests)
    return dict(
        status=status, detail=detail, tests_total=total, tests_passed=counts[TestOutcome.passed],
        tests_failed=counts[TestOutcome.failed], tests_errored=counts[TestOutcome.errored],
        tests_skipped=counts[TestOutcome.skipped], pass_rate=passing / total if total else 0.0,
        passed_all=result is not None and result.passed,
        impl_lines=impl_lines, gen_seconds=round(gen_seconds, 4), score_seconds=round(score_seconds, 4),
        tests=tuple(_test_entry(t) for t in tests),
    )


def _test_entry(test: TestResult) -> dict:
    """A test as the record keeps it; a test that did not pass also keeps its message (why; untrusted text)."""
    entry = {"test_id": test.test_id, "clause": test.clause, "outcome": test.outcome.value, "seconds": test.seconds}
    return entry if test.ok else {**entry, "message": test.message}


def _usage_fields(usage: Usage) -> dict:
    return dict(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                cost_usd=usage.cost_usd, model_calls=usage.calls, cache_hits=usage.cache_hits,
                truncated_replies=usage.truncated, ground_truth=";".join(usage.ground_truths) or None)


def _served_by(identity: dict) -> dict:
    """The weights and server of a model the harness serves itself, from the trial's identity."""
    model = identity.get("model")
    model = model if isinstance(model, dict) else {}  # a hand-wired trial (hello_world) may name its model only
    return dict(weights_sha256=model.get("weights_sha256"), model_server=model.get("server"))


def _write_files(folder: Path, generation: Generation) -> Path:
    write_tree(folder, generation.files)
    return folder


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
