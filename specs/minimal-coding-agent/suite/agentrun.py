"""Run the implementation under test as a subprocess against a ScriptedServer.

Every run gets its own server, its own workspace (the agent's --cwd) and its own random API key, so tests never
share state. The agent process itself starts in a different directory, so a run only passes if the agent
really honours --cwd.
"""
import os
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scripted_server import ScriptedServer

DEFAULT_TASK = "Complete the scripted task."
RUN_TIMEOUT_S = 60
MAX_PARALLEL_RUNS = 8


def new_key():
    return "sk-suite-" + secrets.token_hex(16)


def impl_entry():
    impl = os.environ.get("HARNESS_IMPL_DIR")
    if not impl:
        raise RuntimeError("HARNESS_IMPL_DIR must point at the implementation under test")
    return str(Path(impl, "agent.py").resolve())


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    server: ScriptedServer
    workspace: Path
    process_cwd: Path  # where the agent process was started
    key: str
    elapsed: float

    @property
    def requests(self):
        return self.server.completions()

    def tool_results(self):
        """tool_call_id -> content, over every tool message the agent sent."""
        return {m["tool_call_id"]: m["content"] for r in self.requests for m in r.messages
                if m.get("role") == "tool"}

    def result(self, call_id):
        results = self.tool_results()
        assert call_id in results, f"no tool message for {call_id}; stderr:\n{self.stderr[-2000:]}"
        return results[call_id]

    def lines(self, prefix):
        return [line for line in self.stderr.splitlines() if line.startswith(prefix)]

    def describe(self):
        return (f"exit {self.returncode}, {len(self.requests)} requests, {self.elapsed:.1f} s\n"
                f"--- stdout ---\n{self.stdout[-1500:]}\n--- stderr ---\n{self.stderr[-3000:]}")


def _environment(extra):
    # Proxy and OPENAI_* variables from the outer environment would change where the agent connects.
    env = {k: v for k, v in os.environ.items()
           if not (k.upper().endswith("_PROXY") or k.upper().startswith("OPENAI_"))}
    env.update(extra or {})
    return env


def _command(server, workspace, key, task, omit, extra_args):
    options = {"--base-url": server.base_url, "--model": "scripted", "--api-key": key, "--cwd": str(workspace)}
    command = [sys.executable, impl_entry()]
    for name, value in options.items():
        if name not in omit:
            command += [name, value]
    command += list(extra_args)
    return command + ([task] if task is not None else [])


def run_agent(workspace, steps, *, fallback=None, task=DEFAULT_TASK, omit=(), extra_args=(), stdin=None,
              hold_stdin_open=False, env=None, key=None, proc_cwd=None, proxy=False, until=None,
              timeout=RUN_TIMEOUT_S):
    """Run the agent once and return a Run.

    `stdin`: text fed to the agent then closed (default: /dev/null). `hold_stdin_open`: give the agent a pipe that
    stays open until it exits. `until`: a predicate on the server; once true the agent is killed (for runs that
    would otherwise wait through back-off). `proxy`: make the server the agent's HTTPS proxy. Every run also
    checks that the API key never reached the output.
    """
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    key = key or new_key()
    proc_cwd = proc_cwd or _scratch_dir(workspace)
    with ScriptedServer(steps, fallback) as server:
        command = _command(server, workspace, key, task, omit, extra_args)
        env = {**(env or {}), **({"HTTPS_PROXY": f"http://127.0.0.1:{server.port}"} if proxy else {})}
        started = time.monotonic()
        returncode, out, err = _execute(command, _environment(env), proc_cwd, stdin, hold_stdin_open,
                                        until and (lambda: until(server)), timeout)
        run = Run(returncode, out, err, server, workspace, Path(proc_cwd), key, time.monotonic() - started)
    assert key not in run.stdout and key not in run.stderr, "the API key was printed:\n" + run.describe()
    return run


class Runs(dict):
    """name -> Run; a scenario that raised re-raises its exception when a test asks for it."""

    def __getitem__(self, name):
        value = super().__getitem__(name)
        if isinstance(value, BaseException):
            # A fresh exception per test: re-raising one instance would pile up tracebacks across tests.
            raise AssertionError(f"scenario {name!r} failed: {value}") from value
        return value


def run_many(jobs, max_workers=MAX_PARALLEL_RUNS):
    """Run `name -> zero-argument callable` jobs concurrently, each starting its own agent.

    Agent start-up (importing the client library) dominates a run, so overlapping runs keeps the suite fast.
    """
    def guarded(job):
        try:
            return job()
        except Exception as exc:  # reported by the test that reads this run, not by the whole module
            return exc

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = {name: pool.submit(guarded, job) for name, job in jobs.items()}
        return Runs({name: future.result() for name, future in futures.items()})


def _scratch_dir(workspace):
    path = workspace.parent / (workspace.name + "-process-cwd")
    path.mkdir(exist_ok=True)
    return path


def _execute(command, env, cwd, stdin, hold_stdin_open, stop_when, timeout):
    read_end = write_end = None
    if hold_stdin_open:
        read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, text=True, start_new_session=True,
        stdin=read_end if hold_stdin_open else (subprocess.PIPE if stdin is not None else subprocess.DEVNULL),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if read_end is not None:
        os.close(read_end)
    try:
        out, err = _communicate(proc, stdin, stop_when, time.monotonic() + timeout)
        return proc.returncode, out, err
    finally:
        if write_end is not None:
            os.close(write_end)


def _communicate(proc, stdin, stop_when, deadline):
    pending_input = stdin
    while True:
        try:
            out, err = proc.communicate(input=pending_input, timeout=0.2)
            return out, err
        except subprocess.TimeoutExpired:
            pending_input = None  # communicate() already sent it on the first call
        if (stop_when and stop_when()) or time.monotonic() > deadline:
            _kill_group(proc)
            out, err = proc.communicate()
            if not (stop_when and stop_when()):
                raise AssertionError(f"agent still running after the time limit\nstderr:\n{err[-3000:]}")
            return out, err


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
