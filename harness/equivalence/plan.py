"""How a spec's implementations are compared: its manifest's `diff:` section, read and checked (specs/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from harness.errors import ConfigError
from harness.specs.loading import Spec

KINDS = ("library", "cli", "agent")


@dataclass(frozen=True)
class DiffPlan:
    """How a spec's implementations are compared: its manifest's `diff:` section, checked."""

    spec: str
    kind: str
    target: str  # the module (library), the script (cli) or the entry file (agent)
    inputs: dict[str, Any]
    templates: tuple[Any, ...]  # call templates (library), run templates (cli), generated-script shapes (agent)
    examples: tuple[Any, ...]  # declared scenarios played before the generated ones
    observe: tuple[str, ...] = ()  # attributes read off an object a library call returns
    free: tuple[Any, ...] = ()  # normalisations: what may legitimately differ (harness/equivalence/observations.py)
    size: int = 20  # generated scenarios per template, unless the caller asks for another number



def read_plan(spec: Spec) -> DiffPlan:
    """The spec's `diff:` section, or a one-line ConfigError saying what is missing."""
    manifest = yaml.safe_load((spec.root / "manifest.yaml").read_text(encoding="utf-8")) or {}
    section = manifest.get("diff")
    where = f"spec '{spec.name}': manifest.yaml diff"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} section is missing; declare how implementations are driven (specs/README.md)")
    kind = section.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    target = section.get("module") or section.get("script") or section.get("entry")
    if not isinstance(target, str):
        raise ConfigError(f"{where} must name its module, script or entry file")
    inputs = section.get("inputs") or {}
    templates = section.get("calls") or section.get("runs") or section.get("generated") or []
    if not isinstance(inputs, dict) or not isinstance(templates, list):
        raise ConfigError(f"{where}: inputs must be a mapping and calls/runs/generated a list")
    size = section.get("size", 20)
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"{where}.size must be a positive integer, got {size!r}")
    return DiffPlan(spec.name, kind, target, inputs, tuple(templates), tuple(section.get("examples") or ()),
                    tuple(section.get("observe") or ()), tuple(section.get("free") or ()), size)
