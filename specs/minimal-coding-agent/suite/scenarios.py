"""Registering agent runs ("scenarios") for a test module.

A scenario is a function `workspace -> Run` that prepares files in the workspace and runs the agent once. A
module collects them with `SCENARIOS = {}` and `scenario = registry(SCENARIOS)`, then decorates each function.
A scenario whose run spends most of its time waiting (through a back-off, for a command's timeout) is decorated
with `waiting = registry(SCENARIOS, waits=True)` instead: the suite starts it at once, beside the busy runs,
rather than queued behind them where its wait would end the suite seconds late.
"""
from pathlib import Path


def registry(table, waits=False):
    def scenario(build):
        build.waits = waits
        table[build.__name__] = build
        return build
    return scenario


def make_files(workspace, files):
    """Create `relative path -> str | bytes` files under the workspace."""
    for relative, content in files.items():
        path = Path(workspace, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
