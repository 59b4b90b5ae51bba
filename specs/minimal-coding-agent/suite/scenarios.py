"""Registering agent runs ("scenarios") for a test module.

A scenario is a function `workspace -> Run` that prepares files in the workspace and runs the agent once. A
module collects them with `SCENARIOS = {}` and `scenario = registry(SCENARIOS)`, then decorates each function.
"""
from pathlib import Path


def registry(table):
    def scenario(build):
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
