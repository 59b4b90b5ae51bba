"""Running untrusted code: every generated program the harness executes goes through a Sandbox here.

Two backends behind one `exec`:
- `bwrap` (Debian's bubblewrap): new namespaces, an empty root with the system, Python and the venv mounted
  read-only, only the work dir writable, private /tmp and HOME, no network but a private loopback (unless the
  trial needs the host's, as a chain's agent does to reach the gateway), an unprivileged uid, and rlimits.
- `process`: the fallback where bubblewrap is missing: own process group, rlimits, scrubbed environment.
  It does not hide the filesystem or the network: isolation against accidents, not against an adversary.
Both kill the whole process tree at the wall-clock limit and cap what they keep of stdout and stderr.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from harness.config import SandboxConfig, SandboxKind

log = logging.getLogger(__name__)

# Variables a child may inherit from the harness; everything else (provider keys above all) is dropped.
ENV_ALLOW_LIST = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")
NOBODY = 65534


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


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096  # address space; Python threads reserve a lot of it, so this is generous
    processes: int = 512  # RLIMIT_NPROC, counted per uid: only enforced for a non-root uid
    file_mb: int = 256  # largest file a child may write
    open_files: int = 1024

    def apply(self, cpu_s: float) -> None:
        """Set the rlimits in the child, just before exec."""
        mb = 1024 * 1024
        for name, value in ((resource.RLIMIT_AS, self.memory_mb * mb), (resource.RLIMIT_NPROC, self.processes),
                            (resource.RLIMIT_FSIZE, self.file_mb * mb), (resource.RLIMIT_NOFILE, self.open_files),
                            (resource.RLIMIT_CPU, int(cpu_s) + 1), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(name, (value, value))


class ProcessSandbox:
    """Own session, rlimits and a scrubbed environment; the group is killed at the time limit."""

    name = "process"

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits()):
        self.output_cap_bytes = output_cap_bytes
        self.limits = limits

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = ()) -> ExecResult:
        """Run `argv` in `cwd`; `env` is added to the allow-listed variables. Never raises on the child's failure.

        `read_only` lists paths under `cwd` the child must not change (enforced by bwrap only)."""
        return self._run(list(argv), cwd, self._env(cwd, env), timeout_s)

    def _env(self, cwd: Path, env: Mapping[str, str]) -> dict[str, str]:
        child_env = {k: os.environ[k] for k in ENV_ALLOW_LIST if k in os.environ}
        child_env.update(HOME=str(cwd), TMPDIR=str(cwd), PYTHONDONTWRITEBYTECODE="1", **env)
        return child_env

    def _run(self, argv: list[str], cwd: Path, env: dict, timeout_s: float) -> ExecResult:
        start = time.monotonic()
        # Output goes to files, not pipes, so a child that floods stdout cannot block on a full pipe.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                preexec_fn=lambda: self.limits.apply(timeout_s),
            )
            timed_out = False
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc.pid)  # also takes down grandchildren left behind by a finished child
            proc.wait()
            return ExecResult(proc.returncode, self._read_capped(out), self._read_capped(err), timed_out,
                              time.monotonic() - start)

    def _read_capped(self, handle) -> str:
        handle.seek(0)
        data = handle.read(self.output_cap_bytes + 1)
        text = data[: self.output_cap_bytes].decode("utf-8", errors="replace")
        return text + ("\n[output truncated by the harness]" if len(data) > self.output_cap_bytes else "")


class BwrapSandbox(ProcessSandbox):
    """bubblewrap namespaces around the process backend.

    As root, bwrap itself runs as root (it must read the Python install under /root to mount it) and the
    command inside drops to uid `nobody` with setpriv: a real unprivileged uid, so RLIMIT_NPROC holds, which a
    user namespace mapped onto root would not give. As any other user, bwrap runs in a user namespace.
    """

    name = "bwrap"

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits(), share_net: bool = False):
        super().__init__(output_cap_bytes, limits)
        self.share_net = share_net
        self.as_root = os.geteuid() == 0

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = ()) -> ExecResult:
        cwd = Path(cwd).resolve()
        if self.as_root:
            _hand_over(cwd, NOBODY)
        inner_env = self._env(cwd, env)
        inner_env["TMPDIR"] = "/tmp"
        wrapped = self._wrap(list(argv), cwd, inner_env, [Path(p).resolve() for p in read_only])
        return self._run(wrapped, cwd, {"PATH": os.environ.get("PATH", "")}, timeout_s)

    def _wrap(self, argv: list[str], cwd: Path, env: dict, read_only: list[Path]) -> list[str]:
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.share_net:
            namespaces.append("--unshare-net")  # a private loopback only
        if not self.as_root:
            namespaces.append("--unshare-user")
        wrapped = ["bwrap", *namespaces, "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        for path in ("/usr", "/etc"):
            wrapped += ["--ro-bind", path, path]
        for path in ("/bin", "/lib", "/lib64", "/sbin"):  # symlinks into /usr on Debian
            host = Path(path)
            if host.is_symlink():
                wrapped += ["--symlink", os.readlink(host), path]
            elif host.exists():
                wrapped += ["--ro-bind", path, path]
        wrapped += ["--perms", "1777", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]
        python = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})
        outside = [p for p in read_only if not p.is_relative_to(cwd)]  # e.g. a chain's agent, run from its copy
        for path in [*python, cwd, *outside]:
            for parent in reversed(path.parents[:-1]):  # traversable parents: nobody must reach the mount
                if str(parent) != "/tmp":
                    wrapped += ["--perms", "0755", "--dir", str(parent)]
        for path in python:
            wrapped += ["--ro-bind", str(path), str(path)]
        wrapped += ["--bind", str(cwd), str(cwd)]
        for path in read_only:  # inside the work dir, these are mounted over its writable bind
            wrapped += ["--ro-bind", str(path), str(path)]
        wrapped += ["--chdir", str(cwd), "--clearenv"]
        for key, value in env.items():
            wrapped += ["--setenv", key, value]
        if self.as_root:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--", *argv]
        return wrapped + ["--", *argv]


def _hand_over(folder: Path, uid: int) -> None:
    """Let the unprivileged uid write in its work dir (and nowhere else)."""
    os.chown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def make_sandbox(cfg: SandboxConfig, share_net: bool = False) -> ProcessSandbox:
    """Build the configured backend; `auto` picks bwrap where it is installed, else process with a warning."""
    kind = cfg.kind
    if kind is SandboxKind.auto:
        kind = SandboxKind.bwrap if bwrap_available() else SandboxKind.process
        if kind is SandboxKind.process:
            log.warning("bubblewrap (bwrap) is not installed: untrusted code runs in the weaker process sandbox")
    limits = Limits(cfg.memory_mb, cfg.processes, cfg.file_mb, cfg.open_files)
    if kind is SandboxKind.bwrap:
        return BwrapSandbox(cfg.output_cap_bytes, limits, share_net=share_net)
    return ProcessSandbox(cfg.output_cap_bytes, limits)
