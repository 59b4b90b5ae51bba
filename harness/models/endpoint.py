"""A loopback model endpoint that forwards every request through one trial's Gateway.

It speaks chat completions, Anthropic's Messages API (Claude Code) and OpenAI's Responses API (Codex), each
streamed or not, translated by harness/models/api_formats.py; every request, whatever its format, is one `Gateway.complete`.

It listens on 127.0.0.1, or on a Unix socket that bwrap binds into an agent's sandbox, where a relay puts it on
the sandbox's private loopback (harness/sandbox/backends.py): then the gateway is the agent's only way out.

Subprocess agents (a generated agent, Claude Code, aider...) talk to this instead of a provider, so that retries,
cost accounting and the transcript apply to them too. The agent gets a per-trial dummy key, never the real one,
and the trial's temperature and seed replace whatever the agent asked for (the paper's agent sets neither).

Whose fault a failed request is decides the trial's status, so the agent cannot choose it: a request the endpoint
cannot parse, or one the provider refuses as malformed (HTTP 400, 413, 422) while it accepts this trial's own
settings, is the agent's: it gets the error and the trial is scored. A provider that stays down, a strict replay
without a recording, or a refusal of the trial's own settings is ours: the trial ends `infra_error`. Past
`max_calls` requests, each further one is refused (403), and the record's detail says how many.
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

from harness.errors import ContextExceeded, HarnessError, RequestRejected
from harness.models import api_formats
from harness.sandbox.backends import GATEWAY_PORT
from harness.seams import ModelGateway


class GatewayServer:
    """`with GatewayServer(gateway, temperature, seed) as server:` then point an agent at `server.base_url`.

    With `unix_socket`, it listens there instead, and `base_url` is where the sandbox's relay serves it."""

    def __init__(self, gateway: ModelGateway, temperature: float, seed: Optional[int],
                 unix_socket: Optional[Path] = None, max_calls: Optional[int] = None):
        self.gateway = gateway
        self.temperature = temperature
        self.seed = seed
        self.api_key = "hk-trial-" + secrets.token_hex(12)
        self.failure: Optional[HarnessError] = None  # the provider stayed down, or replay found no recording
        self.requests = 0  # forwarded to the gateway
        self.offered_tools = 0  # requests that offered the model tools ...
        self.tool_replies = 0  # ... and replies in which it called one
        self.context_full = False  # a request no longer fit the model's context (answered 400, as a provider does)
        self.max_calls = max_calls  # past it, every request is refused (403) and counted in `refused`
        self.refused = 0
        self.rejected: list[str] = []  # the provider's refusals of the agent's own requests, answered to it
        self._settings_ok = False  # a request with this trial's settings has been answered
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

    def complete(self, body: dict, wire_format: str = api_formats.CHAT
                 ) -> tuple[int, dict, Optional[api_formats.ChatRequest]]:
        """Answer one request body in `wire_format`: (HTTP status, JSON payload, the request as chat)."""
        try:
            request = api_formats.parse(wire_format, body)
        except (api_formats.WireError, LookupError, TypeError, ValueError, AttributeError) as exc:  # the agent's
            return 400, _error(f"bad {wire_format} request: {exc}", "invalid_request_error"), None
        with self._lock:
            if self.max_calls is not None and self.requests >= self.max_calls:
                self.refused += 1
                return 403, _error(f"this trial allows {self.max_calls} model calls (max_model_calls) and they are "
                                   "spent; no further request is answered", "max_model_calls"), None
            self.requests += 1
            ident = f"{PREFIX[wire_format]}{self.requests}"
            try:
                reply = self.gateway.complete(request.messages, temperature=self.temperature, seed=self.seed,
                                              tools=request.tools, wire=wire_format)
            except ContextExceeded as exc:  # the model's limit, answered as a provider answers it: the agent decides
                self.context_full = True
                return 400, _error(str(exc), "context_length_exceeded"), None
            except RequestRejected as exc:
                if self._agents_fault(exc):
                    self.rejected.append(f"HTTP {exc.status} {exc.error_class}")
                    return exc.status, _error(f"the provider rejected this request: {exc}", "invalid_request"), None
                return self._failed(exc)
            except HarnessError as exc:  # ProviderError or CacheMiss: not the agent's doing
                return self._failed(exc)
            self.offered_tools += bool(request.tools)
            self.tool_replies += bool(reply.tool_calls)
        payload = api_formats.render(reply, request, ident)
        if wire_format == api_formats.CHAT:
            payload["created"] = int(time.time())
        return 200, payload, request

    def _failed(self, exc: HarnessError) -> tuple[int, dict, None]:
        """A fault that is not the agent's: remembered, so the trial ends `infra_error`, and answered 502."""
        self.failure = self.failure or exc
        return 502, _error(f"upstream failed: {type(exc).__name__}", "upstream_error"), None

    def _agents_fault(self, rejected: RequestRejected) -> bool:
        """Whether the provider refused the agent's request for what the agent wrote, rather than for this trial's
        own settings (its model, max_tokens, temperature, seed), which every request carries. Once a request of
        the trial has been answered, the settings are known good; before, one request of ours with the same
        settings (PROBE, marked `probe` in the transcript) tells: refused too, the fault is ours."""
        if self._settings_ok or self.gateway.usage.calls:
            return True
        try:
            self.gateway.complete([{"role": "user", "content": PROBE}], temperature=self.temperature, seed=self.seed,
                                  wire="probe")
        except RequestRejected:
            return False
        except HarnessError as exc:  # the provider went down meanwhile: that is no verdict on either side
            self.failure = self.failure or exc
            return False
        self._settings_ok = True
        return True


PROBE = "Reply with the single word: ok"
# Where each wire format is served (with or without the /v1 prefix), and how its reply ids start.
ROUTES = {"/chat/completions": api_formats.CHAT, "/messages": api_formats.MESSAGES, "/responses": api_formats.RESPONSES}
PREFIX = {api_formats.CHAT: "chatcmpl-", api_formats.MESSAGES: "msg_", api_formats.RESPONSES: "resp_"}


def _route(path: str) -> Optional[str]:
    path = path.split("?", 1)[0].rstrip("/")
    return ROUTES.get(path[3:] if path.startswith("/v1/") else path)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    pass


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind}}


def _handler(server: GatewayServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 -- http.server's naming
            # OpenAI's clients send the key as a bearer token, Anthropic's as x-api-key
            keys = {self.headers.get("Authorization"), f"Bearer {self.headers.get('x-api-key')}"}
            if f"Bearer {server.api_key}" not in keys:
                return self._send(401, _error("unknown API key", "invalid_api_key"))
            wire_format = _route(self.path)
            if wire_format is None:
                return self._send(404, _error(f"no route {self.path}", "not_found"))
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length >= 0 else None
            except (ValueError, RecursionError):  # not JSON, or nested past what the parser follows
                body = None
            if body is None:
                return self._send(400, _error("body is not JSON", "invalid_request_error"))
            status, payload, request = server.complete(body, wire_format)
            if status == 200 and request is not None and request.stream:
                return self._reply(200, "text/event-stream", api_formats.stream_body(payload, wire_format))
            self._send(status, payload)

        def do_GET(self):  # noqa: N802 -- an agent probing for models or health: nothing to offer
            self._send(404, _error(f"no route {self.path}", "not_found"))

        def _send(self, status: int, payload: dict) -> None:
            self._reply(status, "application/json", json.dumps(payload).encode())

        def _reply(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # the transcript is the log
            pass

        def address_string(self) -> str:  # a Unix socket's peer has no host
            return str(self.client_address[0]) if self.client_address else "unix"

    return Handler
