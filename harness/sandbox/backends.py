"""Running untrusted code: every generated program the harness executes goes through a Sandbox here.

Two backends behind one `exec` (and `start`, for a child that serves beside another):
- `bwrap` (Debian's bubblewrap): new namespaces, an empty root with the system, Python and the venv mounted
  read-only, only the work dir writable (while scoring, not even that: the child sees only the paths it is
  given, writes go to a capped tmpfs, and a shared scratch dir is the one writable host dir), capped
  private /tmp and HOME, no network but a private loopback (an agent's gateway is relayed into it from a Unix
  socket bound in), an unprivileged uid, and rlimits.
- `process`: the fallback where bubblewrap is missing: own session, rlimits, scrubbed environment.
  It does not hide the filesystem or the network: isolation against accidents, not against an adversary. It
  refuses to start while a provider key is in the harness's environment, which its children could read.
Every folder a child may write is a writable dir (harness/sandbox/writable.py): a tmpfs capped at disk_mb, as root.
Both kill the whole process tree at the wall-clock or output limit and cap what they keep of stdout and stderr.
Where cgroups can be made (harness/sandbox/cgroups.py), each run has its own: it holds the memory and process limits,
counts their hits (the result's `events`), and every process left in it is killed when the run ends.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import ContextManager, Mapping, Optional, Sequence

from harness.config.schema import INSIDE, SandboxConfig, SandboxKind
from harness.errors import ConfigError
from harness.sandbox import cgroups, writable
from harness.sandbox.bwrap import GATEWAY_SOCKET, NOBODY, Mounts, bwrap_argv, filter_fd, hand_over, scratch_full
from harness.sandbox.cgroups import RunGroup
from harness.sandbox.keys import refuse_keys
from harness.sandbox.limits import Limits
from harness.sandbox.pipes import Drain, OutputLimit
from harness.sandbox.run_control import DiskWatch, Running, kill_group, kill_tree, spawn_held
from harness.sandbox.walk import MB, TreeCaps
from harness.sandbox.warm import TEMPLATE, Warm, WarmLost, WarmProc, WarmRequest, spawn_warm, warm_request
from harness.sandbox.warm_root import bwrap_template, hidden, warm_root
from harness.seams import ExecResult

log = logging.getLogger(__name__)

# Variables a child may inherit from the harness; everything else (provider keys above all) is dropped.
ENV_ALLOW_LIST = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")
# Inside bwrap's private network, a sandboxed agent reaches its trial's gateway here, and nothing else at all.
GATEWAY_PORT = 8000

# Runs inside the sandbox before an agent, relaying the loopback port to the gateway's socket (passed with -c).
_RELAY = (INSIDE / "harness_relay.py").read_text()


class ProcessSandbox:
    """Own session, rlimits and a scrubbed environment; the group is killed at the time or output limit."""

    name = "process"
    isolates_network = False  # the child shares the host's network: an agent reaches the gateway over TCP

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits(), warm: bool = True):
        self.output_cap_bytes = output_cap_bytes
        self.limits = limits
        # Suites forked from a warm template (harness/sandbox/warm.py); never another outcome.
        self.warm: Optional[Warm] = Warm.of(self.name, self._launch) if warm else None

    def writable(self, path: Path, keep: bool = False) -> ContextManager[writable.WritableDir]:
        """A writable dir children may write at `path` while the context lasts (harness/sandbox/writable.py): capped at
        disk_mb; with `keep`, what they left is copied out inert to `path` at the end (`WritableDir.kept` says what was
        refused), under the tree caps."""
        limits = self.limits
        caps = TreeCaps(limits.tree_entries, limits.tree_depth, limits.disk_mb * MB) if keep else None
        return writable.writable(path, limits.disk_mb * MB, caps)

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
             gateway: Optional[Path] = None, shared: Sequence[Path] = (), warm: bool = False) -> ExecResult:
        """Run `argv` in `cwd`; `env` is added to the allow-listed variables. Never raises on the child's failure.

        `read_only` lists paths the child must not change; with `keep_writes=False` the child sees in `cwd` only
        `read_only` and `shared`, and what it writes elsewhere there goes to a size-capped scratch that is thrown
        away (both enforced by bwrap only). `shared` dirs are writable and may be shared with another child.
        With `report`, the child finds the write end of a pipe in $HARNESS_REPORT_FD, and what it wrote comes
        back in `report`. `gateway` (a Unix socket; isolating backends only) is what the child reaches at
        127.0.0.1:GATEWAY_PORT. With `warm`, `argv` is `python -m pytest` running only what the harness trusts
        (a hidden suite and our plugin): where the sandbox is warm, it is forked from a template that has imported
        pytest already (harness/sandbox/warm.py), and WarmLost is raised if that template dies under it."""
        # As a context: an exception in the wait (Ctrl-C) still takes the child and everything it started down.
        with self.start(argv, cwd, env, timeout_s, read_only, keep_writes, report, gateway, shared, warm) as running:
            result = running.wait()
        if getattr(running.proc, "lost", False):
            raise WarmLost("the warm template died during the run")
        return result

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = (), warm: bool = False) -> Running:
        """Start what `exec` runs, and return at once: for a server that lives beside another child."""
        if gateway is not None:
            raise ValueError("the process sandbox shares the host's network: give the agent the gateway's TCP URL")
        refuse_keys()  # preflight refused already (check_sandbox); this is the last guard
        pipe = os.pipe() if report else None
        child_env = self._env(cwd, env, pipe)
        return self._spawn(list(argv), cwd, child_env, timeout_s, pipe, watched=[Path(cwd), *shared],
                           warm=warm_request(self.warm, argv, warm, child_env, cwd))

    def _launch(self, folder: Path) -> tuple[list[str], dict, list[int]]:
        """The warm template's command line and environment: a plain process, as this backend's children are."""
        return [sys.executable, "-c", TEMPLATE, str(folder / "warm.sock")], self._env(folder, {}, None), []

    def scratch_root(self) -> Optional[Path]:
        """Where a scoring run's folder is made: None, the system's temp dir (see BwrapSandbox's)."""
        return None

    def _env(self, cwd: Path, env: Mapping[str, str], pipe: Optional[tuple[int, int]]) -> dict[str, str]:
        child_env = {k: os.environ[k] for k in ENV_ALLOW_LIST if k in os.environ}
        child_env.update(HOME=str(cwd), TMPDIR=str(cwd), PYTHONDONTWRITEBYTECODE="1")
        child_env.update(env)  # an agent CLI may be given a HOME of its own, away from the work dir
        if pipe:
            child_env["HARNESS_REPORT_FD"] = str(pipe[1])
        return child_env

    def _spawn(self, argv: list[str], cwd: Path, env: dict, timeout_s: float,
               pipe: Optional[tuple[int, int]], watched: Sequence[Path], scratch: Sequence[str] = (),
               passed: Sequence[int] = (), warm: Optional[WarmRequest] = None) -> Running:
        report_r, report_w = pipe or (None, None)
        group = RunGroup(self.limits.memory_mb * 1024 * 1024, self.limits.processes) if cgroups.usable() else None
        # Pipes, drained by threads that keep a capped prefix: a flood costs neither memory nor disk on the host.
        try:
            def limit(pid: int) -> None:
                self.limits.impose(pid, timeout_s, group)
            proc = None if warm is None else spawn_warm(self.warm, warm, [report_w] * bool(pipe), limit)
            if proc is None:
                proc = spawn_held(argv, cwd, env, [report_w] * bool(pipe) + list(passed), limit)
        except BaseException:
            if group is not None:
                group.close()
            raise
        if pipe:
            os.close(report_w)
        flood = OutputLimit(self.limits.output_mb * 1024 * 1024, lambda: self._kill(proc.pid))
        drains = [Drain(proc.stdout, self.output_cap_bytes, flood), Drain(proc.stderr, self.output_cap_bytes, flood)]
        if pipe:
            drains.append(Drain(open(report_r, "rb"), self.output_cap_bytes * 8, None))
        checks = [writable.watch(Path(folder), self.limits.disk_mb * MB) for folder in watched]
        if scratch:
            checks.append(functools.partial(scratch_full, proc.pid, scratch, isinstance(proc, WarmProc)))
        watch = DiskWatch(checks)
        return Running(proc, drains, flood, timeout_s, watch, self._returncode, self._kill, group)

    def _returncode(self, code: int) -> int:
        return code

    def _kill(self, pid: int) -> None:
        kill_tree(pid)  # without namespaces, what the child started is found through /proc


class BwrapSandbox(ProcessSandbox):
    """bubblewrap namespaces around the process backend.

    As root, bwrap itself runs as root (it must read the Python install under /root to mount it) and the
    command inside drops to uid `nobody` with setpriv: a real unprivileged uid, so RLIMIT_NPROC holds, which a
    user namespace mapped onto root would not give. As any other user, bwrap runs in a user namespace.
    """

    name = "bwrap"
    isolates_network = True  # a private loopback only; an agent's gateway is bound in as a Unix socket

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits(), warm: bool = True):
        self.as_root = os.geteuid() == 0
        # Warm only as root (the template needs real capabilities to give each child its own view and uid) and
        # with cgroups: a daemon a child leaves is killed with its cgroup, where a cold run's dies with its bwrap.
        super().__init__(output_cap_bytes, limits, warm and self.as_root and writable.can_mount() and cgroups.usable())

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = (), warm: bool = False) -> Running:
        cwd = Path(cwd).resolve()
        shared = [Path(p).resolve() for p in shared]
        if self.as_root:
            for folder in [cwd] * keep_writes + shared:
                hand_over(folder, NOBODY)
        pipe = os.pipe() if report else None
        inner_env = self._env(cwd, env, pipe)
        inner_env["TMPDIR"] = "/tmp"
        argv = list(argv)
        if gateway is not None:
            argv = [sys.executable, "-c", _RELAY, GATEWAY_SOCKET, str(GATEWAY_PORT), *argv]
        mounts = Mounts(cwd, [Path(p).resolve() for p in read_only], shared, keep_writes, gateway)
        request = warm_request(self.warm, argv, warm, inner_env, cwd, hidden(cwd, mounts),
                               self.limits.disk_mb * MB)
        seccomp = filter_fd()
        try:
            wrapped = bwrap_argv(argv, inner_env, mounts, self.limits.disk_mb * MB, self.as_root, seccomp)
            # A scoring run writes only to its capped tmpfs and the shared dirs: those are the ones to watch.
            return self._spawn(wrapped, cwd, {"PATH": os.environ.get("PATH", "")},
                               timeout_s, pipe, watched=[cwd] * keep_writes + shared,
                               scratch=["/tmp"] + [str(cwd)] * (not keep_writes), passed=(seccomp,), warm=request)
        finally:
            os.close(seccomp)

    def _launch(self, folder: Path) -> tuple[list[str], dict, list[int]]:
        return bwrap_template(folder, self._env(folder, {}, None), self.limits.disk_mb * MB)

    def scratch_root(self) -> Optional[Path]:
        """Where a scoring run's folder is made: under the warm template's root where there is one."""
        return warm_root() if self.warm is not None else None

    def _kill(self, pid: int) -> None:
        # bwrap's own child dies with it (--die-with-parent), and with it, as the namespace's init, all inside.
        kill_group(pid)

    def _returncode(self, code: int) -> int:
        # bwrap reports a child killed by signal N as exit status 128 + N; say it the way Popen does.
        return -(code - 128) if 128 < code < 128 + signal.NSIG else code


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:  # make_sandbox runs for every trial; once per process is enough
    log.warning(message)


def _why_root() -> str:
    """Why the process backend cannot hand the code to an unprivileged uid, as bwrap does: that uid must be able
    to start this Python, which it cannot where the install sits in a folder closed to other users."""
    for path in (Path(sys.executable).resolve(), Path(sys.base_prefix).resolve()):
        for folder in reversed(path.parents):
            mode = folder.stat().st_mode
            if not mode & 0o001:
                return f"uid {NOBODY} could not start this Python ({folder} is mode {mode & 0o777:04o})"
    return "it has no way to hand the code to an unprivileged uid"


def resolved_kind(cfg: SandboxConfig) -> SandboxKind:
    """The backend `cfg` names; `auto` is bwrap where it is installed, else process (with a warning)."""
    if cfg.kind is not SandboxKind.auto:
        return cfg.kind
    if bwrap_available():
        return SandboxKind.bwrap
    _warn_once("bubblewrap (bwrap) is not installed: untrusted code runs in the weaker process sandbox")
    return SandboxKind.process


def make_sandbox(cfg: SandboxConfig) -> ProcessSandbox:
    """Build the configured backend; `auto` picks bwrap where it is installed, else process with a warning."""
    kind = resolved_kind(cfg)
    if kind is SandboxKind.process and os.geteuid() == 0:
        _warn_once("the process sandbox runs untrusted code as root, with no isolation: it can read and rewrite "
                   f"everything under runs/ and leave its cgroup; {_why_root()}; install bubblewrap")
    if not cgroups.usable():
        _warn_once("no cgroup can be made here (cgroup v1 memory and pids, writable): memory and process limit "
                   "hits go unseen (those runs keep their per-test outcomes), and under the process sandbox a "
                   "process a run leaves outside its session outlives it")
    limits = Limits(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(Limits)})  # same names as config
    if kind is SandboxKind.bwrap:
        return BwrapSandbox(cfg.output_cap_bytes, limits, cfg.warm)
    return ProcessSandbox(cfg.output_cap_bytes, limits, cfg.warm)


def check_sandbox(cfg: SandboxConfig, key_names: Sequence[str] = ()) -> None:
    """Preflight: the configured backend exists and can start Python within its limits, so that a limit set too
    low (or a missing bubblewrap) is the user's one-line error, not a failure recorded against a model; and the
    process backend is not asked to run code beside a provider key (also any variable named in `key_names`)."""
    if cfg.kind is SandboxKind.bwrap and not bwrap_available():
        raise ConfigError("sandbox=bwrap, but bubblewrap is not installed: apt-get install bubblewrap "
                          "(or sandbox=auto to fall back to the weaker process sandbox)")
    if resolved_kind(cfg) is SandboxKind.process:
        refuse_keys(key_names)
    _start_python(*(getattr(cfg, f.name) for f in dataclasses.fields(cfg)))


@functools.lru_cache(maxsize=None)
def _start_python(*values) -> None:  # once per distinct sandbox config and process
    cfg = SandboxConfig(*values)
    sandbox = make_sandbox(cfg)
    with tempfile.TemporaryDirectory(prefix="harness-sandbox-check-") as tmp, \
            sandbox.writable(Path(tmp) / "run") as wdir:
        result = sandbox.exec([sys.executable, "-c", "import json, subprocess"], cwd=wdir.path, env={},
                              timeout_s=30)
    if not result.success:
        detail = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1][:200]
        raise ConfigError(f"the {cfg.kind.value} sandbox cannot start Python with these limits "
                          f"(memory_mb={cfg.memory_mb}, processes={cfg.processes}, open_files={cfg.open_files}): "
                          f"{detail}")
