"""Spec §6: read_file and write_file (paths, lines, encodings) and the ERROR results for malformed calls.

Each table of calls is played one call per turn (agentrun.run_cases): a call that crashes or stalls the agent
fails its own tests, and the calls after it are played again in a fresh run.
"""
from agentrun import run_cases
from clauses import check_each, ours, paper
from scenarios import make_files, registry
from scripted_server import call

SCENARIOS = {}
scenario = registry(SCENARIOS)

POEM = "one\ntwo\nthree\nfour\n"
READ_FILES = {"poem.txt": POEM, "noeol.txt": "alpha\nbeta", "crlf.txt": "a\r\nb\rc\nd\n",
              "sub/inner.txt": "inside\n", "latin.bin": b"ok\xff\n"}
# id -> (arguments, expected text or None for an ERROR result, the text that states the case)
READ_CASES = {
    "whole": ({"path": "poem.txt"}, POEM, "paper"),
    "middle": ({"path": "poem.txt", "start_line": 2, "end_line": 3}, "two\nthree\n", "paper"),
    "from_line": ({"path": "poem.txt", "start_line": 3}, "three\nfour\n", "paper"),
    "to_line": ({"path": "poem.txt", "end_line": 2}, "one\ntwo\n", "paper"),
    "single": ({"path": "poem.txt", "start_line": 4, "end_line": 4}, "four\n", "paper"),
    "no_final_newline": ({"path": "noeol.txt", "start_line": 2}, "beta", "paper"),
    "subdirectory": ({"path": "sub/inner.txt"}, "inside\n", "paper"),
    "missing_file": ({"path": "nope.txt"}, None, "paper"),
    "directory": ({"path": "sub"}, None, "paper"),
    "end_clipped": ({"path": "poem.txt", "start_line": 3, "end_line": 99}, "three\nfour\n", "ours"),
    "start_past_end": ({"path": "poem.txt", "start_line": 10}, "", "ours"),
    "null_optional": ({"path": "poem.txt", "start_line": None, "end_line": 1}, "one\n", "ours"),
    "crlf_kept": ({"path": "crlf.txt"}, "a\r\nb\rc\nd\n", "ours"),
    "cr_is_not_a_line_end": ({"path": "crlf.txt", "start_line": 2, "end_line": 2}, "b\rc\n", "ours"),
    "invalid_utf8": ({"path": "latin.bin"}, "ok\ufffd\n", "ours"),
    "start_zero": ({"path": "poem.txt", "start_line": 0}, None, "ours"),
    "end_before_start": ({"path": "poem.txt", "start_line": 3, "end_line": 2}, None, "ours"),
    "string_line_number": ({"path": "poem.txt", "start_line": "2"}, None, "ours"),
}
WRITE_SETUP = {"old.txt": "a much longer previous content\n" * 5, "adir/keep.txt": "k"}
MALFORMED_SETUP = {"poem.txt": POEM}
MALFORMED_CALLS = [
    call("delete_everything", {"path": "poem.txt"}, id="unknown_tool"),
    call("write_file", raw='{"path": "bad.txt", "content": "x"', id="invalid_json"),
    call("write_file", raw='["bad.txt", "x"]', id="not_an_object"),
    call("write_file", {"content": "x"}, id="missing_path"),
    call("read_file", {"path": "poem.txt", "colour": "blue"}, id="extra_parameter"),
    call("read_file", {"path": "poem.txt", "end_line": 1}, id="after_errors"),
]


def cases(level, errors):
    return [c for c, (_, expected, text) in READ_CASES.items() if text == level and (expected is None) == errors]


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
def reads(ws):
    make_files(ws, READ_FILES)
    calls = [call("read_file", args, id=case) for case, (args, _, _) in READ_CASES.items()]
    return run_cases(ws, calls + [call("read_file", {"path": str(ws / "poem.txt")}, id="absolute_read")])


@scenario
def writes(ws):
    make_files(ws, WRITE_SETUP)
    return run_cases(ws, write_calls(ws))


@scenario
def malformed(ws):
    make_files(ws, MALFORMED_SETUP)
    return run_cases(ws, MALFORMED_CALLS, final="Survived.")


# ---------------------------------------------------------------- read_file

@paper("tools.read_file.lines")
def test_read_file_returns_the_lines(runs):
    def check(case):  # the paper does not say whether a range keeps its last line's newline
        assert runs["reads"].result(case).rstrip("\n") == READ_CASES[case][1].rstrip("\n")
    check_each(cases("paper", errors=False), check)


@paper("tools.read_file.errors")
def test_read_file_errors(runs):
    check_each(cases("paper", errors=True), lambda case: _is_error(runs["reads"].result(case)))


@ours("tools.read_file.exact_text")
def test_read_file_returns_exact_text(runs):
    def check(case):
        assert runs["reads"].result(case) == READ_CASES[case][1]
    check_each([c for c, (_, expected, _) in READ_CASES.items() if expected is not None], check)


@ours("tools.read_file.range_errors")
def test_read_file_range_and_type_errors(runs):
    check_each(cases("ours", errors=True), lambda case: _is_error(runs["reads"].result(case)))


def _is_error(result):
    assert result.startswith("ERROR:"), result[:200]


@ours("tools.paths.absolute")
def test_read_file_absolute_path(runs):
    assert runs["reads"].result("absolute_read") == POEM


# ---------------------------------------------------------------- write_file

@paper("tools.write_file.create")
def test_write_file_creates_file_and_returns_ok(runs):
    run = runs["writes"]
    assert run.result("create") == "OK"
    assert (run.workspace / "new.txt").read_bytes() == b"hello\n"


@paper("tools.write_file.create")
def test_write_file_relative_to_cwd_not_process_directory(runs):
    run = runs["writes"]
    assert run.result("create") == "OK"
    assert run.runs[0].process_cwd != run.workspace
    assert not (run.runs[0].process_cwd / "new.txt").exists()


@ours("tools.write_file.exact_bytes")
def test_write_file_utf8_without_newline_translation(runs):
    run = runs["writes"]
    assert run.result("exact_bytes") == "OK"
    assert (run.workspace / "u.txt").read_bytes() == "caf\u00e9\r\nx".encode("utf-8")


@paper("tools.write_file.parents")
def test_write_file_creates_parent_directories(runs):
    run = runs["writes"]
    assert run.result("parents") == "OK"
    assert (run.workspace / "a/b/c/deep.txt").read_text() == "deep"


@paper("tools.write_file.overwrite")
def test_write_file_replaces_whole_file(runs):
    run = runs["writes"]
    assert run.result("overwrite") == "OK"
    assert (run.workspace / "old.txt").read_bytes() == b"short"


@paper("tools.write_file.overwrite")
def test_write_file_empty_content(runs):
    run = runs["writes"]
    assert run.result("empty") == "OK"
    assert (run.workspace / "empty.txt").read_bytes() == b""


@ours("tools.paths.absolute")
def test_write_file_absolute_path(runs):
    run = runs["writes"]
    assert run.result("absolute_write") == "OK"
    assert (run.workspace / "abs.txt").read_text() == "abs"


@paper("tools.write_file.errors")
def test_write_file_onto_directory_is_an_error(runs):
    run = runs["writes"]
    assert run.result("onto_directory").startswith("ERROR:")
    assert (run.workspace / "adir/keep.txt").read_text() == "k"


@paper("tools.arguments.missing")
def test_write_file_missing_content_writes_nothing(runs):
    run = runs["writes"]
    assert run.result("missing_content").startswith("ERROR:")
    assert not (run.workspace / "never.txt").exists()


@ours("tools.arguments.missing_named")
def test_write_file_missing_content_is_named(runs):
    assert "content" in runs["writes"].result("missing_content")


@ours("tools.arguments.types")
def test_write_file_wrong_type_writes_nothing(runs):
    run = runs["writes"]
    assert run.result("wrong_type").startswith("ERROR:")
    assert not (run.workspace / "typed.txt").exists()


# ---------------------------------------------------------------- malformed calls

@paper("loop.tool_errors_continue")
def test_errors_do_not_end_the_loop(runs):
    run = runs["malformed"]
    assert run.completed, run.describe()
    assert run.result("after_errors").rstrip("\n") == "one"


@paper("tools.unknown")
def test_unknown_tool_is_an_error(runs):
    assert runs["malformed"].result("unknown_tool").startswith("ERROR:")
    assert (runs["malformed"].workspace / "poem.txt").exists()


@ours("tools.unknown_named")
def test_unknown_tool_is_named_in_error(runs):
    assert "delete_everything" in runs["malformed"].result("unknown_tool")


@paper("tools.arguments.invalid_json")
def test_invalid_json_arguments_are_an_error(runs):
    run = runs["malformed"]
    assert run.result("invalid_json").startswith("ERROR:")
    assert not (run.workspace / "bad.txt").exists()


@ours("tools.arguments.not_an_object")
def test_arguments_that_are_not_an_object_are_an_error(runs):
    run = runs["malformed"]
    assert run.result("not_an_object").startswith("ERROR:")
    assert not (run.workspace / "bad.txt").exists()


@paper("tools.arguments.missing")
def test_missing_required_parameter_is_an_error(runs):
    assert runs["malformed"].result("missing_path").startswith("ERROR:")


@ours("tools.arguments.missing_named")
def test_missing_required_parameter_is_named(runs):
    assert "path" in runs["malformed"].result("missing_path")


@ours("tools.arguments.extra_ignored")
def test_unknown_extra_parameters_are_ignored(runs):
    assert runs["malformed"].result("extra_parameter") == POEM


@ours("output.progress.every_call")
def test_every_call_gets_progress_lines_even_when_it_fails(runs):
    run = runs["malformed"]
    assert run.completed, run.describe()
    stderr = run.runs[0]
    assert len(stderr.lines("[tool] ")) == len(MALFORMED_CALLS) == len(stderr.lines("[result] "))
    assert stderr.lines("[tool] delete_everything")
