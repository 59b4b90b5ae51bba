"""Differential runs: play one battery against two implementations of a spec and say whether they behave alike.

    harness-diff specs/semver/reference path/to/other --spec semver
    harness-diff A B --spec minimal-coding-agent --seed 3 --save-battery battery.json
    harness-diff A B --spec wordfreq --battery battery.json      # replay exactly that battery

Each implementation is recorded on its own, in the same two rooms a scoring run uses (harness/scoring/rooms.py): the
code under test in its room, our recorder (harness/inside/harness_diff_recorder.py) where the suite would be. The harness only
reads the recorder's JSON lines; nothing of either implementation is ever imported here. Observations are then
normalised by the spec's declared rules (harness/equivalence/observations.py) and compared scenario by scenario.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from harness.config.schema import INSIDE, PROJECT_ROOT, SandboxConfig, SandboxKind
from harness.equivalence.battery import Battery, build_battery, load_battery
from harness.equivalence.observations import Difference, fingerprint, first_difference, normaliser
from harness.errors import ConfigError, command
from harness.sandbox.backends import make_sandbox
from harness.sandbox.removal import remove_tree
from harness.scoring.room_files import IMPL_ROOM_FILES, SUITE_ROOM_FILES
from harness.scoring.rooms import lay_out, room_argv, shadowing
from harness.seams import Sandbox
from harness.specs.loading import Spec, load_spec, sha256_tree
from harness.sweep import interrupt

RECORDER = INSIDE / "harness_diff_recorder.py"


@dataclass(frozen=True)
class Observations:
    """What one implementation did over a battery: scenario -> normalised observation, in battery order."""

    scenarios: dict[str, Any]
    complete: bool  # every scenario of the battery was reported
    detail: str = ""  # why not, when not

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.scenarios) if self.complete else "incomplete"


@dataclass(frozen=True)
class Verdict:
    equivalent: bool
    played: int  # scenarios both sides reported
    scenario: str = ""  # the first scenario where they diverge
    difference: Optional[Difference] = None
    detail: str = ""  # a side that could not be recorded entirely

    def lines(self, left: str = "A", right: str = "B") -> list[str]:
        """The verdict in one screen."""
        if self.equivalent:
            return [f"equivalent over {self.played} scenarios"]
        alike = f"alike over the {self.played} scenarios before it" if self.played else "at the first scenario"
        head = [f"NOT equivalent ({alike})"] + ([self.detail] if self.detail else [])
        if self.difference is None:
            return head
        d = self.difference
        return head + [f"scenario: {self.scenario}", f"step:     {d.step}", f"{left}: {d.left}", f"{right}: {d.right}"]


def record(spec: Spec, impl_dir: Path, battery: Battery, sandbox: Sandbox,
           timeout_s: Optional[float] = None) -> Observations:
    """Play `battery` against the implementation in `impl_dir`, in the sandbox, and read what the recorder saw."""
    shadowed = shadowing(impl_dir, spec.suite_dir)
    if shadowed:
        return Observations({}, False, shadowed)
    scratch = Path(tempfile.mkdtemp(prefix="harness-diff-"))
    try:
        with sandbox.writable(scratch / "run") as wdir:  # capped, as a scoring run's (harness/scoring/rooms.py)
            work = _lay_out(wdir.path, spec, impl_dir, battery)
            result = _play(work, spec, sandbox, timeout_s or spec.time_limit_s)
    finally:
        remove_tree(scratch)
    return _read_report(result.report, battery, _why(result))


def record_cached(spec: Spec, impl: Path, battery: Battery, sandbox: Sandbox, cache: Path) -> Observations:
    """`record`, kept under `cache` by the hashes of everything that decides what it sees: the implementation,
    the battery, the spec's suite and manifest, and our recorder."""
    key = hashlib.sha256("\n".join([sha256_tree(impl), battery.to_json(), spec.suite_sha256, spec.manifest_sha256,
                                     hashlib.sha256(RECORDER.read_bytes()).hexdigest()]).encode()).hexdigest()
    path = Path(cache) / f"{spec.name}-{key[:24]}.json"
    with _one_at_a_time(path):  # threads asking for one recording (identical implementations) record it once
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return Observations(data["scenarios"], data["complete"], data["detail"])
        seen = record(spec, impl, battery, sandbox)
        if interrupt.stopping():  # Ctrl-C killed this recording's runs (interrupt.each): what they saw is not kept
            raise KeyboardInterrupt
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"scenarios": seen.scenarios, "complete": seen.complete, "detail": seen.detail}))
        tmp.replace(path)
    return seen


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _one_at_a_time(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def _play(work: Path, spec: Spec, sandbox: Sandbox, limit: float) -> Any:
    """The implementation's room started, our recorder played against it where the suite would be."""
    shared, door = work / "shared", work / "shared" / "room.sock"
    warm_imports = spec.warm_imports if sandbox.warm is not None else ()
    with sandbox.start(room_argv(work, door, sandbox, warm_imports), cwd=work, env={}, timeout_s=limit + 5,
                       keep_writes=False, shared=[shared],
                       read_only=[work / "impl", *(work / n for n in IMPL_ROOM_FILES)]) as room:
        result = sandbox.exec(
            [sys.executable, str(work / "harness_diff_recorder.py"), str(work / "battery.json"),
             str(shared / "diff")], cwd=work, timeout_s=limit, keep_writes=False, report=True, shared=[shared],
            env={"HARNESS_ROOM": str(door), "HARNESS_IMPL_DIR": str(work / "impl"), "PYTHONPATH": str(work)},
            read_only=[work / "suite", work / "battery.json", work / "harness_diff_recorder.py",
                       *(work / n for n in SUITE_ROOM_FILES)])
        room.stop()
    return result


def _lay_out(work: Path, spec: Spec, impl_dir: Path, battery: Battery) -> Path:
    # The recorder plays an agent battery with the suite's own scenarios and helpers; else it needs no suite.
    lay_out(work, impl_dir, spec.suite_dir if battery.kind == "agent" else None,
            {**SUITE_ROOM_FILES, "harness_diff_recorder.py": RECORDER})
    (work / "battery.json").write_text(battery.to_json(), encoding="utf-8")
    (work / "shared" / "diff").mkdir()
    (work / "shared" / "diff").chmod(0o1777)  # the recorder's scratch, written by both rooms
    return work


def _why(result: Any) -> str:
    if result.timed_out:
        return "the recorder ran out of time"
    if result.output_exceeded or result.disk_exceeded:
        return "the implementation passed the sandbox's output or disk limit"
    if result.returncode != 0:
        return f"the recorder exited {result.returncode}: {result.stderr.strip()[-300:]}"
    return ""


def _read_report(text: str, battery: Battery, why: str) -> Observations:
    expected = [s["name"] for s in battery.scenarios]
    normalise = normaliser(battery.plan.free, battery.spec)
    seen: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines()):
        try:
            event = json.loads(line)
            name, observation = event["scenario"], event["observation"]
        except (ValueError, KeyError, TypeError):
            return Observations(seen, False, f"report line {number + 1} is not an observation")
        if name not in expected or name in seen:
            return Observations(seen, False, f"report line {number + 1} names an unexpected scenario")
        seen[name] = normalise(observation)
    ordered = {name: seen[name] for name in expected if name in seen}
    missing = len(expected) - len(ordered)
    detail = why or (f"{missing} scenario(s) not reported" if missing else "")
    return Observations(ordered, not missing and not why, detail)


def compare(left: Observations, right: Observations) -> Verdict:
    """Equivalent when both sides reported every scenario and every normalised observation is equal."""
    played = 0
    for name, observed in left.scenarios.items():
        if name not in right.scenarios:
            continue
        found = first_difference(observed, right.scenarios[name])
        if found:
            return Verdict(False, played, name, found, left.detail or right.detail)
        played += 1
    if not (left.complete and right.complete):
        sides = [f"{s}: {o.detail}" for s, o in (("A", left), ("B", right)) if not o.complete]
        return Verdict(False, played, detail="; ".join(sides))
    return Verdict(True, played)


def diff(spec: Spec, left: Path, right: Path, sandbox: Sandbox, battery: Battery,
         cache: Optional[Path] = None) -> Verdict:
    """Record both implementations over the same battery (at once) and compare; with `cache`, a recording made
    before (the reference's, a parent's) is read back instead of played again."""
    def one(impl: Path) -> Observations:
        return record_cached(spec, impl, battery, sandbox, cache) if cache else record(spec, impl, battery, sandbox)
    a, b = interrupt.each(one, (left, right), 2)  # Ctrl-C kills both recordings, rather than waiting for them
    return compare(a, b)


@command("harness-diff")
def main(argv: Optional[list[str]] = None) -> int:
    """harness-diff LEFT RIGHT --spec S: do two implementations behave alike? Exits 0 when they do, 1 when not."""
    parser = argparse.ArgumentParser(prog="harness-diff", description="Do two implementations of a spec behave alike?")
    parser.add_argument("left", type=Path)
    parser.add_argument("right", type=Path)
    parser.add_argument("--spec", required=True, help="the spec both implement (a folder under --specs-dir)")
    parser.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis's seed for the generated scenarios")
    parser.add_argument("--size", type=int, help="generated scenarios per template (default: the manifest's size)")
    parser.add_argument("--battery", type=Path, help="replay this saved battery instead of generating one")
    parser.add_argument("--save-battery", type=Path, help="write the battery played here, to replay it later")
    parser.add_argument("--sandbox", choices=[k.value for k in SandboxKind], default="auto")
    parser.add_argument("--cache", type=Path, default=PROJECT_ROOT / "runs" / "diff-cache",
                        help="recordings kept by content, so an implementation compared again is not replayed")
    parser.add_argument("--no-cache", action="store_true", help="record both sides afresh, keep nothing")
    args = parser.parse_args(argv)
    if args.size is not None and args.size < 1:
        raise ConfigError(f"--size {args.size}: give at least 1 generated scenario per template")
    spec = load_spec(args.specs_dir, args.spec)
    for side in (args.left, args.right):
        if not all((side / f).is_file() for f in spec.entry_files):
            raise ConfigError(f"{side} lacks {', '.join(spec.entry_files)}: give a folder holding an "
                              f"implementation of {spec.name}")
    battery = load_battery(args.battery, spec) if args.battery else build_battery(spec, args.seed, args.size)
    if args.save_battery:
        args.save_battery.write_text(battery.to_json(), encoding="utf-8")
    verdict = diff(spec, args.left, args.right, make_sandbox(SandboxConfig(kind=SandboxKind(args.sandbox))), battery,
                   None if args.no_cache else args.cache)
    print(f"{spec.name}, battery seed {battery.seed}: {len(battery.scenarios)} scenarios")
    print("\n".join(verdict.lines(f"A {args.left}", f"B {args.right}")))
    return 0 if verdict.equivalent else 1


if __name__ == "__main__":
    main()
