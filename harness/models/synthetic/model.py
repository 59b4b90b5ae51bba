"""The synthetic model: an offline stand-in that speaks through litellm as the model string `harness/synthetic`.

It is not a language model. It recognises which spec a prompt carries, then answers with that spec's reference
implementation or with one seeded first-order mutant of it. The chance of a mutant grows with temperature along a
configured piecewise-linear curve. Its choice (its ground truth) travels with the reply, so a sweep of synthetic
trials can check the harness itself: every "reference" answer must pass, and mutants measure the suite.
"""

from __future__ import annotations

import functools
import hashlib
import random
from bisect import bisect_right
from pathlib import Path
from typing import Optional, Sequence

from harness.models.synthetic import tools as synthetic_tools
from harness.models.synthetic.mutate import Mutant, mutants
from harness.specs.loading import iter_files


def mutation_rate(temperature: float, temperatures: Sequence[float], rates: Sequence[float]) -> float:
    """Piecewise-linear interpolation of the curve at `temperature`, flat beyond its ends, clipped to [0, 1]."""
    if len(temperatures) != len(rates) or not temperatures:
        raise ValueError("the mutation curve needs as many rates as temperatures, and at least one point")
    if list(temperatures) != sorted(temperatures):
        raise ValueError("the mutation curve's temperatures must be increasing")
    i = bisect_right(temperatures, temperature)
    if i == 0:
        rate = rates[0]
    elif i == len(temperatures):
        rate = rates[-1]
    else:
        t0, t1, r0, r1 = temperatures[i - 1], temperatures[i], rates[i - 1], rates[i]
        rate = r0 + (r1 - r0) * (temperature - t0) / (t1 - t0)
    return min(1.0, max(0.0, rate))


@functools.lru_cache(maxsize=64)
def mutants_of(path: str, source: str) -> tuple[Mutant, ...]:
    return tuple(mutants(path, source))


def reference_files(spec_root: Path) -> dict[str, str]:
    ref = spec_root / "reference"
    return {p.relative_to(ref).as_posix(): p.read_text(encoding="utf-8") for p in iter_files(ref)}


def choose_answer(spec_root: Path, key: str, rate: float) -> tuple[dict[str, str], str]:
    """The files to answer with and the ground truth ("reference" or "mutant:<file>:<line>:<operator>").

    `key` seeds the choice, so the same (spec, seed, temperature, sample) always gets the same answer.
    """
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    files = reference_files(spec_root)
    if rng.random() >= rate:
        return files, "reference"
    candidates = [m for path, src in sorted(files.items()) if path.endswith(".py") for m in mutants_of(path, src)]
    if not candidates:
        return files, "reference"
    mutant = rng.choice(candidates)
    return {**files, mutant.path: mutant.source}, f"mutant:{mutant.label}"


def find_spec(specs_dir: Path, prompt: str, extra_texts: Optional[dict[str, str]] = None) -> Optional[Path]:
    """The spec folder whose text the prompt carries (our spec.md, or an extra text such as the upstream one).

    A text counts as carried when nearly all of its longer lines appear in the prompt, so a spec read through a
    tool that re-wraps or prefixes lines is still recognised.
    """
    candidates = [(specs_dir / name, text) for name, text in (extra_texts or {}).items()]
    candidates += [(p.parent, p.read_text(encoding="utf-8")) for p in sorted(specs_dir.glob("*/spec.md"))]
    for root, text in candidates:
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 30]
        if lines and sum(line in prompt for line in lines) >= 0.9 * len(lines):
            return root
    return None


def render_files(files: dict[str, str]) -> str:
    """Files as fenced blocks whose info string names the path (the output contract of the oneshot generator),
    each after a line holding only the path (aider's whole-file edit format)."""
    blocks = [f"{path}\n```{_language(path)} {path}\n{text.rstrip()}\n```" for path, text in sorted(files.items())]
    return "Here is the complete implementation.\n\n" + "\n\n".join(blocks) + "\n"


def _language(path: str) -> str:
    return {"py": "python", "md": "markdown", "yaml": "yaml", "json": "json"}.get(path.rsplit(".", 1)[-1], "text")


def estimate_tokens(text: str) -> int:
    """A rough count (4 characters a token) so synthetic sweeps have plausible token and cost columns."""
    return max(1, (len(text) + 3) // 4)


def prompt_text(messages: list[dict]) -> str:
    """Every message's text, one after another: what the synthetic model reads and counts tokens of. Content
    given as parts (Anthropic's and the Responses API's, translated) is read part by part."""
    return "\n".join(_text(m.get("content")) for m in messages)


def _text(content) -> str:
    if isinstance(content, list):
        return "\n".join(_text(part.get("text") if isinstance(part, dict) else part) for part in content)
    return str(content or "")


def answer(messages: list[dict], params: dict, temperature: float, seed: Optional[int]) -> tuple[str, str]:
    """The reply text and ground truth for one request; `params` carries specs_dir, curve and sample index."""
    files, truth = _choose(messages, params, temperature, seed)
    if files is None:
        return "I was not given a spec I know, so I have no implementation to offer.", truth
    return render_files(files), truth


def tool_turn(messages: list[dict], tools: list[dict], params: dict, temperature: float,
              seed: Optional[int]) -> tuple[Optional[str], list[tuple[str, dict]], Optional[str]]:
    """One agent turn when tools are offered: (final text, [(tool, arguments)], ground truth or None).

    The script, with whatever tools the agent offers (harness/models/synthetic/tools.py): read `spec.md` if the spec
    is not in the conversation yet; write every file with the agent's whole-file writer (or its patch tool);
    then end the turn with a short final message. It assumes the spec sits at spec.md in the working directory.
    """
    offered, done = synthetic_tools.tools_of(tools), [name for name, _ in synthetic_tools.calls(messages)]
    write, read = synthetic_tools.writer(offered), synthetic_tools.reader(offered)
    if write is not None and synthetic_tools.wrote(messages, write):
        return "The implementation is written.", [], None
    files, truth = _choose(messages, params, temperature, seed)
    cwd = synthetic_tools.working_dir(prompt_text(messages))
    if files is not None and write is not None:
        return None, synthetic_tools.write_calls(write, files, cwd), truth
    if files is None and read is not None and read.name not in done:
        return None, [synthetic_tools.read_call(read, "spec.md", cwd)], None
    return "I could not find a spec I know, so I wrote nothing.", [], truth


def _choose(messages: list[dict], params: dict, temperature: float, seed: Optional[int]):
    prompt = prompt_text(messages)
    spec_root = find_spec(Path(params["specs_dir"]), prompt, params.get("spec_texts"))
    if spec_root is None:
        return None, "unknown_spec"
    rate = mutation_rate(temperature, params["curve_temperatures"], params["curve_rates"])
    prompt_hash = hashlib.sha256(prompt.encode()).hexdigest()
    key = f"{params.get('model', '')}|{spec_root.name}|{prompt_hash}|{seed}|{temperature}|{params.get('sample', 0)}"
    return choose_answer(spec_root, key, rate)
