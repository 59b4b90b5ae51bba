"""The built-in agent's tools, and its loop driven by the synthetic model."""

from __future__ import annotations

import json

import pytest

from harness.agent import BuiltinAgent, Workspace, collect_implementation
from harness.sandbox import ProcessSandbox
from harness.seams import GenerationContext
from harness.specs import load_spec
from tests.test_synthetic import synthetic_gateway


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\nthree\n")
    return Workspace(tmp_path, ProcessSandbox())


def test_read_file_line_ranges_are_one_based_and_inclusive(ws):
    assert ws.call("read_file", json.dumps({"path": "a.txt", "start_line": 2, "end_line": 3})) == "two\nthree\n"
    assert ws.call("read_file", '{"path": "a.txt"}') == "one\ntwo\nthree\n"


def test_write_file_creates_parents(ws, tmp_path):
    assert ws.call("write_file", json.dumps({"path": "d/e/f.py", "content": "x"})) == "OK"
    assert (tmp_path / "d/e/f.py").read_text() == "x"


@pytest.mark.parametrize("name,args", [("nope", "{}"), ("read_file", "{bad json"), ("read_file", "{}"),
                                       ("read_file", '{"path": "../outside"}'), ("read_file", '{"path": "missing"}'),
                                       ("search_text", '{"pattern": "("}')])
def test_failures_are_error_strings(ws, name, args):
    assert ws.call(name, args).startswith("ERROR:")


def test_run_shell_returns_the_json_shape(ws):
    result = json.loads(ws.call("run_shell", json.dumps({"command": "echo hi; echo err >&2; exit 3"})))
    assert result == {"stdout": "hi\n", "stderr": "err\n", "exit_code": 3}


def test_list_and_search(ws, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("two words\n")
    assert ws.call("list_files", '{"pattern": "**/*.txt"}') == "a.txt\nsub/b.txt"
    assert ws.call("search_text", '{"pattern": "^two"}') == "a.txt:2: two\nsub/b.txt:1: two words"


def test_the_loop_reads_the_spec_writes_the_files_and_stops(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    gateway = synthetic_gateway(tiny_specs, rates=(0.0, 0.0))
    agent = BuiltinAgent("sys", "implement the spec in a single python file", 10, 10**6, ProcessSandbox())
    generation = agent.generate(spec, GenerationContext(gateway, 0.0, 0, tmp_path))
    assert generation.files == {"adder.py": (tiny_specs / "adder/reference/adder.py").read_text()}
    assert gateway.usage.calls == 3 and gateway.usage.ground_truths == ["reference"]


def test_the_turn_limit_is_recorded(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    agent = BuiltinAgent("sys", "task", 1, 10**6, ProcessSandbox())
    generation = agent.generate(spec, GenerationContext(synthetic_gateway(tiny_specs), 0.0, 0, tmp_path))
    assert generation.files == {} and "turn limit (1)" in generation.detail


def test_a_single_python_file_under_another_name_is_taken_as_the_entry_file(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    work = tmp_path / "work"
    work.mkdir()
    (work / "spec.md").write_text(spec.text)
    (work / "solution.py").write_text("def add(a, b):\n    return a + b\n")
    generation = collect_implementation(work, spec)
    assert set(generation.files) == {"adder.py"} and "took solution.py as adder.py" in generation.detail
