"""Spec loading: a spec is a folder with spec.md, manifest.yaml, a hidden suite/ and a reference/ (see specs/README.md)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from harness.errors import SpecError
from harness.sandbox.copies import hash_tree
from harness.sandbox.walk import OWN_TREES
from harness.specs.pins import Pin, fetch

IGNORED_PARTS = {"__pycache__", ".pytest_cache"}


ALL_TESTS = "all"  # a text judged by every test of the suite
MAX_TIME_LIMIT_S = 10.0 ** 8  # past what a wait can be set to (a C long of milliseconds), every run would crash


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    root: Path
    text: str  # what a model is given: our spec.md, or the upstream text when selected
    entry_files: tuple[str, ...]
    time_limit_s: float
    agent_command: Optional[tuple[str, ...]]
    upstream: Optional[Pin]  # the original text this spec restates, when there is one
    spec_sha256: str
    suite_sha256: str
    manifest_sha256: str = ""  # the manifest decides time limits, entry files and how an agent is run
    text_name: str = "ours"  # which text `text` is: "ours" or "upstream"
    judged_by: tuple[str, ...] = ()  # clause tags whose tests judge this text; () means every test
    # Libraries (from site-packages) a warm interpreter in the implementation's room imports once, for the
    # Python programs the suite starts there (harness/inside/harness_room_zygote.py); () starts each one cold.
    warm_imports: tuple[str, ...] = ()

    @property
    def selection(self) -> str:
        """The tests that judge this text, as a short label: "all", or the clause tags joined by "+"."""
        return "+".join(self.judged_by) or ALL_TESTS

    @property
    def suite_dir(self) -> Path:
        return self.root / "suite"

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iter_files(root: Path) -> list[Path]:
    """Files under `root` in a stable order, skipping caches."""
    return sorted(
        p for p in root.rglob("*") if p.is_file() and not IGNORED_PARTS.intersection(p.relative_to(root).parts)
    )


def sha256_tree(root: Path) -> str:
    """Hash of a folder of ours (a spec's suite or reference, a trial's impl/): every file's relative path and
    bytes, in sorted order, read by descriptor as any tree is (harness/sandbox/copies.py)."""
    return hash_tree(root, OWN_TREES)[0]


def available_specs(specs_dir: Path) -> list[str]:
    return sorted(p.name for p in specs_dir.iterdir() if (p / "manifest.yaml").is_file()) if specs_dir.is_dir() else []


def load_spec(specs_dir: Path, name: str, *, upstream: bool = False, cache_dir: Optional[Path] = None) -> Spec:
    """Read and validate one spec folder. With `upstream`, the model is given the pinned original text instead
    of our spec.md (fetched once into `cache_dir`, verified by sha256)."""
    root = Path(specs_dir) / name
    if not root.is_dir():
        known = ", ".join(available_specs(Path(specs_dir))) or "none"
        raise SpecError(f"unknown spec '{name}' in {specs_dir} (available: {known})")
    for part in ("spec.md", "manifest.yaml", "suite", "reference"):
        if not (root / part).exists():
            raise SpecError(f"spec '{name}' is missing {part} (expected {root / part}); see specs/README.md")
    manifest = _read_manifest(root)
    entry_files, time_limit_s, command = _checked_fields(name, manifest)
    missing = [f for f in entry_files if not (root / "reference" / f).is_file()]
    if missing:
        raise SpecError(f"spec '{name}': reference/ lacks entry file(s) {missing}")
    if not any(root.joinpath("suite").glob("test_*.py")):
        raise SpecError(f"spec '{name}': suite/ holds no test_*.py file")
    texts = _read_texts(name, manifest)
    text_name = "upstream" if upstream else "ours"
    if text_name not in texts:
        raise SpecError(f"spec '{name}' declares no upstream text; use spec.text=ours")
    pin = texts["upstream"][0] if "upstream" in texts else None
    if upstream:
        text = fetch(pin, cache_dir).read_text(encoding="utf-8")
    else:
        text = (root / "spec.md").read_text(encoding="utf-8")
    if not text.strip():
        raise SpecError(f"spec '{name}': the {text_name} text is empty ({pin.url if upstream else root / 'spec.md'})")
    return Spec(
        name=name,
        title=str(manifest.get("title", name)),
        root=root,
        text=text,
        entry_files=entry_files,
        time_limit_s=time_limit_s,
        agent_command=command,
        upstream=pin,
        spec_sha256=sha256_text(text),
        suite_sha256=sha256_tree(root / "suite"),
        manifest_sha256=hashlib.sha256((root / "manifest.yaml").read_bytes()).hexdigest(),
        text_name=text_name,
        judged_by=texts[text_name][1],
        warm_imports=_warm_imports(name, manifest),
    )


def _warm_imports(name: str, manifest: dict) -> tuple[str, ...]:
    modules = manifest.get("warm_imports", [])
    if not (isinstance(modules, list) and all(isinstance(m, str) and re.fullmatch(r"\w+(\.\w+)*", m, re.ASCII)
                                              for m in modules)):
        raise SpecError(f"spec '{name}': manifest warm_imports must be a list of module names (e.g. [openai]), "
                        f"got {modules!r}")
    return tuple(modules)


def _checked_fields(name: str, manifest: dict) -> tuple[tuple[str, ...], float, Optional[tuple[str, ...]]]:
    """The manifest's entry files, time limit and agent command, each checked: a string where a list belongs,
    or a time limit that is not a positive number, is the spec author's one-line error, not a trial's status."""
    entry_files = manifest.get("entry_files")
    if not (isinstance(entry_files, list) and entry_files and all(_plain_path(f) for f in entry_files)):
        raise SpecError(f"spec '{name}': manifest entry_files must be a list of file names relative to reference/ "
                        f"(e.g. [{name}.py]), got {entry_files!r}")
    limit = manifest.get("time_limit_s", 60)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= MAX_TIME_LIMIT_S:
        raise SpecError(f"spec '{name}': manifest time_limit_s must be a positive number of seconds (at most "
                        f"{MAX_TIME_LIMIT_S:g}), got {limit!r}")
    command = manifest.get("agent_command")
    if command is not None and not (isinstance(command, list) and command
                                    and all(isinstance(part, str) and part for part in command)):
        raise SpecError(f"spec '{name}': manifest agent_command must be a list of strings, got {command!r}")
    return tuple(entry_files), float(limit), tuple(command) if command else None


def _plain_path(entry: object) -> bool:
    """A relative path that stays inside its folder: no absolute path, no `..`, no empty part."""
    if not isinstance(entry, str) or not entry or entry.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in entry.split("/"))


def _read_texts(name: str, manifest: dict) -> dict[str, tuple[Optional[Pin], tuple[str, ...]]]:
    """name -> (pin, clause tags judging it) for the texts a manifest declares; our spec.md always exists.

    `texts: {ours: {judged_by: all}, upstream: {url, sha256, judged_by: [paper]}}`. An older manifest's
    top-level `upstream: {url, sha256}` declares an upstream text judged by every test."""
    declared = manifest.get("texts") or ({"upstream": manifest["upstream"]} if manifest.get("upstream") else {})
    if not isinstance(declared, dict) or not set(declared) <= {"ours", "upstream"}:
        raise SpecError(f"spec '{name}': manifest texts may be 'ours' and 'upstream' only, got {declared!r}")
    texts: dict[str, tuple[Optional[Pin], tuple[str, ...]]] = {"ours": (None, ())}
    for key, entry in declared.items():
        entry = dict(entry or {})
        tags = entry.pop("judged_by", ALL_TESTS)
        if tags != ALL_TESTS and not (isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags)):
            raise SpecError(f"spec '{name}': texts.{key}.judged_by must be 'all' or a list of clause tags")
        if key == "upstream" and set(entry) != {"url", "sha256"}:
            raise SpecError(f"spec '{name}': texts.upstream needs url and sha256 (and optionally judged_by)")
        if key == "ours" and entry:
            raise SpecError(f"spec '{name}': texts.ours takes only judged_by, got {sorted(entry)}")
        texts[key] = (Pin(**entry) if key == "upstream" else None, () if tags == ALL_TESTS else tuple(sorted(tags)))
    return texts


def _read_manifest(root: Path) -> dict:
    try:
        # libyaml's safe loader where PyYAML was built with it: the same documents, 30 ms less per manifest
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        manifest = yaml.load((root / "manifest.yaml").read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise SpecError(f"spec '{root.name}': manifest.yaml is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(manifest, dict):
        raise SpecError(f"spec '{root.name}': manifest.yaml must be a mapping")
    if manifest.get("name") != root.name:
        raise SpecError(f"spec '{root.name}': manifest name {manifest.get('name')!r} differs from the folder name")
    return manifest
