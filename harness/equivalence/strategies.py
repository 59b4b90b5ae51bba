"""Named Hypothesis strategies from a spec's manifest (`diff.inputs`), and the scenarios drawn from them: CLI runs
and agent tool scripts (harness/equivalence/battery.py assembles the battery). The vocabulary is ours and small (regex, text,
sampled, integers, one_of, lists, joined), so a manifest names inputs and never carries code.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.equivalence.plan import DiffPlan


def b64(text: str) -> str:
    return base64.b64encode(str(text).encode("utf-8")).decode("ascii")


class Strategies:
    """Named Hypothesis strategies from the manifest's small vocabulary (regex, text, sampled, integers, one_of,
    lists, joined); the vocabulary is ours, so a manifest cannot run code."""

    def __init__(self, plan: "DiffPlan"):
        self.plan = plan
        self._built: dict[str, st.SearchStrategy] = {}

    def get(self, name: str) -> st.SearchStrategy:
        if name not in self._built:
            if name not in self.plan.inputs:
                raise ConfigError(f"spec '{self.plan.spec}': diff input {name!r} is not declared under inputs")
            self._built[name] = st.deferred(lambda: self._build(name, self.plan.inputs[name]))
        return self._built[name]

    def _build(self, name: str, decl: Any) -> st.SearchStrategy:
        if not isinstance(decl, dict) or len(set(decl) - {"max_size", "min_size", "seps"}) != 1:
            raise ConfigError(f"spec '{self.plan.spec}': diff input {name!r} must be one of regex, text, sampled, "
                              f"integers, one_of, lists, joined; got {decl!r}")
        low, high = int(decl.get("min_size", 0)), int(decl.get("max_size", 5))
        if "regex" in decl:
            return st.from_regex(decl["regex"], fullmatch=True)
        if "text" in decl:
            return st.text(alphabet=decl["text"], min_size=low, max_size=high)
        if "sampled" in decl:
            return st.sampled_from(list(decl["sampled"]))
        if "integers" in decl:
            return st.integers(*decl["integers"])
        if "one_of" in decl:
            return st.one_of([self.get(n) for n in decl["one_of"]])
        if "lists" in decl:
            return st.lists(self.get(decl["lists"]), min_size=low, max_size=high)
        if "joined" in decl:
            seps = st.sampled_from(list(decl.get("seps", [" "])))
            parts = st.lists(st.tuples(seps, self.get(decl["joined"])), min_size=max(low, 1), max_size=high)
            return parts.map(lambda ps: "".join(s + p for s, p in ps)[len(ps[0][0]):])
        raise ConfigError(f"spec '{self.plan.spec}': diff input {name!r}: unknown kind {sorted(decl)}")

    def cli_run(self, template: dict) -> st.SearchStrategy:
        """args (a token, or a list of alternatives, each a list of tokens; `{name}` filled from inputs),
        stdin (an input name) and files (name -> input name), all drawn together."""
        def choose(item: Any) -> st.SearchStrategy:
            if isinstance(item, str):
                return st.just([item])
            return st.sampled_from([list(alt) for alt in item])
        parts = st.tuples(*[choose(item) for item in template.get("args", [])])
        fills = st.fixed_dictionaries({n: self.get(n) for n in self.plan.inputs if _used(template, n)})

        def assemble(drawn: tuple) -> dict:
            tokens, values = drawn
            args = [token.format(**values) for part in tokens for token in part]
            stdin = str(values.get(template["stdin"], "")) if template.get("stdin") else ""
            files = {f: b64(str(values[v])) for f, v in (template.get("files") or {}).items()}
            return {"args": args, "stdin": b64(stdin), "files": files}
        return st.tuples(parts, fills).map(assemble)

    def tool_script(self, shape: dict) -> st.SearchStrategy:
        """A list of tool calls (name + arguments), each drawn from the shape's `tools`: tool -> {arg: input}
        (`read_file#2` declares a second way to call read_file)."""
        def one(tool: str, args: dict) -> st.SearchStrategy:
            return st.fixed_dictionaries({a: self.get(n) for a, n in args.items()}).map(
                lambda drawn: {"name": tool.split("#")[0], "arguments": drawn})
        calls = st.one_of([one(tool, args) for tool, args in shape["tools"].items()])
        return st.lists(calls, min_size=1, max_size=int(shape.get("max_calls", 6)))


def _used(template: dict, name: str) -> bool:
    text = json.dumps(template)
    return "{" + name + "}" in text or name == template.get("stdin") or name in (template.get("files") or {}).values()
