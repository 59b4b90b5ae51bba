#!/usr/bin/env python3
"""Minimal coding agent: reference implementation of specs/minimal-coding-agent/spec.md.

The model gets a task and five tools (read_file, write_file, run_shell, list_files, search_text) and works in
--cwd until it answers. Only the final answer goes to stdout; progress, warnings and errors go to stderr.
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import openai

SYSTEM_PROMPT = (
    "You are a coding agent working in a project directory. Use the tools to inspect and change files and to "
    "run commands. Paths are relative to the project directory. When the task is done, reply with a short "
    "final answer and no tool calls."
)
STREAM_CAP = 10_000
MATCH_CAP = 200
PREVIEW_CHARS = 200
RETRY_DELAYS = (1, 2, 4)
REDACTED = "[REDACTED]"


def _tool(name, description, properties, required):
    props = {key: {"type": kind, "description": text} for key, (kind, text) in properties.items()}
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": props, "required": required}}}


TOOLS = [
    _tool("read_file", "Read a text file, optionally only lines start_line..end_line (1-based, inclusive).",
          {"path": ("string", "File path"), "start_line": ("integer", "First line, default 1"),
           "end_line": ("integer", "Last line, default the last line")}, ["path"]),
    _tool("write_file", "Write a whole file, creating parent directories. Returns OK.",
          {"path": ("string", "File path"), "content": ("string", "Full new content")}, ["path", "content"]),
    _tool("run_shell", "Run a bash command in the project directory. Returns JSON with stdout, stderr, exit_code.",
          {"command": ("string", "Command for bash -c"), "timeout": ("integer", "Seconds, default 30")},
          ["command"]),
    _tool("list_files", "List paths matching a glob pattern (** is recursive), sorted, one per line.",
          {"pattern": ("string", "Glob pattern, e.g. **/*.py")}, ["pattern"]),
    _tool("search_text", "Search files for a Python regular expression. Returns path:line: text lines.",
          {"pattern": ("string", "Python regular expression"),
           "glob": ("string", "Files to search, default **/*")}, ["pattern"]),
]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


class ToolError(Exception):
    """A tool failed; the message becomes an `ERROR:` result for the model."""


class ApiFailure(Exception):
    """The API could not be reached or refused the request; ends the run with exit status 1."""


class Redactor:
    """Replaces the API key in any text before it leaves the agent."""

    def __init__(self, secret):
        self.secret = secret

    def __call__(self, text):
        return text.replace(self.secret, REDACTED) if self.secret else text


# ---------------------------------------------------------------- tools

def split_lines(text):
    """Split after each "\\n" only (str.splitlines would also split on "\\r" and friends)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return (lines + [parts[-1]]) if parts[-1] else lines


def cap_stream(text):
    if len(text) <= STREAM_CAP:
        return text
    return f"{text[:STREAM_CAP]}\n[truncated: {len(text) - STREAM_CAP} more characters]"


class Tools:
    """The five tools, bound to one working directory."""

    def __init__(self, cwd):
        self.cwd = cwd

    def _path(self, path):
        return os.path.join(self.cwd, path)  # join keeps absolute paths as they are

    def _read_text(self, path):
        with open(self._path(path), "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")

    def read_file(self, path, start_line=None, end_line=None):
        start = 1 if start_line is None else start_line
        if start < 1:
            raise ToolError("start_line must be at least 1")
        if end_line is not None and end_line < start:
            raise ToolError("end_line must not be below start_line")
        lines = split_lines(self._read_text(path))
        return "".join(lines[start - 1:end_line])

    def write_file(self, path, content):
        full = self._path(path)
        os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(content.encode("utf-8"))
        return "OK"

    def run_shell(self, command, timeout=None):
        timeout = 30 if timeout is None else timeout
        if timeout < 1:
            raise ToolError("timeout must be at least 1")
        # A new session lets us kill the whole process group, so grandchildren cannot keep the pipes open.
        proc = subprocess.Popen(["bash", "-c", command], cwd=self.cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ToolError(f"command timed out after {timeout} seconds") from None
        return json.dumps({"stdout": cap_stream(out.decode("utf-8", errors="replace")),
                           "stderr": cap_stream(err.decode("utf-8", errors="replace")),
                           "exit_code": proc.returncode})

    def list_files(self, pattern):
        return "\n".join(self._glob(pattern))

    def _glob(self, pattern):
        return sorted(glob.glob(pattern, root_dir=self.cwd, recursive=True))

    def search_text(self, pattern, glob=None):  # `glob` is the tool's parameter name; the module is used in _glob
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ToolError(f"invalid regular expression: {exc}") from None
        found = []
        for path in self._glob("**/*" if glob is None else glob):
            found.extend(f"{path}:{number}: {line}" for number, line in self._matching_lines(path, regex))
        if len(found) > MATCH_CAP:
            found = found[:MATCH_CAP] + [f"[truncated: {len(found) - MATCH_CAP} more matching lines]"]
        return "\n".join(found)

    def _matching_lines(self, path, regex):
        full = self._path(path)
        if not os.path.isfile(full):
            return []
        try:
            with open(full, "rb") as handle:
                text = handle.read().decode("utf-8")
        except (UnicodeDecodeError, OSError):
            return []  # binary or unreadable files are skipped, not reported
        lines = [line.removesuffix("\n") for line in split_lines(text)]
        return [(number, line) for number, line in enumerate(lines, 1) if regex.search(line)]


def _type_ok(value, kind):
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def parse_arguments(name, raw):
    """Check a tool call's arguments against the tool's schema; nothing runs unless they are valid."""
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ToolError(f"arguments are not valid JSON: {exc}") from None
    if not isinstance(args, dict):
        raise ToolError("arguments must be a JSON object")
    schema = SCHEMAS[name]
    kept = {key: value for key, value in args.items() if key in schema["properties"] and value is not None}
    for key in schema["required"]:
        if key not in kept:
            raise ToolError(f"missing required parameter '{key}'")
    for key, value in kept.items():
        kind = schema["properties"][key]["type"]
        if not _type_ok(value, kind):
            raise ToolError(f"parameter '{key}' must be of type {kind}")
    return kept


def call_tool(tools, name, raw_args):
    """Run one tool call and always return a string, `ERROR: ...` on failure."""
    if name not in SCHEMAS:
        return f"ERROR: unknown tool '{name}'"
    try:
        return getattr(tools, name)(**parse_arguments(name, raw_args))
    except ToolError as exc:
        return f"ERROR: {exc}"
    except (OSError, ValueError) as exc:
        return f"ERROR: {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- loop

def preview(text):
    return text.replace("\n", "\\n")[:PREVIEW_CHARS]


def complete(client, model, messages):
    """One turn's request, retried on connection errors, 429 and 5xx after 1, 2 and 4 seconds."""
    for attempt in range(len(RETRY_DELAYS) + 1):
        try:
            return client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        except openai.APIStatusError as exc:
            if exc.status_code != 429 and exc.status_code < 500:
                raise ApiFailure(f"API error {exc.status_code}: {exc.message}") from None
            failure = f"API error {exc.status_code}: {exc.message}"
        except openai.APIConnectionError as exc:
            failure = f"connection error: {exc}"
        if attempt < len(RETRY_DELAYS):
            time.sleep(RETRY_DELAYS[attempt])
    raise ApiFailure(f"giving up after {len(RETRY_DELAYS)} retries; last failure: {failure}")


def assistant_entry(message):
    entry = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        entry["tool_calls"] = [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}
            for call in message.tool_calls]
    return entry


def run_loop(client, options, task, redact):
    """Run the conversation; returns the exit status."""
    def log(line):
        print(redact(line), file=sys.stderr, flush=True)

    tools = Tools(options.cwd)
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task}]
    for _turn in range(options.max_turns):
        choice = complete(client, options.model, messages).choices[0]
        message = choice.message
        messages.append(assistant_entry(message))
        if not message.tool_calls and choice.finish_reason == "stop":
            print(redact(message.content or ""), flush=True)
            return 0
        for call in message.tool_calls or []:
            log(f"[tool] {call.function.name} {preview(call.function.arguments)}")
            result = redact(call_tool(tools, call.function.name, call.function.arguments))
            log(f"[result] {preview(result)}")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    log(f"[warning] no final answer after {options.max_turns} turns")
    return 1


# ---------------------------------------------------------------- command line

def parse_command_line(argv):
    parser = argparse.ArgumentParser(prog="agent", description="Minimal coding agent.")
    parser.add_argument("--model", default="gpt-4o")
    parser.add_argument("--base-url", default="https://api.openai.com/v1")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    parser.add_argument("--max-turns", type=int, default=20)
    parser.add_argument("--cwd", default=".")
    parser.add_argument("task", nargs="?")
    options = parser.parse_args(argv)
    if options.max_turns < 1:
        parser.error("--max-turns must be at least 1")
    if not options.api_key:
        parser.error("no API key: pass --api-key or set OPENAI_API_KEY")
    if not os.path.isdir(options.cwd):
        parser.error(f"--cwd is not a directory: {options.cwd}")
    task = options.task if options.task is not None else sys.stdin.read().strip()
    if not task:
        parser.error("the task is empty")
    return options, task


def main(argv=None):
    options, task = parse_command_line(sys.argv[1:] if argv is None else argv)
    redact = Redactor(options.api_key)
    client = openai.OpenAI(api_key=options.api_key, base_url=options.base_url, max_retries=0)
    try:
        return run_loop(client, options, task, redact)
    except ApiFailure as exc:
        print(redact(f"[error] {exc}"), file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
