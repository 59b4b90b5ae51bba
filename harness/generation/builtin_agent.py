"""The built-in agent generator: a tool-using loop inside the harness, through the gateway, in a work dir.

Its five tools mirror the minimal coding agent's (read_file, write_file, run_shell, list_files, search_text).
All five run in the sandbox, in the work dir: shell commands as they are, the four file tools as
harness/inside/filetools.py, a script that refuses `..`, absolute paths and links. What the work dir holds at
the end, apart from the spec, is the implementation: its regular text files, read without following a link.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from harness.config.schema import INSIDE
from harness.errors import ContextExceeded
from harness.sandbox import walk
from harness.sandbox.untrusted import TreeCaps, read_tree
from harness.seams import Generation, GenerationContext, Sandbox, TokenBound
from harness.specs.loading import Spec

OUTPUT_CAP = 10_000
SPEC_FILE = "spec.md"
FILE_TOOLS = ("read_file", "write_file", "list_files", "search_text")
FILE_TOOL_SCRIPT = INSIDE / "filetools.py"
FILE_TOOL_FILES = (FILE_TOOL_SCRIPT, Path(walk.__file__).resolve())  # all the script imports, but the stdlib
FILE_TOOL_TIMEOUT_S = 30.0  # a file tool is quick; past this (a pathological regex, say) it is stopped


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
    """Executes tool calls in one directory. Every failure is an `ERROR: ...` string, never an exception.

    The file tools run in the sandbox rather than in this process, although they confine themselves (no `..`, no
    absolute path, no link at any step): under bwrap, a mistake in that confinement would still meet a root
    holding only the work dir and the system, and the sandbox's time and memory limits bound what a tool call
    costs (a regex can backtrack for hours; Python's `re` has no timeout). The price is a Python start per call:
    0.2-0.3 s measured on this busy 2-core machine (under either backend), next to a model's seconds per turn.
    """

    def __init__(self, root: Path, sandbox: Sandbox, caps: TreeCaps):
        self.root, self.sandbox, self.caps = root.resolve(), sandbox, caps

    def call(self, name: str, arguments: str) -> str:
        if name != "run_shell" and name not in FILE_TOOLS:
            return f"ERROR: unknown tool {name!r}"
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return f"ERROR: arguments are not valid JSON ({exc.msg})"
        if not isinstance(args, dict):
            return "ERROR: arguments must be a JSON object"
        if name != "run_shell":
            return self._file_tool(name, args)
        try:
            return self.run_shell(**args)
        except (TypeError, ValueError, OSError) as exc:  # a missing or unexpected parameter, a bad timeout
            return f"ERROR: {exc}"

    def run_shell(self, command: str, timeout: int = 30) -> str:
        result = self.sandbox.exec(["bash", "-c", command], cwd=self.root, env={}, timeout_s=float(timeout))
        return json.dumps({"stdout": result.stdout[:OUTPUT_CAP], "stderr": result.stderr[:OUTPUT_CAP],
                           "exit_code": result.returncode if not result.timed_out else -1})

    def _file_tool(self, name: str, args: dict) -> str:
        """One file tool call, run by harness/inside/filetools.py in the sandbox; the request is passed as a file."""
        with tempfile.TemporaryDirectory(prefix="harness-tool-") as scratch:
            request = Path(scratch) / "request.json"
            request.write_text(json.dumps({"tool": name, "args": args, "caps": dataclasses.asdict(self.caps)}))
            request.chmod(0o644)  # bwrap as root runs the tool as nobody
            result = self.sandbox.exec([sys.executable, "-I", "-S", "-B", str(FILE_TOOL_SCRIPT), str(request)],
                                       cwd=self.root, env={}, timeout_s=FILE_TOOL_TIMEOUT_S,
                                       read_only=[*FILE_TOOL_FILES, request])
        if result.timed_out:
            return f"ERROR: {name} ran past {FILE_TOOL_TIMEOUT_S:g} s and was stopped"
        if not result.success:
            return f"ERROR: {name} failed (exit {result.returncode}): {result.stderr.strip()[-300:]}"
        return result.stdout


def prepare_workdir(workdir: Path, spec: Spec) -> Path:
    """The spec in a fresh work dir (a writable dir the sandbox gave out: whatever an earlier attempt left, however
    deep, was moved aside), as the paper's agents were given it."""
    (workdir / SPEC_FILE).write_text(spec.text, encoding="utf-8")
    return workdir


def kept_note(name: str, wdir) -> str:
    """What the inert copy of a writable dir kept with the trial (its `name`) refused, for the record's detail."""
    note = wdir.kept.note() if wdir.kept is not None else ""
    return f"kept {name}/ without {note.removeprefix('refused ')}" if note else ""


def collect_implementation(workdir: Path, spec: Spec, caps: TreeCaps, note: str = "") -> Generation:
    """What an agent left in its work dir, minus the spec: its regular text files, read without following a link
    (`note` says what was refused). A single .py file under another name is accepted as the spec's single entry
    file, since the task only says "a single python file"."""
    tree = read_tree(workdir, caps, first=spec.entry_files)
    files = {rel: text for rel, text in tree.files.items() if rel != SPEC_FILE}
    note = "; ".join(filter(None, [note, tree.note()]))
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

    def __init__(self, system_prompt: str, task: str, max_turns: int, max_total_tokens: int, sandbox: Sandbox,
                 caps: TreeCaps):
        self.system_prompt, self.task = system_prompt, task
        self.max_turns, self.max_total_tokens = max_turns, max_total_tokens
        self.sandbox, self.caps = sandbox, caps

    def token_bound(self, spec: Spec, max_tokens: int) -> TokenBound:
        """The loop stops after the first call that takes its tokens past max_total_tokens (M): the calls before the
        last one read and wrote at most M tokens together; the last one reads the conversation so far (at most M,
        plus the tools' last answers, taken as fitting in M too) and writes at most max_tokens. So at most 3M are
        read and M + max_tokens written (fewer with few turns), counting the first M at both prices."""
        m = self.max_total_tokens
        return TokenBound(3 * m, min(self.max_turns * max_tokens, m + max_tokens))

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        """Run the loop in a writable work dir, kept inert with the trial; with no implementation left, the trial's
        ending says how the loop ended (TRIAL_ENDINGS): the model never called a tool, or the turn, token or context
        limit came first, or it wrote none."""
        with self.sandbox.writable(ctx.workdir / "work", keep=True) as wdir:
            return self._loop(spec, ctx, prepare_workdir(wdir.path, spec))

    def _loop(self, spec: Spec, ctx: GenerationContext, workdir: Path) -> Generation:
        workspace = Workspace(workdir, self.sandbox, self.caps)
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": self.task}]
        note, ending, calls = f"stopped at the turn limit ({self.max_turns})", "turn_limit", 0
        for _ in range(self.max_turns):
            try:
                reply = ctx.gateway.complete(messages, temperature=ctx.temperature, seed=ctx.seed, tools=TOOLS)
            except ContextExceeded as exc:  # what the loop wrote so far is still the implementation
                note, ending = f"stopped: the conversation outgrew the model's context ({exc})", "context_full"
                break
            messages.append(reply.message())
            if not reply.tool_calls:
                note, ending = ("", "no_code") if calls else ("the model answered in text and called no tool",
                                                              "no_tool_calls")
                break
            calls += len(reply.tool_calls)
            for call in reply.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": workspace.call(call.name, call.arguments)})
            used = ctx.gateway.usage.prompt_tokens + ctx.gateway.usage.completion_tokens
            if used > self.max_total_tokens:
                note, ending = f"stopped at the token limit ({used} > {self.max_total_tokens})", "token_limit"
                break
        generation = collect_implementation(workdir, spec, self.caps, note)
        return generation if generation.files else dataclasses.replace(generation, ending=ending)
