"""What two implementations did, made comparable: a spec's declared normalisations, and the first difference.

An observation is the JSON the recorder (harness/inside/harness_diff_recorder.py) reported for one scenario. A spec's manifest
lists under `diff.free` what may legitimately differ between two correct implementations; everything else must
be equal. The vocabulary is fixed here, so a manifest names behaviour and never carries code:

- `exception_message`: a raised exception is compared by its class's name and builtin ancestry, not its message;
- `system_prompt`: the text of system messages an agent sends;
- `error_wording`: any text that starts with `ERROR:` is compared as `ERROR:` alone;
- `{stderr_when_exit: [2]}`: with one of these exit statuses, stderr is compared only as empty or not;
- `{replace: REGEX, with: TEXT}`: every match in every string is replaced before comparing;
- `{drop_key: NAME}`: a key of that name is left out wherever it appears (a tool's free `description`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from harness.errors import ConfigError

SHOWN = 400  # characters of each side a divergence shows


def normaliser(free: tuple[Any, ...], spec: str = "?") -> Callable[[Any], Any]:
    """The function that maps an observation to its normalised form under the declared `free` rules."""
    rules: list[Callable[[Any], Any]] = []
    for rule in free:
        if rule == "exception_message":
            rules.append(lambda o: _each_dict(o, _drop_message))
        elif rule == "system_prompt":
            rules.append(lambda o: _each_dict(o, _blank_system))
        elif rule == "error_wording":
            rules.append(lambda o: _each_string(o, lambda s: "ERROR:" if s.startswith("ERROR:") else s))
        elif isinstance(rule, dict) and set(rule) == {"stderr_when_exit"}:
            codes = set(rule["stderr_when_exit"])
            rules.append(lambda o, codes=codes: _each_dict(o, lambda d: _stderr_presence(d, codes)))
        elif isinstance(rule, dict) and set(rule) == {"replace", "with"}:
            pattern, text = re.compile(rule["replace"]), str(rule["with"])
            rules.append(lambda o, p=pattern, t=text: _each_string(o, lambda s: p.sub(t, s)))
        elif isinstance(rule, dict) and set(rule) == {"drop_key"}:
            key = str(rule["drop_key"])
            rules.append(lambda o, k=key: _each_dict(o, lambda d: {n: v for n, v in d.items() if n != k}))
        else:
            raise ConfigError(f"spec '{spec}': diff.free rule {rule!r} is unknown; see harness/equivalence/observations.py")

    def normalise(observation: Any) -> Any:
        for rule in rules:
            observation = rule(observation)
        return observation
    return normalise


def _each_dict(value: Any, change: Callable[[dict], dict]) -> Any:
    if isinstance(value, dict):
        return change({k: _each_dict(v, change) for k, v in value.items()})
    if isinstance(value, list):
        return [_each_dict(v, change) for v in value]
    return value


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _each_string(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_each_string(v, change) for v in value]
    return value


def _drop_message(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "message"} if "raised" in d else d


def _blank_system(d: dict) -> dict:
    return {**d, "content": "<free: system prompt>"} if d.get("role") == "system" and "content" in d else d


def _stderr_presence(d: dict, codes: set) -> dict:
    if "stderr" in d and d.get("exit") in codes:
        return {**d, "stderr": "<not empty>" if d["stderr"] else ""}
    return d


def fingerprint(observations: dict[str, Any]) -> str:
    """A short hash of normalised observations: equal for implementations that behaved the same throughout."""
    return hashlib.sha256(json.dumps(observations, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Difference:
    step: str  # where in the scenario's observation: `runs[0].requests[2].new_messages[1].content`
    left: str
    right: str


def first_difference(left: Any, right: Any, path: str = "") -> Optional[Difference]:
    """The first place, in reading order, where two observations differ; None when they are equal."""
    if type(left) is not type(right) or not isinstance(left, (dict, list)):
        return None if left == right and type(left) is type(right) else Difference(path or "(whole)",
                                                                                   _show(left), _show(right))
    if isinstance(left, list):
        for index, (a, b) in enumerate(zip(left, right)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        if len(left) != len(right):
            shorter = min(len(left), len(right))
            return Difference(f"{path}[{shorter}]", _show(left[shorter:] or "(nothing)"),
                              _show(right[shorter:] or "(nothing)"))
        return None
    for key in list(left) + [k for k in right if k not in left]:
        if key not in left or key not in right:
            return Difference(f"{path}.{key}".lstrip("."), _show(left.get(key, "(absent)")),
                              _show(right.get(key, "(absent)")))
        found = first_difference(left[key], right[key], f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN else text[:SHOWN] + f"... ({len(text)} characters)"
