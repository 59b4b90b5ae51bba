"""Running untrusted code: every generated program the harness executes goes through a Sandbox here.

Two backends behind one `exec` (and `start`, for a child that serves beside another):
- `bwrap` (Debian's bubblewrap): new namespaces, an empty root with the system, Python and the venv mounted
  read-only, only the work dir writable (while scoring, not even that: the child sees only the paths it is
  given, writes go to a capped tmpfs, and a shared scratch dir is the one writable host dir), capped
  private /tmp and HOME, no network but a private loopback (an agent's gateway is relayed into it from a Unix
  socket bound in), an unprivileged uid, and rlimits.
- `process`: the fallback where bubblewrap is missing: own session, rlimits, scrubbed environment.
  It does not hide the filesystem or the network: isolation against accidents, not against an adversary.
Both kill the whole process tree at the wall-clock or output limit and cap what they keep of stdout and stderr.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from harness.capture import Drain, OutputLimit, entries
from harness.child import ExecResult, Running, kill_group, kill_tree
from harness.config import SandboxConfig, SandboxKind
from harness.errors import ConfigError

log = logging.getLogger(__name__)

# Variables a child may inherit from the harness; everything else (provider keys above all) is dropped.
ENV_ALLOW_LIST = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")
NOBODY = 65534
# Inside bwrap's private network, a sandboxed agent reaches its trial's gateway here, and nothing else at all.
GATEWAY_PORT = 8000
GATEWAY_SOCKET = "/run/gateway.sock"  # where the gateway's Unix socket is bound inside the sandbox

# Runs inside the sandbox before an agent: listens on the private loopback and relays each connection to the
# gateway's Unix socket, bound into the sandbox. Standalone, since the harness package is not mounted there.
_RELAY = r"""
import socket, subprocess, sys, threading
path, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
listener = socket.create_server(("127.0.0.1", port))

def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for end in (src, dst):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def serve():
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            continue
        for pair in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=pair, daemon=True).start()

threading.Thread(target=serve, daemon=True).start()
sys.exit(subprocess.call(argv))
"""


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096  # address space; Python threads reserve a lot of it, so this is generous
    processes: int = 512  # RLIMIT_NPROC, counted per uid: only enforced for a non-root uid
    file_mb: int = 256  # largest file a child may write
    open_files: int = 1024
    output_mb: int = 64  # stdout + stderr together; past this the child is killed (a flood, like a timeout)
    disk_mb: int = 512  # each scratch tmpfs under bwrap; a host dir the child writes is watched for the same

    def apply(self, cpu_s: float) -> None:
        """Set the rlimits in the child, just before exec."""
        mb = 1024 * 1024
        for name, value in ((resource.RLIMIT_AS, self.memory_mb * mb), (resource.RLIMIT_NPROC, self.processes),
                            (resource.RLIMIT_FSIZE, self.file_mb * mb), (resource.RLIMIT_NOFILE, self.open_files),
                            (resource.RLIMIT_CPU, int(cpu_s) + 1), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(name, (value, value))


class ProcessSandbox:
    """Own session, rlimits and a scrubbed environment; the group is killed at the time or output limit."""

    name = "process"
    isolates_network = False  # the child shares the host's network: an agent reaches the gateway over TCP

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits()):
        self.output_cap_bytes = output_cap_bytes
        self.limits = limits

    def exec(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
             read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
             gateway: Optional[Path] = None, shared: Sequence[Path] = ()) -> ExecResult:
        """Run `argv` in `cwd`; `env` is added to the allow-listed variables. Never raises on the child's failure.

        `read_only` lists paths the child must not change; with `keep_writes=False` the child sees in `cwd` only
        `read_only` and `shared`, and what it writes elsewhere there goes to a size-capped scratch that is thrown
        away (both enforced by bwrap only). `shared` dirs are writable and may be shared with another child.
        With `report`, the child finds the write end of a pipe in $HARNESS_REPORT_FD, and what it wrote comes
        back in `report`. `gateway` (a Unix socket; isolating backends only) is what the child reaches at
        127.0.0.1:GATEWAY_PORT."""
        # As a context: an exception in the wait (Ctrl-C) still takes the child and everything it started down.
        with self.start(argv, cwd, env, timeout_s, read_only, keep_writes, report, gateway, shared) as running:
            return running.wait()

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = ()) -> Running:
        """Start what `exec` runs, and return at once: for a server that lives beside another child."""
        if gateway is not None:
            raise ValueError("the process sandbox shares the host's network: give the agent the gateway's TCP URL")
        pipe = os.pipe() if report else None
        return self._spawn(list(argv), cwd, self._env(cwd, env, pipe), timeout_s, pipe,
                           watched=[Path(cwd), *shared])

    def _env(self, cwd: Path, env: Mapping[str, str], pipe: Optional[tuple[int, int]]) -> dict[str, str]:
        child_env = {k: os.environ[k] for k in ENV_ALLOW_LIST if k in os.environ}
        child_env.update(HOME=str(cwd), TMPDIR=str(cwd), PYTHONDONTWRITEBYTECODE="1")
        child_env.update(env)  # an agent CLI may be given a HOME of its own, away from the work dir
        if pipe:
            child_env["HARNESS_REPORT_FD"] = str(pipe[1])
        return child_env

    def _spawn(self, argv: list[str], cwd: Path, env: dict, timeout_s: float,
               pipe: Optional[tuple[int, int]], watched: Sequence[Path]) -> Running:
        report_r, report_w = pipe or (None, None)
        # Pipes, drained by threads that keep a capped prefix: a flood costs neither memory nor disk on the host.
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, pass_fds=(report_w,) if pipe else (),
            preexec_fn=lambda: self.limits.apply(timeout_s),
        )
        if pipe:
            os.close(report_w)
        flood = OutputLimit(self.limits.output_mb * 1024 * 1024, lambda: self._kill(proc.pid))
        drains = [Drain(proc.stdout, self.output_cap_bytes, flood), Drain(proc.stderr, self.output_cap_bytes, flood)]
        if pipe:
            drains.append(Drain(open(report_r, "rb"), self.output_cap_bytes * 8, None))
        return Running(proc, drains, flood, timeout_s, watched, self.limits.disk_mb * 1024 * 1024,
                       self._returncode, self._kill)

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

    def __init__(self, output_cap_bytes: int = 1_000_000, limits: Limits = Limits()):
        super().__init__(output_cap_bytes, limits)
        self.as_root = os.geteuid() == 0

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float,
              read_only: Sequence[Path] = (), keep_writes: bool = True, report: bool = False,
              gateway: Optional[Path] = None, shared: Sequence[Path] = ()) -> Running:
        cwd = Path(cwd).resolve()
        shared = [Path(p).resolve() for p in shared]
        if self.as_root:
            for folder in [cwd] * keep_writes + shared:
                _hand_over(folder, NOBODY)
        pipe = os.pipe() if report else None
        inner_env = self._env(cwd, env, pipe)
        inner_env["TMPDIR"] = "/tmp"
        argv = list(argv)
        if gateway is not None:
            argv = [sys.executable, "-c", _RELAY, GATEWAY_SOCKET, str(GATEWAY_PORT), *argv]
        mounts = Mounts(cwd, [Path(p).resolve() for p in read_only], shared, keep_writes, gateway)
        # A scoring run writes only to its capped tmpfs and the shared dirs: those are the ones to watch.
        return self._spawn(self._wrap(argv, inner_env, mounts), cwd, {"PATH": os.environ.get("PATH", "")},
                           timeout_s, pipe, watched=[cwd] * keep_writes + shared)

    def _kill(self, pid: int) -> None:
        # bwrap's own child dies with it (--die-with-parent), and with it, as the namespace's init, all inside.
        kill_group(pid)

    def _returncode(self, code: int) -> int:
        # bwrap reports a child killed by signal N as exit status 128 + N; say it the way Popen does.
        return -(code - 128) if 128 < code < 128 + signal.NSIG else code

    def _wrap(self, argv: list[str], env: dict, mounts: "Mounts") -> list[str]:
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"]
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
        scratch = ["--perms", "1777", "--size", str(self.limits.disk_mb * 1024 * 1024), "--tmpfs"]
        wrapped += [*scratch, "/tmp", "--dev", "/dev", "--proc", "/proc"]
        cwd, read_only = mounts.cwd, mounts.read_only
        python = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})
        # e.g. a chain's agent, run from its copy
        outside = [p for p in [*read_only, *mounts.shared] if not p.is_relative_to(cwd)]
        for path in [*python, cwd, *outside]:
            for parent in reversed(path.parents[:-1]):  # traversable parents: nobody must reach the mount
                if str(parent) != "/tmp":
                    wrapped += ["--perms", "0755", "--dir", str(parent)]
        for path in python:
            wrapped += ["--ro-bind", str(path), str(path)]
        if mounts.keep_writes:
            wrapped += ["--bind", str(cwd), str(cwd)]
        else:  # the work dir is a capped tmpfs showing only the paths named: writes never reach the disk
            wrapped += [*scratch, str(cwd)]
        for path in dict.fromkeys(read_only):  # inside the work dir, these are mounted over it
            wrapped += ["--ro-bind", str(path), str(path)]
        for path in mounts.shared:
            wrapped += ["--bind", str(path), str(path)]
        if mounts.gateway is not None:  # the one way out: connecting to a socket needs it bound writable
            wrapped += ["--perms", "0755", "--dir", "/run", "--bind", str(mounts.gateway), GATEWAY_SOCKET]
        wrapped += ["--chdir", str(cwd), "--clearenv"]
        for key, value in env.items():
            wrapped += ["--setenv", key, value]
        if self.as_root:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--", *argv]
        return wrapped + ["--", *argv]


@dataclass(frozen=True)
class Mounts:
    """What a bwrap child sees of the host besides the system and Python."""

    cwd: Path
    read_only: list[Path]
    shared: list[Path]  # writable, and possibly bound into another child too
    keep_writes: bool  # cwd itself writable; else a capped tmpfs showing only read_only and shared
    gateway: Optional[Path]


def _hand_over(folder: Path, uid: int) -> None:
    """Let the unprivileged uid write in its work dir (and nowhere else)."""
    os.chown(folder, uid, uid)
    for path, _ in entries(folder):  # no recursion, no links: a 1,100-deep folder must not crash the harness
        try:  # a shared dir may be in use already by the other child bound to it
            os.chown(path, uid, uid, follow_symlinks=False)
        except FileNotFoundError:
            pass


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:  # make_sandbox runs for every trial; once per process is enough
    log.warning(message)


def make_sandbox(cfg: SandboxConfig) -> ProcessSandbox:
    """Build the configured backend; `auto` picks bwrap where it is installed, else process with a warning."""
    kind = cfg.kind
    if kind is SandboxKind.auto:
        kind = SandboxKind.bwrap if bwrap_available() else SandboxKind.process
        if kind is SandboxKind.process:
            _warn_once("bubblewrap (bwrap) is not installed: untrusted code runs in the weaker process sandbox")
    if kind is SandboxKind.process and os.geteuid() == 0:
        _warn_once("the process sandbox runs untrusted code as root, with no isolation: install bubblewrap")
    limits = Limits(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(Limits)})  # same names as config
    if kind is SandboxKind.bwrap:
        return BwrapSandbox(cfg.output_cap_bytes, limits)
    return ProcessSandbox(cfg.output_cap_bytes, limits)


def check_sandbox(cfg: SandboxConfig) -> None:
    """Preflight: the configured backend exists and can start Python within its limits, so that a limit set too
    low (or a missing bubblewrap) is the user's one-line error, not a failure recorded against a model."""
    if cfg.kind is SandboxKind.bwrap and not bwrap_available():
        raise ConfigError("sandbox=bwrap, but bubblewrap is not installed: apt-get install bubblewrap "
                          "(or sandbox=auto to fall back to the weaker process sandbox)")
    _start_python(*(getattr(cfg, f.name) for f in dataclasses.fields(cfg)))


@functools.lru_cache(maxsize=None)
def _start_python(*values) -> None:  # once per distinct sandbox config and process
    cfg = SandboxConfig(*values)
    with tempfile.TemporaryDirectory(prefix="harness-sandbox-check-") as tmp:
        result = make_sandbox(cfg).exec([sys.executable, "-c", "import json, subprocess"], cwd=Path(tmp), env={},
                                        timeout_s=30)
    if not result.success:
        detail = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1][:200]
        raise ConfigError(f"the {cfg.kind.value} sandbox cannot start Python with these limits "
                          f"(memory_mb={cfg.memory_mb}, processes={cfg.processes}, open_files={cfg.open_files}): "
                          f"{detail}")
