"""A local model the harness serves itself: llama.cpp's server (harness/models/llama_server.py) in a child
process, started on the first model call that the response cache cannot answer, shared by every trial of this
process, and stopped when the process ends.

    model.local (conf/model/smollm2.yaml) -> weights (the pinned SmolLM2-135M-Instruct, or model.local.gguf)
        -> `endpoint(...)`: what the gateway enters around each provider call -> http://127.0.0.1:PORT/v1,
           holding one of the server's slots (n_parallel) while the call runs

Requests then go through the gateway and litellm like any OpenAI-compatible provider's (`openai/<alias>` with
that api_base): the server is a provider, not a special case. A sweep that the cache answers whole (a re-run, a
strict replay) never starts it. The server's context and slots come from the config, and it is asked at start
(`/props`) whether it has them, so a reply's `max_tokens` is fitted to the context from the config alone and the
cache key stays the same whether or not a server runs.

The child is never orphaned: it serves until its stdin reaches end of file, and this process holds the only
writer, which the kernel closes when this process ends, however it ends (SIGKILL included). `stop_all` stops it
earlier. It runs in its own session, so a Ctrl-C at the terminal reaches the harness, which then stops it.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator, Optional

from harness.config.schema import LocalParams, ModelConfig
from harness.errors import ConfigError, ProviderError
from harness.models import weights
from harness.models.llama_server import ANSWERING
from harness.sweep import interrupt

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0
SLOT_POLL_S = 0.5


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def alias(model: ModelConfig) -> str:
    """The name requests give the server: the model part of `openai/<alias>`."""
    return model.litellm_model.partition("/")[2] or model.litellm_model


@dataclass(frozen=True)
class ServerKey:
    """What makes two local models one server: the same file, name, context, slots and threads."""

    gguf: str
    alias: str
    n_ctx: int
    n_parallel: int
    threads: int


class LocalServer:
    """One llama.cpp server process; `address` is its base URL once `start` has returned."""

    def __init__(self, key: ServerKey, log_path: Path, startup_timeout_s: float):
        self.key, self.log_path, self.startup_timeout_s = key, log_path, startup_timeout_s
        self.proc: Optional[subprocess.Popen] = None
        self.address = ""
        # One request per slot at a time: the rest wait here, not in the server's queue, where their timeout
        # would run while others' replies are decoded.
        self.slots = threading.BoundedSemaphore(key.n_parallel)

    def start(self) -> "LocalServer":
        """Start the server and wait until it listens with the context and slots asked for; raise ProviderError
        (naming its log) when it does not."""
        k = self.key
        argv = [sys.executable, "-m", "harness.models.llama_server", k.gguf, "--alias", k.alias, "--ctx",
                str(k.n_ctx), "--parallel", str(k.n_parallel), "--threads", str(k.threads)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as logfile:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logfile,
                                         start_new_session=True)
        started = time.monotonic()
        line = _read_line(self.proc, self.startup_timeout_s)
        if not line:
            self.stop()
            raise ProviderError(f"the local model server did not start within {self.startup_timeout_s:g} s "
                                f"(exit {self.proc.returncode}); see {self.log_path}", "LocalServerStart")
        self.address = json.loads(line)["address"]
        self._check_props()
        log.info("local model %s serving on %s (%d slots x %d tokens, %d threads), started in %.1f s; log: %s",
                 k.alias, self.address, k.n_parallel, k.n_ctx, k.threads, time.monotonic() - started, self.log_path)
        return self

    def _check_props(self) -> None:
        """Ask the server what it runs: a context or slot count other than the config's is refused."""
        props = get_json(self.address + "/props")
        n_ctx = props["default_generation_settings"]["n_ctx"]
        if (n_ctx, props["total_slots"]) != (self.key.n_ctx, self.key.n_parallel):
            self.stop()
            raise ConfigError(f"the local model server runs {props['total_slots']} slots of {n_ctx} tokens, not "
                              f"the {self.key.n_parallel} x {self.key.n_ctx} configured (model.local)")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Close its stdin (it exits at once), and kill its process group if it has not within a few seconds."""
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def _read_line(proc: subprocess.Popen, timeout_s: float) -> str:
    """The server's first line on stdout, or "" when it exits or stays silent past the timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    return proc.stdout.readline().decode().strip() if ready else ""


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
        return json.loads(response.read())


_servers: dict[ServerKey, LocalServer] = {}
_lock = threading.Lock()


def server_key(model: ModelConfig, downloads_dir: Path) -> ServerKey:
    local = model.local
    return ServerKey(str(weights.path(local, downloads_dir)), alias(model), local.n_ctx, local.n_parallel,
                     local.threads or usable_cores())


def serve(model: ModelConfig, downloads_dir: Path, log_dir: Path) -> LocalServer:
    """The server for `model`, started if none of this process runs, or started again if it died (its log says
    why)."""
    with _lock:
        interrupt.check()  # a stopping sweep starts no server
        key = server_key(model, downloads_dir)
        server = _servers.get(key)
        if server is None or not server.alive():
            if server is not None:
                log.warning("the local model server %s exited (%s); starting another", server.address,
                            server.proc.returncode)
            name = f"{key.alias}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            _servers[key] = server = LocalServer(key, Path(log_dir) / name, model.local.startup_timeout_s).start()
        return server


def endpoint(model: ModelConfig, downloads_dir: Path, log_dir: Path) -> Callable[[], ContextManager[str]]:
    """What the gateway enters for the api_base just before it calls the provider (never on a cache hit): it
    starts the server if needed, and holds one of its slots until the call returns."""
    @contextmanager
    def slot() -> Iterator[str]:
        server = serve(model, downloads_dir, log_dir)
        while not server.slots.acquire(timeout=SLOT_POLL_S):
            interrupt.check()  # Ctrl-C: a trial waiting for a slot stops waiting
        try:
            # Ctrl-C stops the server: the calls in flight fail at once instead of decoding on for minutes
            with interrupt.killable(server.stop):
                yield server.address + "/v1"
        finally:
            server.slots.release()
    return slot


def stop_all() -> None:
    """Stop every server this process started (they also stop by themselves when it ends)."""
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


def running() -> list[LocalServer]:
    with _lock:
        return [s for s in _servers.values() if s.alive()]


def describe(local: LocalParams) -> dict:
    """What identifies a local model besides its config: its weights' sha256, the server that runs them and our
    settings of it that change its answers (trials and cached replies made before the prompt cache was turned
    off are not these)."""
    return {"weights_sha256": weights.sha256(local), "server": weights.server_version(),
            "settings": dict(sorted(ANSWERING.items()))}
