"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted replies and faults, every request kept."""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional


@dataclass
class Step:
    """One scripted answer: an HTTP status with a chat completion (status 200) or an error body."""

    status: int = 200
    content: Optional[str] = "ok"
    tool_calls: Optional[list] = None
    finish_reason: str = "stop"
    headers: dict = field(default_factory=dict)
    usage: tuple[int, int] = (11, 7)
    fault: Optional[str] = None  # "reset": close the connection; "hang": answer after 3 s; "malformed": bad JSON
    body: Optional[dict] = None  # an error status's own body (default: a generic server_error)


def completion_body(step: Step, model: str) -> dict:
    message = {"role": "assistant", "content": step.content}
    if step.tool_calls:
        message["tool_calls"] = step.tool_calls
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": step.finish_reason}],
        "usage": {"prompt_tokens": step.usage[0], "completion_tokens": step.usage[1],
                  "total_tokens": sum(step.usage)},
    }


class OpenAIServer:
    """Serve /v1/chat/completions from a script of Steps (the last one repeats), or from a function of the request."""

    def __init__(self, steps: Optional[list[Step]] = None, responder: Optional[Callable[[dict], Step]] = None):
        self.steps = list(steps or [Step()])
        self.responder = responder
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict) -> Step:
        with self._lock:
            self.requests.append(body)
            if self.responder is not None:
                return self.responder(body)
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.headers.append(dict(self.headers))
                step = server._next(body)
                if step.fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if step.fault == "hang":
                    time.sleep(3)
                payload = (completion_body(step, body.get("model", "")) if step.status == 200 else step.body or
                           {"error": {"message": f"scripted failure {step.status}", "type": "server_error"}})
                data = json.dumps(payload).encode()
                if step.fault == "malformed":
                    data = data[: len(data) // 2]
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in step.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def synthetic_responder(specs_dir, rate: float = 0.5):
    """A provider that answers like the synthetic model (reference or seeded mutant), over real HTTP."""
    from harness.models.synthetic.model import answer

    def respond(body: dict) -> Step:
        params = {"specs_dir": str(specs_dir), "curve_temperatures": [0.0], "curve_rates": [rate], "model": "http"}
        text, _ = answer(body["messages"], params, body.get("temperature", 0.0), body.get("seed"))
        return Step(content=text, usage=(len(str(body["messages"])) // 4, len(text) // 4))

    return respond


# Faults of the transport or the provider, retried by the gateway. A reply cut at max_tokens, or empty, is none:
# it is the model's answer (tests/models/test_gateway.py).
FAULTS = [
    Step(429, headers={"Retry-After": "0"}), Step(500), Step(503), Step(fault="reset"), Step(fault="hang"),
    Step(fault="malformed"),
]


def faulty(responder, rate: float, seed: int = 0):
    """Wrap a responder so that a seeded `rate` of requests get one of FAULTS instead of an answer."""
    rng = random.Random(seed)

    def respond(body: dict) -> Step:
        if rng.random() < rate:
            return rng.choice(FAULTS)
        return responder(body)

    return respond
