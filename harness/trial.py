"""The front door: `run_trial` wires one trial end to end. Read this first.

    config -> spec -> generator (through the gateway) -> files -> scorer (in the sandbox) -> record on disk

A bootstrap chain (harness/chain.py) is a sequence of such trials, one per generation.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from harness.atomic import locked
from harness.budget import Budget
from harness.cache import CacheMiss, ResponseCache
from harness.config import HarnessConfig, SpecText, to_plain
from harness.errors import ProviderError
from harness.gateway import Gateway, Usage
from harness.generate import CHAIN_FIELDS, GENERATOR_FIELDS, Needs, make_generator, needs_model, prompt_templates
from harness.records import RecordStore, TrialRecord, TrialStatus, trial_id
from harness.sandbox import make_sandbox
from harness.scoring import Score, TestOutcome, score
from harness.seams import Generation, GenerationContext, Generator
from harness.specs import Spec, load_spec, sha256_text, sha256_tree
from harness.untrusted import TreeCaps, write_tree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialOutcome:
    record: Optional[dict]  # the record as stored on disk; None when the budget kept the trial from starting
    skipped: bool  # True when nothing ran (already recorded, or over budget)
    refused: str = ""  # why the trial did not start


def configured_spec(cfg: HarnessConfig) -> Spec:
    """The spec the config selects, with our text or the pinned upstream text."""
    return load_spec(Path(cfg.specs_dir), cfg.spec.name, upstream=cfg.spec.text is SpecText.upstream,
                     cache_dir=Path(cfg.downloads_dir))


def needs_for(cfg: HarnessConfig) -> Needs:
    return Needs(make_sandbox(cfg.sandbox), cfg.model.name, Path(cfg.downloads_dir), TreeCaps.of(cfg.sandbox))


def define_trial(cfg: HarnessConfig, spec: Spec) -> dict:
    """What makes a trial this trial; its hash is the trial id. Changing any of these starts a new trial.

    Everything that can change an outcome is in: the text given and its hash, the manifest, the suite and the
    tests selected, the settings the selected generator reads (GENERATOR_FIELDS; nothing it ignores), the
    content of what it reads (an imported folder, the reference tree, its prompt template), the model's
    settings, the sandbox's limits and backend, and temperature, seed and sample."""
    plain = to_plain(cfg)
    kinds = [cfg.generator.gen0, "chain"] if cfg.generator.kind == "chain" else [cfg.generator.kind]
    fields = [*GENERATOR_FIELDS.get(kinds[0], ()), *(CHAIN_FIELDS if "chain" in kinds else ())]
    generator = {"kind": cfg.generator.kind, **{k: plain["generator"][k] for k in sorted(set(fields))}}
    if "chain" in kinds and cfg.generator.show_parent:  # only then: the plain chain's trial ids stay as they were
        generator.update(show_parent=True, parent_task=cfg.generator.parent_task)
    if generator.get("import_path"):
        folder = Path(generator["import_path"]).expanduser().resolve()
        generator["import_path"] = str(folder)
        generator["import_sha256"] = sha256_tree(folder) if folder.is_dir() else None
    uses_model = needs_model(cfg.generator)
    model = {k: v for k, v in plain["model"].items() if k not in MODEL_MECHANICS} if uses_model else None
    reads_reference = kinds[0] == "reference" or (uses_model and cfg.model.synthetic is not None)
    return dict(spec=spec.name, spec_text=cfg.spec.text.value, spec_sha256=spec.spec_sha256,
                manifest_sha256=spec.manifest_sha256, suite_sha256=spec.suite_sha256, selection=spec.selection,
                reference_sha256=sha256_tree(spec.reference_dir) if reads_reference else None,
                templates=sha256_text("".join(prompt_templates(k) for k in kinds)), generator=generator,
                model=model, sandbox={**plain["sandbox"], "kind": make_sandbox(cfg.sandbox).name},
                temperature=cfg.temperature, seed=cfg.seed, sample=cfg.sample)


# Model settings that change how a call is made, not what it answers: left out of the trial id.
MODEL_MECHANICS = ("api_key_env", "timeout_s", "max_attempts", "backoff_s")


def run_trial(cfg: HarnessConfig) -> list[TrialOutcome]:
    """Run the trial (or, for generator=chain, the chain of trials) the config defines."""
    spec = configured_spec(cfg)
    if cfg.generator.kind == "chain":
        from harness.chain import run_chain

        return run_chain(cfg, spec)
    generator = make_generator(cfg.generator, needs_for(cfg))
    return [run_one(cfg, spec, generator, define_trial(cfg, spec), uses_model=needs_model(cfg.generator))]


def run_one(cfg: HarnessConfig, spec: Spec, generator: Generator, defining: dict, *, uses_model: bool,
            generation: int = 0, parent_id: Optional[str] = None, label: Optional[str] = None) -> TrialOutcome:
    """Run one trial unless it is already recorded; write its record the moment it ends, and log its verdict."""
    outcome = _run_unless_done(cfg, spec, generator, defining, uses_model, generation, parent_id, label)
    r = outcome.record
    if r is not None:
        verdict = "already recorded" if outcome.skipped else f"{r['status']} {r['tests_passed']}/{r['tests_total']}"
        log.info("%s %s %s gen=%s T=%s seed=%s sample=%s -> %s [%s]", r["spec"], r["generator"], r["model"],
                 r["generation"], r["temperature"], r["seed"], r["sample"], verdict, r["trial_id"])
    return outcome


def _run_unless_done(cfg: HarnessConfig, spec: Spec, generator: Generator, defining: dict, uses_model: bool,
                     generation: int, parent_id: Optional[str], label: Optional[str]) -> TrialOutcome:
    tid = trial_id(**defining)
    store = RecordStore(Path(cfg.runs_dir) / cfg.experiment.name)
    if store.is_done(tid):
        return TrialOutcome(store.load(tid), skipped=True)
    # Several harness processes may share an experiment (two sweeps, launcher workers): a trial runs in one only.
    with locked(store.lock_path(tid), wait=False) as mine:
        if not mine:
            log.warning("trial %s is running in another harness process; left to it", tid)
            return TrialOutcome(None, skipped=True, refused="running in another harness process")
        if store.is_done(tid):  # another process finished it between our first look and the lock
            return TrialOutcome(store.load(tid), skipped=True)
        with Budget(store.run_dir, cfg.max_cost_usd).admit(tid) as refusal:
            if refusal:  # said once, at the end of the sweep, not once per refused trial
                log.debug("%s [%s]", refusal, tid)
                return TrialOutcome(None, skipped=True, refused=refusal)
            return _run_one(cfg, spec, generator, store, tid, uses_model, generation, parent_id, label)


def _run_one(cfg: HarnessConfig, spec: Spec, generator: Generator, store: RecordStore, tid: str, uses_model: bool,
             generation: int, parent_id: Optional[str], label: Optional[str]) -> TrialOutcome:
    artifacts = store.artifacts(tid)
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "transcript.jsonl").unlink(missing_ok=True)  # a retried trial starts a fresh transcript
    gateway = None
    if uses_model:
        gateway = Gateway(cfg.model, specs_dir=Path(cfg.specs_dir), sample=cfg.sample,
                          transcript=artifacts / "transcript.jsonl",
                          cache=ResponseCache(Path(cfg.cache.dir), cfg.cache.mode), trial=tid)
        gateway.spec_texts[spec.name] = spec.text  # lets the synthetic model recognise an upstream text too
    ctx = GenerationContext(gateway, cfg.temperature, cfg.seed, artifacts)
    interrupted = None
    try:
        fields = _run_stages(cfg, spec, generator, ctx)
    except KeyboardInterrupt as exc:  # recorded with what it spent, then the sweep stops; retried next run
        interrupted = exc
        fields = _fields(TrialStatus.interrupted, "interrupted by the user (Ctrl-C)", 0.0, 0.0)
    record = TrialRecord(
        trial_id=tid, experiment=cfg.experiment.name, spec=spec.name, spec_sha256=spec.spec_sha256,
        suite_sha256=spec.suite_sha256, generator=label or cfg.generator.kind,
        model=cfg.model.name if gateway else "-", litellm_model=cfg.model.litellm_model if gateway else "-",
        temperature=cfg.temperature, seed=cfg.seed, sample=cfg.sample, generation=generation,
        parent_trial_id=parent_id, chain_model=cfg.model.name if cfg.generator.kind == "chain" else None,
        spec_text=spec.text_name, selection=spec.selection,
        sandbox=make_sandbox(cfg.sandbox).name, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config=to_plain(cfg), **_usage_fields(gateway.usage if gateway else Usage()), **fields,
    )
    store.write(record)
    if interrupted is not None:
        raise interrupted
    return TrialOutcome(store.load(tid), skipped=False)


def _run_stages(cfg: HarnessConfig, spec: Spec, generator: Generator, ctx: GenerationContext) -> dict:
    """Generate, then score. The trial boundary: the only place that turns an exception into a status."""
    gen_start = time.monotonic()
    gen_seconds = score_seconds = 0.0
    try:
        generation = generator.generate(spec, ctx)
        gen_seconds = time.monotonic() - gen_start
        if not generation.files:
            return _fields(TrialStatus.no_code, generation.detail, gen_seconds, 0.0)
        impl = _write_files(ctx.workdir / "impl", generation)
        result = score(spec, impl, make_sandbox(cfg.sandbox))
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
    tests = result.tests if result else ()
    counts = {o: sum(t.outcome is o for t in tests) for o in TestOutcome}
    total = len(tests)
    return dict(
        status=status, detail=detail, tests_total=total, tests_passed=counts[TestOutcome.passed],
        tests_failed=counts[TestOutcome.failed], tests_errored=counts[TestOutcome.errored],
        tests_skipped=counts[TestOutcome.skipped],
        pass_rate=counts[TestOutcome.passed] / total if total else 0.0,
        passed_all=status is TrialStatus.scored and total > 0 and counts[TestOutcome.passed] == total,
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
