"""One trial end to end: generate (through the gateway), score (in the sandbox), record (on disk).

    Job (built once by the front door, harness/job.py) + a generator -> files -> scorer -> record

`run_trial` is the single-trial function: the front door calls it once for a trial, and a bootstrap chain
(harness/chain.py) once per generation.
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

from harness import interrupt, synthetic_provider
from harness.atomic import locked
from harness.budget import Budget
from harness.cache import CacheMiss, ResponseCache
from harness.config import ModelConfig
from harness.errors import ProviderError
from harness.gateway import Gateway
from harness.records import RecordStore, TrialRecord, TrialStatus, passes, trial_id
from harness.replies import Usage
from harness.scoring import Score, TestOutcome, score
from harness.seams import Generation, GenerationContext, Generator, Sandbox
from harness.specs import Spec
from harness.untrusted import write_tree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelAccess:
    """How a trial reaches its model: each trial gets a gateway of its own (its transcript, its usage)."""

    model: ModelConfig
    cache: ResponseCache
    specs_dir: Path

    def gateway(self, spec: Spec, transcript: Path, tid: str, sample: int) -> Gateway:
        # the synthetic model is a provider like any other (served in-process, so without importing litellm),
        # told where specs are and this trial's text
        synthetic_provider.register(self.specs_dir, {spec.name: spec.text})
        return Gateway(self.model, sample=sample, transcript=transcript, cache=self.cache, trial=tid)


@dataclass(frozen=True)
class Job:
    """What every trial of one job (a trial, or every generation of a chain) shares, built once."""

    experiment: str
    spec: Spec
    sandbox: Sandbox
    store: RecordStore
    budget: Budget
    model: ModelAccess
    temperature: float
    seed: int
    sample: int
    identity: dict  # what defines its trial (harness.identity.define_trial); a chain's generations add a Place
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
    job's identity (nothing outside chains)."""

    generation: int = 0
    parent_id: Optional[str] = None
    identity: Optional[dict] = None


def run_trial(job: Job, generator: Generator, *, uses_model: bool, place: Place = Place()) -> TrialOutcome:
    """Run one trial unless it is already recorded; write its record the moment it ends, and log its verdict."""
    outcome = _run_unless_done(job, generator, uses_model, place)
    r = outcome.record
    if r is not None:
        verdict = "already recorded" if outcome.skipped else f"{r['status']} {r['tests_passed']}/{r['tests_total']}"
        log.info("%s %s %s gen=%s T=%s seed=%s sample=%s -> %s [%s]", r["spec"], r["generator"], r["model"],
                 r["generation"], r["temperature"], r["seed"], r["sample"], verdict, r["trial_id"])
    return outcome


def _run_unless_done(job: Job, generator: Generator, uses_model: bool, place: Place) -> TrialOutcome:
    tid = trial_id(**{**job.identity, **(place.identity or {})})
    store = job.store
    if store.is_done(tid):
        return TrialOutcome(store.load(tid), skipped=True)
    # Several harness processes may share an experiment (two sweeps, launcher workers): a trial runs in one only.
    with locked(store.lock_path(tid), wait=False) as mine:
        if not mine:
            log.warning("trial %s is running in another harness process; left to it", tid)
            return TrialOutcome(None, skipped=True, refused="running in another harness process")
        if store.is_done(tid):  # another process finished it between our first look and the lock
            return TrialOutcome(store.load(tid), skipped=True)
        with job.budget.admit(tid) as refusal:
            if refusal:  # said once, at the end of the sweep, not once per refused trial
                log.debug("%s [%s]", refusal, tid)
                return TrialOutcome(None, skipped=True, refused=refusal)
            return _run_one(job, generator, tid, uses_model, place)


def _run_one(job: Job, generator: Generator, tid: str, uses_model: bool, place: Place) -> TrialOutcome:
    artifacts = job.store.artifacts(tid)
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "transcript.jsonl").unlink(missing_ok=True)  # a retried trial starts a fresh transcript
    gateway = job.model.gateway(job.spec, artifacts / "transcript.jsonl", tid, job.sample) if uses_model else None
    ctx = GenerationContext(gateway, job.temperature, job.seed, artifacts)
    interrupted = None
    try:
        fields = _run_stages(job, generator, ctx)
        interrupt.check()  # a trial in a pool's thread, stopped by Ctrl-C: its end is the user's doing
    except KeyboardInterrupt as exc:  # recorded with what it spent, then the sweep stops; retried next run
        interrupted = exc
        fields = _fields(TrialStatus.interrupted, "interrupted by the user (Ctrl-C)", 0.0, 0.0)
    model = job.model.model
    record = TrialRecord(
        trial_id=tid, experiment=job.experiment, spec=job.spec.name, spec_sha256=job.spec.spec_sha256,
        suite_sha256=job.spec.suite_sha256, generator=job.label, model=model.name if gateway else "-",
        litellm_model=model.litellm_model if gateway else "-", temperature=job.temperature, seed=job.seed,
        sample=job.sample, generation=place.generation, parent_trial_id=place.parent_id,
        chain_model=job.chain_model, spec_text=job.spec.text_name, selection=job.spec.selection,
        sandbox=job.sandbox.name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config=job.provenance, **_usage_fields(gateway.usage if gateway else Usage()), **fields,
    )
    job.store.write(record)
    if interrupted is not None:
        raise interrupted
    return TrialOutcome(job.store.load(tid), skipped=False)


def _run_stages(job: Job, generator: Generator, ctx: GenerationContext) -> dict:
    """Generate, then score. The trial boundary: the only place that turns an exception into a status."""
    gen_start = time.monotonic()
    gen_seconds = score_seconds = 0.0
    try:
        generation = generator.generate(job.spec, ctx)
        gen_seconds = time.monotonic() - gen_start
        if not generation.files:
            return _fields(TrialStatus.no_code, generation.detail, gen_seconds, 0.0)
        impl = _write_files(ctx.workdir / "impl", generation)
        with job.score_slots:  # a sweep's concurrent trials share the cores (harness/pool.py)
            result = score(job.spec, impl, job.sandbox)
        score_seconds = result.seconds
        return _fields(_status(result), _join(generation.detail, result.detail), gen_seconds, score_seconds,
                       result, impl_lines=sum(t.count("\n") + 1 for t in generation.files.values()))
    except ProviderError as exc:
        return _fields(TrialStatus.infra_error, f"{exc.error_class}: {exc}", time.monotonic() - gen_start, 0.0)
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
    """The record's verdict columns. A test passes as `records.passes` says (a skipped test is no failure)."""
    tests = result.tests if result else ()
    counts = {o: sum(t.outcome is o for t in tests) for o in TestOutcome}
    total, passing = len(tests), sum(passes(t.outcome) for t in tests)
    return dict(
        status=status, detail=detail, tests_total=total, tests_passed=counts[TestOutcome.passed],
        tests_failed=counts[TestOutcome.failed], tests_errored=counts[TestOutcome.errored],
        tests_skipped=counts[TestOutcome.skipped], pass_rate=passing / total if total else 0.0,
        passed_all=status is TrialStatus.scored and total > 0 and passing == total,
        impl_lines=impl_lines, gen_seconds=round(gen_seconds, 4), score_seconds=round(score_seconds, 4),
        tests=tuple({"test_id": t.test_id, "clause": t.clause, "outcome": t.outcome.value, "seconds": t.seconds}
                    for t in tests),
    )


def _usage_fields(usage: Usage) -> dict:
    return dict(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                cost_usd=usage.cost_usd, model_calls=usage.calls, cache_hits=usage.cache_hits,
                ground_truth=";".join(usage.ground_truths) or None)


def _write_files(folder: Path, generation: Generation) -> Path:
    write_tree(folder, generation.files)
    return folder


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
