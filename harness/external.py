"""Agents that run as subprocesses: any coding-agent CLI from a command template, including a generated agent.

The agent runs in the sandbox, in a fresh work dir holding only the spec, and reaches a model only through the
trial's GatewayServer, with a per-trial dummy key: under bwrap, as a Unix socket relayed onto the sandbox's
private loopback, its only way out; under the process sandbox, on the host's loopback. Its output is kept in the
trial's folder.
"""

from __future__ import annotations

import string
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from harness.agent import collect_implementation, prepare_workdir
from harness.errors import ConfigError
from harness.gateway_server import GatewayServer
from harness.parent_view import SHOWN_DIR, put_away, show_parent
from harness.redact import redact
from harness.seams import Generation, GenerationContext, Sandbox
from harness.specs import Spec
from harness.untrusted import TreeCaps, read_tree, write_tree

PLACEHOLDERS = {"prompt", "task", "model", "base_url", "api_key", "workdir", "cwd", "python", "impl"}


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
                 shown_parent: Optional[Path] = None):
        check_template(list(command))
        self.command, self.task, self.timeout_s = list(command), task, timeout_s
        self.sandbox, self.model_name, self.caps = sandbox, model_name, caps
        self.env, self.impl_dir = env or {}, impl_dir
        self.shown_parent = shown_parent  # a parent-visible chain: this source is shown read-only in parent/

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        workdir = prepare_workdir(ctx.workdir / "work", spec)
        impl, copied = self._copy_agent(ctx.workdir / "agent")
        shown = [show_parent(workdir, self.shown_parent, self.caps)] if self.shown_parent else []
        # A short path: Unix socket paths are limited to about 100 bytes, and a trial's folder can be deeper.
        with tempfile.TemporaryDirectory(prefix="harness-gw-") as sockets, GatewayServer(
                ctx.gateway, ctx.temperature, ctx.seed,
                unix_socket=Path(sockets) / "gateway.sock" if self.sandbox.isolates_network else None) as server:
            values = dict(prompt=self.task, task=self.task, model=self.model_name, base_url=server.base_url,
                          api_key=server.api_key, workdir=str(workdir), cwd=str(workdir), python=sys.executable,
                          impl=str(impl or ""))
            argv = [part.format(**values) for part in self.command]
            env = {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url,
                   **self.env}
            result = self.sandbox.exec(argv, cwd=workdir, env=env, timeout_s=self.timeout_s,
                                       read_only=([impl] if impl else []) + shown, gateway=server.unix_socket)
        if shown:
            put_away(workdir, ctx.workdir / SHOWN_DIR)
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
        return collect_implementation(workdir, spec, self.caps, "; ".join(filter(None, [copied, ending])))

    def _copy_agent(self, target: Path) -> tuple[Optional[Path], str]:
        """The agent under test runs from a copy kept with the trial, outside the work dir it writes to: its
        regular text files, read without following a link (shutil.copytree would copy what a link points at).
        Returns the copy and what was left out of it."""
        if self.impl_dir is None:
            return None, ""
        tree = read_tree(self.impl_dir, self.caps)
        write_tree(target, tree.files)
        return target, f"copy of the agent: {tree.note()}" if tree.refused or tree.stopped_at else ""
