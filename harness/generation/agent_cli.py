"""Agents that run as subprocesses: any coding-agent CLI from a command template, including a generated agent.

The agent runs in the sandbox, in a fresh work dir holding only the spec, with a private HOME (kept in the
trial's folder), and reaches a model only through the trial's GatewayServer, with a per-trial dummy key (as
OPENAI_* and ANTHROPIC_*; the provider's key stays in the harness): under bwrap, as a Unix socket relayed onto
the sandbox's private loopback, its only way out; under the process sandbox, on the host's loopback. The
gateway speaks chat completions, Anthropic's Messages API and OpenAI's Responses API, so Claude Code and Codex
go through it like any other agent. A CLI named by its bare name is looked up in the project's pinned install
(tools/agents, made by tools/install-agents), then beside the harness's Python, then on PATH; the version it
reports is recorded with the trial. Its output is kept in the trial's folder.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import string
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from harness.config.schema import PROJECT_ROOT
from harness.errors import ConfigError
from harness.generation.builtin_agent import collect_implementation, kept_note, prepare_workdir
from harness.generation.parent_view import SHOWN_DIR, put_away, show_parent
from harness.models.endpoint import GatewayServer
from harness.records.redact import redact
from harness.sandbox.untrusted import TreeCaps, read_tree
from harness.sandbox.copies import write_tree
from harness.seams import Generation, GenerationContext, Sandbox
from harness.specs.loading import Spec

PLACEHOLDERS = {"prompt", "task", "model", "base_url", "origin", "api_key", "workdir", "cwd", "python", "impl",
                "home"}
AGENTS_DIR = PROJECT_ROOT / "tools" / "agents"  # the pinned agent CLIs (tools/install-agents)
AGENT_BINS = ("node_modules/.bin", "aider-venv/bin")  # npm's (Claude Code, Codex), aider's own venv
VERSION_TIMEOUT_S = 60.0


def agent_pins(folder: Optional[Path] = None) -> str:
    """The pinned versions of the agent CLIs (npm's lock file, aider's requirements): part of a trial's id."""
    folder = folder or AGENTS_DIR
    return "".join(p.read_text(encoding="utf-8") for p in (folder / "package-lock.json",
                                                          folder / "aider-requirements.txt") if p.exists())


def find_program(name: str) -> tuple[str, Optional[Path]]:
    """Where a command's program is, and the install folder the sandbox must show it (read-only), if any.
    A path or a template is left as it is; a bare name is looked up as the module docstring says."""
    if "/" in name or "{" in name:
        return name, None
    for folder in AGENT_BINS:
        if (AGENTS_DIR / folder / name).exists():
            return str(AGENTS_DIR / folder / name), AGENTS_DIR
    beside = Path(sys.executable).parent / name  # a CLI pip-installed into the harness's own environment
    if beside.exists():
        return str(beside), None
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"agent CLI '{name}' is not installed: run tools/install-agents (pinned, into "
                          f"{AGENTS_DIR}), or put it on PATH")
    return found, None


def check_template(parts: Sequence[str]) -> None:
    """Fail early on a placeholder we would not fill."""
    for part in parts:
        for _, name, _, _ in string.Formatter().parse(part):
            if name is not None and name not in PLACEHOLDERS:
                raise ConfigError(f"command template uses {{{name}}}; valid placeholders: {sorted(PLACEHOLDERS)}")


class CommandAgent:
    """Run `command` (a template) in a fresh work dir; the files it leaves there are the implementation."""

    def __init__(self, command: Sequence[str], task: str, timeout_s: float, sandbox: Sandbox, model_name: str,
                 caps: TreeCaps, env: Optional[dict[str, str]] = None, impl_dir: Optional[Path] = None,
                 shown_parent: Optional[Path] = None, max_model_calls: Optional[int] = None):
        check_template([*command, *(env or {}).values()])
        self.command, self.task, self.timeout_s = list(command), task, timeout_s
        self.max_model_calls = max_model_calls  # requests the endpoint answers; past it, each is refused
        self.sandbox, self.model_name, self.caps = sandbox, model_name, caps
        self.env, self.impl_dir = env or {}, impl_dir
        self.shown_parent = shown_parent  # a parent-visible chain: this source is shown read-only in parent/
        self.program, self.install = find_program(self.command[0]) if self.command else ("", None)

    def token_bound(self, spec: Spec, max_tokens: int) -> None:
        """None: the agent decides how many calls it makes, and only its time limit ends them."""
        return None

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        # The work dir and HOME are writable dirs of the sandbox: capped, fresh (a retry never reuses what an attempt
        # left, however deep), and kept with the trial as inert copies once the agent is done.
        with self.sandbox.writable(ctx.workdir / "work", keep=True) as work, \
                self.sandbox.writable(ctx.workdir / "home", keep=True) as home:
            generation = self._run(spec, ctx, prepare_workdir(work.path, spec), home.path)
        note = "; ".join(filter(None, [generation.detail, kept_note("home", home)]))
        return dataclasses.replace(generation, detail=note)  # keeps the ending _run named (context_full, ...)

    def _run(self, spec: Spec, ctx: GenerationContext, workdir: Path, home: Path) -> Generation:
        impl, copied = self._copy_agent(ctx.workdir / "agent")
        read_only = [p for p in (impl, self.install) if p is not None]
        shown = [show_parent(workdir, self.shown_parent, self.caps)] if self.shown_parent else []
        version = self._version(home, read_only)
        # A short path: Unix socket paths are limited to about 100 bytes, and a trial's folder can be deeper.
        with tempfile.TemporaryDirectory(prefix="harness-gw-") as sockets, GatewayServer(
                ctx.gateway, ctx.temperature, ctx.seed, max_calls=self.max_model_calls,
                unix_socket=Path(sockets) / "gateway.sock" if self.sandbox.isolates_network else None) as server:
            values = dict(prompt=self.task, task=self.task, model=self.model_name, base_url=server.base_url,
                          origin=server.base_url.removesuffix("/v1"), api_key=server.api_key, workdir=str(workdir),
                          cwd=str(workdir), python=sys.executable, impl=str(impl or ""), home=str(home))
            argv = [self.program.format(**values), *(part.format(**values) for part in self.command[1:])]
            result = self.sandbox.exec(argv, cwd=workdir, env=self._env(values), timeout_s=self.timeout_s,
                                       read_only=read_only + shown, gateway=server.unix_socket, shared=[home])
        if shown:
            put_away(workdir, ctx.workdir / SHOWN_DIR, self.caps)
        (ctx.workdir / "agent.stdout").write_text(redact(result.stdout), encoding="utf-8")
        (ctx.workdir / "agent.stderr").write_text(redact(result.stderr), encoding="utf-8")
        if server.failure is not None:
            raise server.failure
        ending = (f"agent timed out after {self.timeout_s:g} s" if result.timed_out
                  else "agent killed: its output passed the sandbox's limit" if result.output_exceeded
                  else "agent killed: its work dir passed the sandbox's disk limit" if result.disk_exceeded
                  else f"agent exited {result.returncode} after {server.requests} model call(s)")
        if not result.success:
            ending += f": {redact(result.stderr.strip()[-300:])}"
        notes = [version, copied, ending, *_refusals(server)]
        generation = collect_implementation(workdir, spec, self.caps, "; ".join(filter(None, notes)))
        return generation if generation.files else dataclasses.replace(generation, ending=_model_ending(server))

    def _env(self, values: dict) -> dict[str, str]:
        """The agent's variables: the gateway in every client's spelling, with the dummy key; then the config's."""
        env = {"OPENAI_API_KEY": values["api_key"], "OPENAI_BASE_URL": values["base_url"],
               "ANTHROPIC_API_KEY": values["api_key"], "ANTHROPIC_BASE_URL": values["origin"],
               "HOME": values["home"]}
        return {**env, **{name: value.format(**values) for name, value in self.env.items()}}

    def _version(self, home: Path, read_only: list[Path]) -> str:
        """Ask a named CLI its version, in the sandbox, and keep it with the trial ("" for other commands)."""
        if self.program == self.command[0]:  # a path or a template, such as a generated agent: nothing to ask
            return ""
        with tempfile.TemporaryDirectory(prefix="harness-version-") as scratch, \
                self.sandbox.writable(Path(scratch) / "run") as wdir:
            result = self.sandbox.exec([self.program, "--version"], cwd=wdir.path, env={"HOME": str(home)},
                                       timeout_s=VERSION_TIMEOUT_S, read_only=read_only, shared=[home])
        version = (result.stdout.strip().splitlines() or [f"unknown (exit {result.returncode})"])[0][:120]
        record = {"command": self.command[0], "program": self.program, "version": version}
        (home.parent / "agent.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        return f"agent CLI {self.command[0]} {version}"

    def _copy_agent(self, target: Path) -> tuple[Optional[Path], str]:
        """The agent under test runs from a copy kept with the trial, outside the work dir it writes to: its
        regular text files, read without following a link (shutil.copytree would copy what a link points at).
        Returns the copy and what was left out of it."""
        if self.impl_dir is None:
            return None, ""
        tree = read_tree(self.impl_dir, self.caps)
        write_tree(target, tree.files)
        return target, f"copy of the agent: {tree.note()}" if tree.refused or tree.stopped_at else ""


def _model_ending(server: GatewayServer) -> str:
    """How an agent that left no implementation ended, as far as its model's replies tell (TRIAL_ENDINGS)."""
    if server.context_full:
        return "context_full"
    if server.offered_tools and not server.tool_replies:
        return "no_tool_calls"
    return "no_code"


def _refusals(server: GatewayServer) -> list[str]:
    """What the endpoint refused the agent, for the record's detail: requests the provider rejected as the
    agent wrote them, and requests past the trial's cap."""
    notes = []
    if server.rejected:
        notes.append(f"the provider rejected {len(server.rejected)} request(s) of the agent "
                     f"({', '.join(sorted(set(server.rejected)))}); the agent was answered with the error")
    if server.refused:
        notes.append(f"max_model_calls={server.max_calls} reached: {server.refused} further request(s) refused")
    return notes
