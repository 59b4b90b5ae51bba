"""Spec §6: read_file and write_file (paths, lines, encodings) and the ERROR results for malformed calls.

All calls of a kind go in one scripted reply (ids name the cases), so one agent run covers a whole table.
"""
import pytest

from agentrun import run_agent
from scenarios import make_files, registry
from scripted_server import answer, call, tool_reply

SCENARIOS = {}
scenario = registry(SCENARIOS)

POEM = "one\ntwo\nthree\nfour\n"
READ_FILES = {"poem.txt": POEM, "noeol.txt": "alpha\nbeta", "crlf.txt": "a\r\nb\rc\nd\n",
              "sub/inner.txt": "inside\n", "latin.bin": b"ok\xff\n"}
READ_CASES = {  # id -> (arguments, expected result, or None for an ERROR result)
    "whole": ({"path": "poem.txt"}, POEM),
    "middle": ({"path": "poem.txt", "start_line": 2, "end_line": 3}, "two\nthree\n"),
    "from_line": ({"path": "poem.txt", "start_line": 3}, "three\nfour\n"),
    "to_line": ({"path": "poem.txt", "end_line": 2}, "one\ntwo\n"),
    "single": ({"path": "poem.txt", "start_line": 4, "end_line": 4}, "four\n"),
    "end_clipped": ({"path": "poem.txt", "start_line": 3, "end_line": 99}, "three\nfour\n"),
    "start_past_end": ({"path": "poem.txt", "start_line": 10}, ""),
    "null_optional": ({"path": "poem.txt", "start_line": None, "end_line": 1}, "one\n"),
    "no_final_newline": ({"path": "noeol.txt", "start_line": 2}, "beta"),
    "crlf_kept": ({"path": "crlf.txt"}, "a\r\nb\rc\nd\n"),
    "cr_is_not_a_line_end": ({"path": "crlf.txt", "start_line": 2, "end_line": 2}, "b\rc\n"),
    "subdirectory": ({"path": "sub/inner.txt"}, "inside\n"),
    "invalid_utf8": ({"path": "latin.bin"}, "ok\ufffd\n"),
    "start_zero": ({"path": "poem.txt", "start_line": 0}, None),
    "end_before_start": ({"path": "poem.txt", "start_line": 3, "end_line": 2}, None),
    "missing_file": ({"path": "nope.txt"}, None),
    "directory": ({"path": "sub"}, None),
    "string_line_number": ({"path": "poem.txt", "start_line": "2"}, None),
}


WRITE_SETUP = {"old.txt": "a much longer previous content\n" * 5, "adir/keep.txt": "k"}
ERROR_CALLS = [
    call("delete_everything", {"path": "poem.txt"}, id="unknown_tool"),
    call("write_file", raw='{"path": "bad.txt", "content": "x"', id="invalid_json"),
    call("write_file", raw='["bad.txt", "x"]', id="not_an_object"),
    call("write_file", {"content": "x"}, id="missing_path"),
    call("read_file", {"path": "poem.txt", "colour": "blue"}, id="extra_parameter"),
]


def write_calls(ws):
    return [
        call("write_file", {"path": "new.txt", "content": "hello\n"}, id="create"),
        call("write_file", {"path": "u.txt", "content": "caf\u00e9\r\nx"}, id="exact_bytes"),
        call("write_file", {"path": "a/b/c/deep.txt", "content": "deep"}, id="parents"),
        call("write_file", {"path": "old.txt", "content": "short"}, id="overwrite"),
        call("write_file", {"path": "empty.txt", "content": ""}, id="empty"),
        call("write_file", {"path": str(ws / "abs.txt"), "content": "abs"}, id="absolute_write"),
        call("write_file", {"path": "adir", "content": "x"}, id="onto_directory"),
        call("write_file", {"path": "never.txt"}, id="missing_content"),
        call("write_file", {"path": "typed.txt", "content": 5}, id="wrong_type"),
    ]


@scenario
def files(ws):
    """One run: a reply of reads, a reply of writes, a reply of malformed calls, then a normal call."""
    make_files(ws, {**READ_FILES, **WRITE_SETUP})
    reads = [call("read_file", args, id=case) for case, (args, _) in READ_CASES.items()]
    reads.append(call("read_file", {"path": str(ws / "poem.txt")}, id="absolute_read"))
    steps = [tool_reply(*reads), tool_reply(*write_calls(ws)), tool_reply(*ERROR_CALLS),
             tool_reply(call("read_file", {"path": "poem.txt", "end_line": 1}, id="after_errors")),
             answer("Survived.")]
    return run_agent(ws, steps)


def test_files_run_completes(runs):
    run = runs["files"]
    assert run.returncode == 0, run.describe()
    assert run.stdout == "Survived.\n"


@pytest.mark.parametrize("case", [c for c, (_, expected) in READ_CASES.items() if expected is not None])
def test_read_file_returns_exact_lines(runs, case):
    assert runs["files"].result(case) == READ_CASES[case][1]


@pytest.mark.parametrize("case", [c for c, (_, expected) in READ_CASES.items() if expected is None])
def test_read_file_errors(runs, case):
    assert runs["files"].result(case).startswith("ERROR:")


def test_read_file_absolute_path(runs):
    assert runs["files"].result("absolute_read") == POEM


def test_write_file_creates_file_and_returns_ok(runs):
    run = runs["files"]
    assert run.result("create") == "OK"
    assert (run.workspace / "new.txt").read_bytes() == b"hello\n"


def test_write_file_relative_to_cwd_not_process_directory(runs):
    run = runs["files"]
    assert run.process_cwd != run.workspace
    assert not (run.process_cwd / "new.txt").exists()


def test_write_file_utf8_without_newline_translation(runs):
    run = runs["files"]
    assert run.result("exact_bytes") == "OK"
    assert (run.workspace / "u.txt").read_bytes() == "caf\u00e9\r\nx".encode("utf-8")


def test_write_file_creates_parent_directories(runs):
    run = runs["files"]
    assert run.result("parents") == "OK"
    assert (run.workspace / "a/b/c/deep.txt").read_text() == "deep"


def test_write_file_replaces_whole_file(runs):
    run = runs["files"]
    assert run.result("overwrite") == "OK"
    assert (run.workspace / "old.txt").read_bytes() == b"short"


def test_write_file_empty_content(runs):
    run = runs["files"]
    assert run.result("empty") == "OK"
    assert (run.workspace / "empty.txt").read_bytes() == b""


def test_write_file_absolute_path(runs):
    run = runs["files"]
    assert run.result("absolute_write") == "OK"
    assert (run.workspace / "abs.txt").read_text() == "abs"


def test_write_file_onto_directory_is_an_error(runs):
    run = runs["files"]
    assert run.result("onto_directory").startswith("ERROR:")
    assert (run.workspace / "adir/keep.txt").read_text() == "k"


def test_write_file_argument_errors_write_nothing(runs):
    run = runs["files"]
    missing = run.result("missing_content")
    assert missing.startswith("ERROR:") and "content" in missing
    assert run.result("wrong_type").startswith("ERROR:")
    assert not (run.workspace / "never.txt").exists() and not (run.workspace / "typed.txt").exists()


# ---------------------------------------------------------------- malformed calls (spec §6, arguments and errors)

def test_errors_do_not_end_the_loop(runs):
    assert runs["files"].result("after_errors") == "one\n"


def test_unknown_tool_is_named_in_error(runs):
    result = runs["files"].result("unknown_tool")
    assert result.startswith("ERROR:") and "delete_everything" in result
    assert (runs["files"].workspace / "poem.txt").exists()


def test_invalid_json_arguments_are_an_error(runs):
    run = runs["files"]
    assert run.result("invalid_json").startswith("ERROR:")
    assert run.result("not_an_object").startswith("ERROR:")
    assert not (run.workspace / "bad.txt").exists()


def test_missing_required_parameter_is_named(runs):
    result = runs["files"].result("missing_path")
    assert result.startswith("ERROR:") and "path" in result


def test_unknown_extra_parameters_are_ignored(runs):
    assert runs["files"].result("extra_parameter") == POEM


def test_every_call_gets_progress_lines_even_when_it_fails(runs):
    run = runs["files"]
    calls = len(READ_CASES) + 1 + len(write_calls(run.workspace)) + len(ERROR_CALLS) + 1
    assert len(run.lines("[tool] ")) == calls and len(run.lines("[result] ")) == calls
    assert run.lines("[tool] delete_everything")
