"""Run the implementation under test as a subprocess against a ScriptedServer.

The agent runs in the implementation's room (harness_room, provided by the scorer), which this suite's process
cannot see into and which cannot see the suite: workspaces are under tmp_path, which both rooms see, and the
server's port is relayed into the room's own loopback. Every run gets its own server, its own workspace (the
agent's --cwd) and its own random API key, so tests never share state. The agent process itself starts in a
different directory, so a run only passes if the agent really honours --cwd.
"""
import os
import secrets
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import harness_room
from scripted_server import ScriptedServer, answer, tool_reply

DEFAULT_TASK = "Complete the scripted task."
RUN_TIMEOUT_S = 60
MAX_PARALLEL_RUNS = 8
# Set when the suite ends before reading every run (pytest -x after a failure): runs not yet begun never begin, and
# agents still running are killed at their next poll.
_abandoned = threading.Event()


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
    stopped: str = ""  # why the suite killed the agent: "until", "timeout", "stall" or "abandoned"; "" if it exited
    early: bool = False  # set by run_cases: the run ended before all its calls were answered

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
        how = f"killed by the suite ({self.stopped})" if self.stopped else f"exit {self.returncode}"
        return (f"{how}, {len(self.requests)} requests, {self.elapsed:.1f} s\n"
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
              timeout=RUN_TIMEOUT_S, stall_s=None):
    """Run the agent once and return a Run. The agent's failures are data on the Run, never exceptions.

    `stdin`: text fed to the agent then closed (default: /dev/null). `hold_stdin_open`: give the agent a pipe that
    stays open until it exits. `until`: a predicate on the server; once true the agent is killed (for runs that
    would otherwise wait through back-off). `proxy`: make the server the agent's HTTPS proxy. `timeout` (the
    whole run) and `stall_s` (no new request for that long, counted from the first) kill the agent; the Run's
    `stopped` says which.
    test_secrets.py checks every run's output for its API key.
    """
    if _abandoned.is_set():
        raise RuntimeError("not run: the suite ended before it needed this run")
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    key = key or new_key()
    proc_cwd = proc_cwd or _scratch_dir(workspace)
    with ScriptedServer(steps, fallback) as server:
        command = _command(server, workspace, key, task, omit, extra_args)
        env = {**(env or {}), **({"HTTPS_PROXY": f"http://127.0.0.1:{server.port}"} if proxy else {})}
        started = time.monotonic()
        watch = _Watch(server, until, timeout, stall_s)
        returncode, out, err = _execute(command, _environment(env), proc_cwd, stdin, hold_stdin_open, watch,
                                        server.port)
        stopped = watch.reason
        run = Run(returncode, out, err, server, workspace, Path(proc_cwd), key, time.monotonic() - started,
                  stopped)
    return run


class Runs(dict):
    """name -> Run; a run still playing is waited for when a test asks for it, and a scenario that raised
    re-raises its exception there."""

    def __getitem__(self, name):
        value = super().__getitem__(name)
        if isinstance(value, Future):
            value = value.result()
        if isinstance(value, BaseException):
            # A fresh exception per test: re-raising one instance would pile up tracebacks across tests.
            raise AssertionError(f"scenario {name!r} failed: {value}") from value
        return value


def _guarded(job):
    try:
        return job()
    except Exception as exc:  # reported by the test that reads this run, not by the whole module
        return exc


@contextmanager
def playing(jobs, max_workers=MAX_PARALLEL_RUNS, waiting=()):
    """Start `name -> zero-argument callable` jobs concurrently, each starting its own agent, and yield their
    Runs at once: a test waits for its own runs only. On leaving, every run the suite did not wait for is
    dropped (a fail-fast suite that stopped at its first failure does not play the rest).

    At most `max_workers` runs work at once (an agent's start-up is CPU-bound); the jobs named in `waiting`
    spend most of their time waiting (a back-off, a command's timeout) and start at once, each on a thread of
    its own: queued behind the busy runs, their waits made the whole suite seconds longer.
    """
    busy = ThreadPoolExecutor(max_workers=max_workers)
    idle = ThreadPoolExecutor(max_workers=max(1, len(waiting)))
    try:
        started = {name: idle.submit(_guarded, job) for name, job in jobs.items() if name in waiting}
        started.update((name, busy.submit(_guarded, job)) for name, job in jobs.items() if name not in waiting)
        yield Runs({name: started[name] for name in jobs})
    finally:
        _abandoned.set()
        for pool in (idle, busy):
            pool.shutdown(wait=False, cancel_futures=True)
        for pool in (idle, busy):
            pool.shutdown(wait=True)
        _abandoned.clear()


def run_many(jobs, max_workers=MAX_PARALLEL_RUNS, waiting=()):
    """Every job played to its end, concurrently: name -> Run, or the exception its job raised."""
    with playing(jobs, max_workers, waiting) as runs:
        return Runs({name: future.result() for name, future in dict.items(runs)})


def _scratch_dir(workspace):
    path = workspace.parent / (workspace.name + "-process-cwd")
    path.mkdir(exist_ok=True)
    return path


class _Watch:
    """Decides when the suite stops waiting for an agent: a predicate came true, the run or a step took too long."""

    def __init__(self, server, until, timeout, stall_s):
        self.server, self.until, self.stall_s = server, until, stall_s
        self.deadline = time.monotonic() + timeout
        self.reason = ""
        # The stall clock starts at the first request, never at the spawn: start-up (importing the client
        # library) is CPU-bound, and MAX_PARALLEL_RUNS cold starts beside another trial's on a small machine
        # take longer than a stall; counting them made a correct agent's outcome depend on the host's load.
        # Start-up is bounded by the whole run's timeout.
        self._seen, self._since = 0, None

    def stop(self):
        now = time.monotonic()
        if len(self.server.requests) != self._seen:
            self._seen, self._since = len(self.server.requests), now
        if _abandoned.is_set():
            self.reason = "abandoned"
        elif self.until and self.until(self.server):
            self.reason = "until"
        elif now > self.deadline:
            self.reason = "timeout"
        elif self.stall_s and self._since is not None and now - self._since > self.stall_s:
            self.reason = "stall"
        return bool(self.reason)


def _execute(command, env, cwd, stdin, hold_stdin_open, watch, port):
    """Run the agent in the implementation's room (this suite never sees it), polling `watch` every 0.2 s."""
    with harness_room.spawn(command, cwd=cwd, env=env, stdin=stdin, hold_stdin=hold_stdin_open,
                            forward=[port]) as proc:
        while True:
            done = proc.wait(0.2)
            if done is None and watch.stop():
                done = proc.kill()
            if done is not None:
                return done.code, _text(done.stdout), _text(done.stderr)


def _text(data):
    # As a text-mode pipe reads it: universal newlines.
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------- tables of tool calls, one verdict per call

TURNS_PER_RUN = 19  # calls per run, so that with the final answer a run stays within the default --max-turns 20
CASE_STALL_S = 15  # a call that keeps the agent busy this long (no next request) is given up
MAX_EARLY_ENDS = 3  # runs of one table that may end before their calls did; the rest are then not played


@dataclass
class CaseRun:
    """The runs that played one table of tool calls, and the calls that got no result (id -> why)."""
    runs: list
    failures: dict
    workspace: Path

    @property
    def completed(self):
        """True when the first run played every call and exited 0: no call crashed or stalled the agent."""
        return not self.failures and len(self.runs) >= 1 and all(r.returncode == 0 and not r.stopped
                                                                 for r in self.runs)

    def tool_results(self):
        return {k: v for run in self.runs for k, v in run.tool_results().items()}

    def lines(self, prefix):
        return [line for run in self.runs for line in run.lines(prefix)]

    @property
    def stdout(self):
        """What the last run printed: the one that reached the final answer, when any did."""
        return self.runs[-1].stdout if self.runs else ""

    def result(self, call_id):
        if call_id in self.failures:
            raise AssertionError(self.failures[call_id])
        results = self.tool_results()
        assert call_id in results, f"no tool message for {call_id}\n" + self.describe()
        return results[call_id]

    def request_after(self, call_id):
        """(time the call was sent, time the request carrying its result arrived)."""
        self.result(call_id)
        for run in self.runs:
            requests = run.requests
            for sent, carried in zip(requests, requests[1:]):
                if any(m.get("tool_call_id") == call_id for m in carried.messages if m.get("role") == "tool"):
                    return sent.time, carried.time
        raise AssertionError(f"no request carried the result of {call_id}")

    def describe(self):
        return "\n".join(f"run {n + 1}: {run.describe()}" for n, run in enumerate(self.runs))


def run_cases(workspace, calls, *, final="done", stall_s=CASE_STALL_S, **options):
    """Play `calls` (each with its own id) one per turn, then a final answer, and return a CaseRun.

    One tool call per turn means the result of call k reaches the server before call k+1 runs. An agent that
    crashes, exits or stalls on a call leaves that call without a result: the call is recorded as a failure (its
    tests fail, naming why) and the calls after it are played again in a fresh run in the same workspace, so a
    crash on one case costs only that case's tests. `options` go to run_agent."""
    pending, runs, failures = list(calls), [], {}
    while pending:
        if sum(r.early for r in runs) >= MAX_EARLY_ENDS:
            for c in pending:
                failures[c["id"]] = f"not played: the agent ended {MAX_EARLY_ENDS} runs early\n" + runs[-1].describe()
            break
        chunk = pending[:TURNS_PER_RUN]
        run = run_agent(workspace, [tool_reply(c) for c in chunk] + [answer(final)], stall_s=stall_s, **options)
        runs.append(run)
        answered = run.tool_results()
        done = next((i for i, c in enumerate(chunk) if c["id"] not in answered), len(chunk))
        if done < len(chunk):
            run.early = True
            function = chunk[done]["function"]
            failures[chunk[done]["id"]] = (f"the agent got no further than this call ({function['name']} "
                                           f"{function['arguments'][:200]})\n" + run.describe())
            done += 1
        pending = pending[done:]
    return CaseRun(runs, failures, Path(workspace))
