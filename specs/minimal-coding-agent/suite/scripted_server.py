"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for black-box tests of an agent.

The server plays a prepared list of steps, one per request: a reply with tool calls, a final answer, an HTTP
error status, or a dropped connection. It records every request (method, path, headers, JSON body, arrival
time) so tests can check exactly what the agent sent. When the script runs out, the `fallback` step is used:
by default an HTTP 400, so an agent that asks for more than the test expected fails visibly.
"""
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_call_ids = itertools.count(1)


# ---------------------------------------------------------------- steps

def call(name, arguments=None, *, raw=None, id=None):
    """One tool call; `raw` gives the arguments string verbatim (e.g. invalid JSON)."""
    text = raw if raw is not None else json.dumps(arguments or {})
    return {"id": id or f"call_{next(_call_ids)}", "type": "function",
            "function": {"name": name, "arguments": text}}


def tool_reply(*calls, content=None, finish_reason="tool_calls"):
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return {"kind": "reply", "message": message, "finish_reason": finish_reason}


def answer(text, finish_reason="stop"):
    return {"kind": "reply", "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}


def http_error(status, *, message="scripted failure", retry_after=None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return {"kind": "status", "status": status, "headers": headers,
            "body": {"error": {"message": message, "type": "scripted_error", "param": None, "code": None}}}


def drop():
    """Close the connection without sending any response."""
    return {"kind": "drop"}


# ---------------------------------------------------------------- server

@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict  # lower-cased names
    body: object   # parsed JSON, or None
    time: float    # time.monotonic() at arrival

    @property
    def messages(self):
        return self.body["messages"]


class ScriptedServer:
    """Serves `steps` in order; a step may also be a callable taking the request index and returning a step."""

    def __init__(self, steps, fallback=None):
        self._steps = deque(steps)
        self._fallback = fallback or http_error(400, message="scripted conversation exhausted")
        self._lock = threading.Lock()
        self.requests = []
        handler = type("BoundHandler", (_Handler,), {"script": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def completions(self):
        """The recorded chat-completion requests, in arrival order."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/chat/completions")]

    def _record(self, request):
        with self._lock:
            self.requests.append(request)
            index = len(self.requests) - 1
            step = self._steps.popleft() if self._steps else self._fallback
        return step(index) if callable(step) else step


class _Handler(BaseHTTPRequestHandler):
    script = None  # set on the bound subclass

    def log_message(self, *args):
        pass  # keep test output clean

    def _arrive(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        return self.script._record(Request(self.command, self.path, headers, body, time.monotonic()))

    def do_POST(self):
        step = self._arrive()
        if step["kind"] == "drop":
            self.close_connection = True
            return  # the socket closes with no response at all
        if step["kind"] == "status":
            self._send_json(step["status"], step["body"], step["headers"])
            return
        self._send_json(200, _completion(step, self.script))

    def do_CONNECT(self):
        # Used as an HTTPS proxy only to observe which host the agent tries to reach.
        self._arrive()
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True

    def _send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _completion(step, script):
    last = script.requests[-1].body or {}
    return {
        "id": f"chatcmpl-{len(script.requests)}", "object": "chat.completion", "created": 1_700_000_000,
        "model": last.get("model", "scripted"),
        "choices": [{"index": 0, "message": step["message"], "finish_reason": step["finish_reason"],
                     "logprobs": None}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
