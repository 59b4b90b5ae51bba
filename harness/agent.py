"""The built-in agent generator: a tool-using loop inside the harness, through the gateway, in a work dir.

Its five tools mirror the minimal coding agent's (read_file, write_file, run_shell, list_files, search_text).
File tools are confined to the work dir; shell commands run in the sandbox. What the work dir holds at the end,
apart from the spec, is the implementation.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

from harness.seams import Generation, GenerationContext, Sandbox
from harness.specs import Spec, iter_files

OUTPUT_CAP = 10_000
MAX_MATCHES = 200
SPEC_FILE = "spec.md"


def _schema(name: str, description: str, required: list[str], **props: str) -> dict:
    properties = {k: {"type": v} for k, v in props.items()}
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": properties,
                                                            "required": required}}}


TOOLS = [
    _schema("read_file", "Read a text file, optionally lines start_line..end_line (1-based, inclusive).", ["path"],
            path="string", start_line="integer", end_line="integer"),
    _schema("write_file", "Create or overwrite a file, creating parent directories.", ["path", "content"],
            path="string", content="string"),
    _schema("run_shell", "Run a bash command in the work dir; returns JSON with stdout, stderr, exit_code.",
            ["command"], command="string", timeout="integer"),
    _schema("list_files", "List files matching a glob pattern, relative to the work dir.", ["pattern"],
            pattern="string"),
    _schema("search_text", "Search files for a regular expression; returns path:line: text lines.", ["pattern"],
            pattern="string", glob="string"),
]


class Workspace:
    """Executes tool calls in one directory. Every failure is an `ERROR: ...` string, never an exception."""

    def __init__(self, root: Path, sandbox: Sandbox):
        self.root = root.resolve()
        self.sandbox = sandbox
        self.handlers: dict[str, Callable[..., str]] = {
            "read_file": self.read_file, "write_file": self.write_file, "run_shell": self.run_shell,
            "list_files": self.list_files, "search_text": self.search_text,
        }

    def call(self, name: str, arguments: str) -> str:
        if name not in self.handlers:
            return f"ERROR: unknown tool {name!r}"
        try:
            args = json.loads(arguments or "{}")
            if not isinstance(args, dict):
                return "ERROR: arguments must be a JSON object"
            return self.handlers[name](**args)
        except json.JSONDecodeError as exc:
            return f"ERROR: arguments are not valid JSON ({exc.msg})"
        except TypeError as exc:  # missing or unexpected parameter
            return f"ERROR: {exc}"
        except (OSError, ValueError, re.error) as exc:
            return f"ERROR: {exc}"

    def _path(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"{path} is outside the work dir")
        return target

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> str:
        lines = self._path(path).read_text(encoding="utf-8").splitlines(keepends=True)
        return "".join(lines[max(start_line, 1) - 1: end_line])

    def write_file(self, path: str, content: str) -> str:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return "OK"

    def run_shell(self, command: str, timeout: int = 30) -> str:
        result = self.sandbox.exec(["bash", "-c", command], cwd=self.root, env={}, timeout_s=float(timeout))
        return json.dumps({"stdout": result.stdout[:OUTPUT_CAP], "stderr": result.stderr[:OUTPUT_CAP],
                           "exit_code": result.returncode if not result.timed_out else -1})

    def list_files(self, pattern: str) -> str:
        return "\n".join(sorted(p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file()))

    def search_text(self, pattern: str, glob: str = "**/*") -> str:
        regex, hits = re.compile(pattern), []
        for path in sorted(p for p in self.root.glob(glob) if p.is_file()):
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{path.relative_to(self.root).as_posix()}:{number}: {line}")
        return "\n".join(hits[:MAX_MATCHES])


def prepare_workdir(workdir: Path, spec: Spec) -> Path:
    """A fresh work dir holding only the spec, as the paper's agents were given it."""
    shutil.rmtree(workdir, ignore_errors=True)  # a retried trial starts from the spec alone again
    workdir.mkdir(parents=True)
    (workdir / SPEC_FILE).write_text(spec.text, encoding="utf-8")
    return workdir


def collect_implementation(workdir: Path, spec: Spec, note: str = "") -> Generation:
    """What an agent left in its work dir, minus the spec. A single .py file under another name is accepted
    as the spec's single entry file, since the task only says "a single python file"."""
    files = {p.relative_to(workdir).as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in iter_files(workdir) if p.relative_to(workdir).as_posix() != SPEC_FILE}
    python = [f for f in files if f.endswith(".py")]
    if len(spec.entry_files) == 1 and spec.entry_files[0] not in files and len(python) == 1:
        note = "; ".join(filter(None, [note, f"took {python[0]} as {spec.entry_files[0]}"]))
        files[spec.entry_files[0]] = files.pop(python[0])
    missing = [f for f in spec.entry_files if f not in files]
    if missing:
        found = f"; the work dir held {sorted(files)}" if files else "; the work dir held nothing new"
        return Generation({}, "; ".join(filter(None, [note, f"no entry file {missing}{found}"])))
    return Generation(files, note)


class BuiltinAgent:
    """A tool loop: the model calls tools until it answers without one, or the turn or token limit is hit."""

    def __init__(self, system_prompt: str, task: str, max_turns: int, max_total_tokens: int, sandbox: Sandbox):
        self.system_prompt, self.task = system_prompt, task
        self.max_turns, self.max_total_tokens = max_turns, max_total_tokens
        self.sandbox = sandbox

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        workdir = prepare_workdir(ctx.workdir / "work", spec)
        workspace = Workspace(workdir, self.sandbox)
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": self.task}]
        note = f"stopped at the turn limit ({self.max_turns})"
        for _ in range(self.max_turns):
            reply = ctx.gateway.complete(messages, temperature=ctx.temperature, seed=ctx.seed, tools=TOOLS)
            messages.append(reply.message())
            if not reply.tool_calls:
                note = ""
                break
            for call in reply.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": workspace.call(call.name, call.arguments)})
            used = ctx.gateway.usage.prompt_tokens + ctx.gateway.usage.completion_tokens
            if used > self.max_total_tokens:
                note = f"stopped at the token limit ({used} > {self.max_total_tokens})"
                break
        return collect_implementation(workdir, spec, note)
