"""How the synthetic model uses whatever tools an agent offers it: ours, Claude Code's, Codex's.

It reads a tool's name and JSON schema, as a model would: a whole-file writer is a tool named like `write` with a
path-like and a `content` property (`write_file`, `Write`); `apply_patch` takes a patch in its own format that
adds files; a reader is named like `read` with a path-like property; a shell is named like `shell`/`bash` with a
`command` or `cmd` property (a string, or an argv list), and writes files with a here-document when the agent
offers no writer (Codex's `exec_command`). Paths are relative to the agent's working directory, made
absolute when the tool asks for that (Claude Code's do), from the directory the conversation states.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

PATH_KEYS = ("file_path", "path", "filename", "file")
SHELL_NAMES = ("shell", "bash", "run_shell", "exec_command", "local_shell", "container.exec")
COMMAND_KEYS = ("command", "cmd")
HEREDOC = "HARNESS_EOF"
# How agents state their working directory in the prompt: Claude Code's environment block, Codex's <cwd> tag.
CWD_PATTERNS = (re.compile(r"working directory: (/[^\s\\]+)", re.IGNORECASE), re.compile(r"<cwd>(/[^<\s]+)</cwd>"))


@dataclass(frozen=True)
class Tool:
    name: str
    properties: dict
    description: str

    def path_key(self) -> Optional[str]:
        return next((k for k in PATH_KEYS if k in self.properties), None)

    def command_key(self) -> Optional[str]:
        if self.name.lower() not in SHELL_NAMES:
            return None
        return next((k for k in COMMAND_KEYS if k in self.properties), None)

    def wants_absolute(self) -> bool:
        key = self.path_key()
        text = json.dumps(self.properties.get(key, {})) if key else ""
        return "absolute" in text.lower()


def tools_of(definitions: list[dict]) -> list[Tool]:
    """Chat-completions tool definitions as Tools (anything without a function name is skipped)."""
    tools = []
    for d in definitions or []:
        fn = d.get("function") or {}
        if fn.get("name"):
            params = fn.get("parameters") or {}
            tools.append(Tool(fn["name"], dict(params.get("properties") or {}), fn.get("description") or ""))
    return tools


def writer(tools: list[Tool]) -> Optional[Tool]:
    """The tool that writes a whole file, or that applies a patch adding files; None when there is none."""
    for tool in tools:
        if "write" in tool.name.lower() and tool.path_key() and "content" in tool.properties:
            return tool
    patcher = next((t for t in tools if t.name.lower() in ("apply_patch", "applypatch")), None)
    return patcher or next((t for t in tools if t.command_key()), None)


def reader(tools: list[Tool]) -> Optional[Tool]:
    """A tool that reads a file by path, else a shell that can print one."""
    for tool in tools:
        if "read" in tool.name.lower() and tool.path_key():
            return tool
    return next((t for t in tools if t.command_key()), None)


def working_dir(prompt: str) -> Optional[str]:
    for pattern in CWD_PATTERNS:
        found = pattern.search(prompt)
        if found:
            return found.group(1).rstrip("/.")
    return None


def _path(tool: Tool, relative: str, cwd: Optional[str]) -> str:
    return f"{cwd}/{relative}" if cwd and tool.wants_absolute() else relative


def write_calls(tool: Tool, files: dict[str, str], cwd: Optional[str]) -> list[tuple[str, dict]]:
    """The calls of `tool` that leave exactly `files` in the working directory."""
    key = tool.path_key()
    if key is not None:
        return [(tool.name, {key: _path(tool, p, cwd), "content": t}) for p, t in sorted(files.items())]
    if tool.command_key():
        return [_shell(tool, f"cat > {p} <<'{HEREDOC}'\n{t.rstrip()}\n{HEREDOC}") for p, t in sorted(files.items())]
    patch = ["*** Begin Patch"]
    for path, text in sorted(files.items()):
        patch.append(f"*** Add File: {path}")
        patch += ["+" + line for line in text.splitlines()]
    patch.append("*** End Patch")
    argument = next(iter(tool.properties), "input")
    return [(tool.name, {argument: "\n".join(patch) + "\n"})]


def read_call(tool: Tool, relative: str, cwd: Optional[str]) -> tuple[str, dict]:
    """The call of `tool` that shows the file `relative` of the working directory."""
    key = tool.path_key()
    if key is not None:
        return tool.name, {key: _path(tool, relative, cwd)}
    return _shell(tool, f"cat {relative}")


def _shell(tool: Tool, script: str) -> tuple[str, dict]:
    key = tool.command_key() or "command"
    argv = tool.properties.get(key, {}).get("type") == "array"
    return tool.name, {key: ["bash", "-c", script] if argv else script}


def calls(messages: list[dict]) -> list[tuple[str, str]]:
    """The tools the assistant called so far in the conversation: (name, arguments as JSON text)."""
    return [(c.get("function", {}).get("name"), c.get("function", {}).get("arguments") or "")
            for m in messages if m.get("role") == "assistant" for c in (m.get("tool_calls") or [])]


def wrote(messages: list[dict], tool: Tool) -> bool:
    """Whether the assistant already wrote its files with `tool` (a shell is also used to read: its writes are
    the here-documents)."""
    return any(name == tool.name and (not tool.command_key() or HEREDOC in arguments)
               for name, arguments in calls(messages))
