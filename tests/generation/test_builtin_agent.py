"""The built-in agent's tools, and its loop driven by the synthetic model."""

from __future__ import annotations

import json
import os

import pytest

from harness.config.schema import SandboxConfig
from harness.generation import builtin_agent as agent_module
from harness.generation.builtin_agent import BuiltinAgent, Workspace, collect_implementation, prepare_workdir
from harness.sandbox.backends import BwrapSandbox, ProcessSandbox, bwrap_available
from harness.sandbox.untrusted import TreeCaps
from harness.seams import GenerationContext
from harness.specs.loading import load_spec
from tests.conftest import deep
from tests.models.test_synthetic import synthetic_gateway

CAPS = TreeCaps.of(SandboxConfig())


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\nthree\n")
    return Workspace(tmp_path, ProcessSandbox(), CAPS)


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
    agent = BuiltinAgent("sys", "implement the spec in a single python file", 10, 10**6, ProcessSandbox(), CAPS)
    generation = agent.generate(spec, GenerationContext(gateway, 0.0, 0, tmp_path))
    assert generation.files == {"adder.py": (tiny_specs / "adder/reference/adder.py").read_text()}
    assert gateway.usage.calls == 3 and gateway.usage.ground_truths == ["reference"]


def test_the_turn_limit_is_recorded(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    agent = BuiltinAgent("sys", "task", 1, 10**6, ProcessSandbox(), CAPS)
    generation = agent.generate(spec, GenerationContext(synthetic_gateway(tiny_specs), 0.0, 0, tmp_path))
    assert generation.files == {} and "turn limit (1)" in generation.detail


def test_a_single_python_file_under_another_name_is_taken_as_the_entry_file(tiny_specs, tmp_path):
    spec = load_spec(tiny_specs, "adder")
    work = tmp_path / "work"
    work.mkdir()
    (work / "spec.md").write_text(spec.text)
    (work / "solution.py").write_text("def add(a, b):\n    return a + b\n")
    generation = collect_implementation(work, spec, CAPS)
    assert set(generation.files) == {"adder.py"} and "took solution.py as adder.py" in generation.detail


BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
SECRET = "outside-secret-5a7c9e2b4d"


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def confined(request, tmp_path):
    """A work dir beside a secret, holding links out (to a file, to a folder) and in (to its own file)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET + "\n")
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "a.txt").write_text("one\n")
    (work / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (work / "inner-link.txt").symlink_to("a.txt")
    (work / "pkg").symlink_to(tmp_path / "outside")  # pkg/secret.txt: a link in the middle of a path
    os.mkfifo(work / "pipe")
    return Workspace(work, request.param(), CAPS)


def calls(ws: Workspace, *pairs: tuple[str, dict]) -> list[str]:
    return [ws.call(name, json.dumps(args)) for name, args in pairs]


def test_dotdot_is_refused_by_every_file_tool(confined, tmp_path):
    results = calls(confined, ("read_file", {"path": "../outside/secret.txt"}),
                    ("write_file", {"path": "sub/../../escaped.txt", "content": "x"}),
                    ("list_files", {"pattern": "../*/*"}), ("list_files", {"pattern": "sub/../../**/*"}),
                    ("search_text", {"pattern": "secret", "glob": "../outside/*"}))
    assert all(r.startswith("ERROR:") for r in results), results
    assert not (tmp_path / "escaped.txt").exists()


def test_absolute_paths_are_refused_even_inside_the_work_dir(confined):
    inside = str(confined.root / "a.txt")
    results = calls(confined, ("read_file", {"path": inside}), ("write_file", {"path": inside, "content": "x"}),
                    ("list_files", {"pattern": inside}), ("search_text", {"pattern": "one", "glob": inside}))
    assert all(r.startswith("ERROR:") for r in results), results
    assert (confined.root / "a.txt").read_text() == "one\n"


def test_links_are_not_followed_by_any_file_tool(confined):
    refused = calls(confined, ("read_file", {"path": "link.txt"}), ("read_file", {"path": "inner-link.txt"}),
                    ("read_file", {"path": "pkg/secret.txt"}), ("read_file", {"path": "pipe"}),
                    ("write_file", {"path": "inner-link.txt", "content": "x"}),
                    ("write_file", {"path": "pkg/new.txt", "content": "x"}))
    assert all(r.startswith("ERROR:") for r in refused), refused
    listed = calls(confined, ("list_files", {"pattern": "**/*"}), ("list_files", {"pattern": "pkg/*"}),
                   ("search_text", {"pattern": "secret|one"}), ("search_text", {"pattern": ".", "glob": "pkg/*"}))
    assert listed == ["a.txt", "", "a.txt:1: one", ""]
    assert (confined.root / "a.txt").read_text() == "one\n" and not (confined.root.parent / "outside/new.txt").exists()


def test_a_glob_up_and_out_finds_nothing_outside(confined):
    result = confined.call("search_text", json.dumps({"pattern": ".*", "glob": "../**/*"}))
    assert SECRET not in result and (result.startswith("ERROR:") or result == "")


def test_a_search_that_backtracks_for_hours_is_stopped_at_the_tool_time_limit(confined, monkeypatch):
    monkeypatch.setattr(agent_module, "FILE_TOOL_TIMEOUT_S", 2.0)
    (confined.root / "b.txt").write_text("a" * 40 + "!\n")
    result = confined.call("search_text", json.dumps({"pattern": "(a+)+$", "glob": "b.txt"}))
    assert result == "ERROR: search_text ran past 2 s and was stopped"


def test_a_retried_trial_gets_a_fresh_work_dir_however_deep_the_last_one_dug(tiny_specs, deep_ok):
    work = deep_ok / "work"
    work.mkdir()
    deep(work, levels=2300)  # past PATH_MAX: moved aside and removed by descriptor
    with ProcessSandbox().writable(work) as fresh:
        prepare_workdir(fresh.path, load_spec(tiny_specs, "adder"))
        assert [p.name for p in work.iterdir()] == ["spec.md"]
    assert sorted(os.listdir(deep_ok)) == ["specs"]  # nothing of the leftover, nor the fresh dir, is left
