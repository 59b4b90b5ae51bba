"""An OpenAI-compatible endpoint that forwards every request through one trial's Gateway.

It listens on 127.0.0.1, or on a Unix socket that bwrap binds into an agent's sandbox, where a relay puts it on
the sandbox's private loopback (harness/sandbox.py): then the gateway is the agent's only way out.

Subprocess agents (a generated agent, Claude Code, aider...) talk to this instead of a provider, so that retries,
cost accounting and the transcript apply to them too. The agent gets a per-trial dummy key, never the real one,
and the trial's temperature and seed replace whatever the agent asked for (the paper's agent sets neither).
"""

from __future__ import annotations

import json
import os
import secrets
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

from harness.errors import HarnessError
from harness.sandbox import GATEWAY_PORT
from harness.seams import ModelGateway


class GatewayServer:
    """`with GatewayServer(gateway, temperature, seed) as server:` then point an agent at `server.base_url`.

    With `unix_socket`, it listens there instead, and `base_url` is where the sandbox's relay serves it."""

    def __init__(self, gateway: ModelGateway, temperature: float, seed: Optional[int],
                 unix_socket: Optional[Path] = None):
        self.gateway = gateway
        self.temperature = temperature
        self.seed = seed
        self.api_key = "hk-trial-" + secrets.token_hex(12)
        self.failure: Optional[HarnessError] = None  # the provider stayed down, or replay found no recording
        self.requests = 0
        self._lock = threading.Lock()  # one model call at a time keeps the transcript in order
        self.unix_socket = unix_socket
        if unix_socket is None:
            self._server: socketserver.BaseServer = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        else:
            self._server = _UnixHTTPServer(str(unix_socket), _handler(self))
            os.chmod(unix_socket, 0o666)  # the sandbox's unprivileged uid must be able to connect
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        port = GATEWAY_PORT if self.unix_socket else self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def __enter__(self) -> "GatewayServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def complete(self, body: dict) -> tuple[int, dict]:
        """Answer one chat-completions request body: (HTTP status, JSON payload)."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, _error("request has no messages", "invalid_request_error")
        with self._lock:
            self.requests += 1
            try:
                reply = self.gateway.complete(messages, temperature=self.temperature, seed=self.seed,
                                              tools=body.get("tools") or None)
            except HarnessError as exc:  # ProviderError or CacheMiss: not the agent's doing
                self.failure = self.failure or exc
                return 502, _error(f"upstream failed: {type(exc).__name__}", "upstream_error")
        return 200, {
            "id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": reply.message(), "finish_reason": reply.finish_reason or "stop"}],
            "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                      "total_tokens": reply.prompt_tokens + reply.completion_tokens},
        }


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    pass


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind}}


def _handler(server: GatewayServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 -- http.server's naming
            if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                return self._send(401, _error("unknown API key", "invalid_api_key"))
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                return self._send(404, _error(f"no route {self.path}", "not_found"))
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            except (ValueError, json.JSONDecodeError):
                return self._send(400, _error("body is not JSON", "invalid_request_error"))
            self._send(*server.complete(body))

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # the transcript is the log
            pass

        def address_string(self) -> str:  # a Unix socket's peer has no host
            return str(self.client_address[0]) if self.client_address else "unix"

    return Handler
