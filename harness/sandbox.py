"""Running untrusted code: every generated program the harness executes goes through a Sandbox here.

The `process` backend gives each run its own process group, a wall-clock limit that kills the whole group, a
scrubbed environment and capped output. It is isolation against accidents, not against an adversary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from harness.config import SandboxConfig, SandboxKind

# Variables a child may inherit from the harness; everything else (provider keys above all) is dropped.
ENV_ALLOW_LIST = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")


@dataclass(frozen=True)
class ExecResult:
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float

    @property
    def success(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class ProcessSandbox:
    """Run a command in its own session with a scrubbed environment; kill the group on timeout."""

    def __init__(self, output_cap_bytes: int = 1_000_000):
        self.output_cap_bytes = output_cap_bytes

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float) -> ExecResult:
        """Run `argv` in `cwd`; `env` is added to the allow-listed variables. Never raises on the child's failure."""
        child_env = {k: os.environ[k] for k in ENV_ALLOW_LIST if k in os.environ}
        child_env.update(HOME=str(cwd), TMPDIR=str(cwd), PYTHONDONTWRITEBYTECODE="1", **env)
        start = time.monotonic()
        # Output goes to files, not pipes, so a child that floods stdout cannot block on a full pipe.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                list(argv), cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc.pid)  # also reaps grandchildren left behind by a finished child
            proc.wait()
            return ExecResult(
                returncode=proc.returncode,
                stdout=self._read_capped(out),
                stderr=self._read_capped(err),
                timed_out=timed_out,
                seconds=time.monotonic() - start,
            )

    def _read_capped(self, handle) -> str:
        handle.seek(0)
        data = handle.read(self.output_cap_bytes + 1)
        text = data[: self.output_cap_bytes].decode("utf-8", errors="replace")
        return text + ("\n[output truncated by the harness]" if len(data) > self.output_cap_bytes else "")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def make_sandbox(cfg: SandboxConfig) -> ProcessSandbox:
    """Build the configured backend."""
    if cfg.kind is SandboxKind.process:
        return ProcessSandbox(output_cap_bytes=cfg.output_cap_bytes)
    raise ValueError(f"unknown sandbox kind {cfg.kind!r}; valid: {[k.value for k in SandboxKind]}")
