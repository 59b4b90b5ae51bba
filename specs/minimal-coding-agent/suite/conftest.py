"""Fixtures for the minimal-coding-agent acceptance suite.

Test modules declare their agent runs as scenarios (see `scenarios.py`). The session-scoped `runs` fixture starts
every scenario of the selected modules concurrently, each with its own scripted server and workspace, and a test
waits for the runs it reads, then asserts on the recorded results. Starting the agent (importing the client
library) costs about a second of CPU, so the suite keeps the number of runs small and lets back-off waits overlap
with other runs.
"""
import os
from functools import partial

import pytest

from agentrun import playing


def pytest_configure(config):
    config.addinivalue_line("markers", "clause(id, *texts): the spec clause a test checks and the texts stating it")
    # The directory is the implementation's room's: this process cannot see into it.
    if not os.environ.get("HARNESS_IMPL_DIR"):
        raise pytest.UsageError("set HARNESS_IMPL_DIR to the directory holding agent.py")


def _selected_scenarios(session):
    modules = sorted({item.module for item in session.items}, key=lambda module: module.__name__)
    scenarios = {}
    for module in modules:
        for name, build in getattr(module, "SCENARIOS", {}).items():
            assert name not in scenarios, f"scenario name {name!r} is used twice"
            scenarios[name] = build
    return scenarios


@pytest.fixture(scope="session")
def runs(request, tmp_path_factory):
    """name -> Run for every scenario registered in a module that has selected tests, all started at once."""
    base = tmp_path_factory.mktemp("runs")
    scenarios = _selected_scenarios(request.session)
    waiting = {name for name, build in scenarios.items() if getattr(build, "waits", False)}
    with playing({name: partial(build, base / name) for name, build in scenarios.items()}, waiting=waiting) as runs:
        yield runs
