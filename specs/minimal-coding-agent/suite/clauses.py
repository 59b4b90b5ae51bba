"""Which clause of the spec each test checks, and which texts state that clause.

Every test carries exactly one of these markers:
- `@paper("tools.read_file.range")`: the paper's own text states the clause. The test accepts every behaviour
  that text allows (where the paper is loose about wording, layout or an edge case, it checks only what the
  paper says), so an implementation of the paper's text fails it only by deviating from that text. Our
  restatement keeps every paper clause, so these tests judge both texts.
- `@ours("tools.read_file.exact_text")`: only our restatement (spec.md) pins the clause down.

The harness picks the tests that judge a text by these tags (see `texts` in manifest.yaml) and reports each
test's clause; the clause table is in this spec's README.
"""
import pytest

# id -> what the clause asks, in one line. Paper clauses first, then the ones only our restatement states.
CLAUSES = {
    "cli.model.option": "--model names the model sent in every request",
    "cli.model.default": "without --model, the model is gpt-4o",
    "cli.base_url.default": "without --base-url, requests go to api.openai.com",
    "cli.api_key.option": "--api-key is sent as the bearer token, over $OPENAI_API_KEY",
    "cli.api_key.default": "without --api-key, $OPENAI_API_KEY is the key",
    "cli.cwd.default": "without --cwd, tools work in the directory the agent was started in",
    "cli.task.positional": "the positional task is the user message",
    "cli.task.stdin": "without a positional task, the task is read from stdin",
    "cli.max_turns.default": "without --max-turns the agent makes at most 20 requests",
    "cli.max_turns.option": "--max-turns N caps the requests at N",
    "cli.max_turns.exit": "reaching the turn limit exits 1",
    "cli.final_answer.stdout": "the final answer goes to stdout and the agent exits 0; progress goes to stderr",
    "api.request": "each turn is a non-streamed POST to <base-url>/chat/completions",
    "api.retry.server_error": "a 5xx reply is retried",
    "api.retry.rate_limit": "a 429 reply is retried",
    "api.retry.connection": "a dropped connection is retried",
    "api.retry.not_a_turn": "retries of one request do not count against --max-turns",
    "api.retry.backoff": "a failing API is tried 4 times in all, 1, 2 and 4 s apart",
    "api.retry.gives_up": "an API error that persists ends the run with exit 1",
    "loop.start": "the conversation starts with a system message and the task as the user message",
    "loop.final_answer": "a reply without tool calls ends the run with its text",
    "loop.assistant_appended": "each assistant reply is appended with its tool calls as received",
    "loop.tool_messages": "each tool call gets a tool message with its id, in call order",
    "loop.tool_calls_in_order": "the tool calls of one reply run one after another, in order",
    "loop.accumulates": "every request carries the whole conversation so far",
    "loop.last_turn_tools_run": "the tool calls of the last allowed turn still run",
    "loop.tool_errors_continue": "a failing or malformed tool call does not end the loop",
    "tools.definitions": "every request offers the five tools with their parameters, types and required ones",
    "tools.unknown": "an unknown tool name gets an ERROR: result and runs nothing",
    "tools.arguments.missing": "a call missing a required parameter gets an ERROR: result and runs nothing",
    "tools.arguments.invalid_json": "arguments that are not valid JSON get an ERROR: result",
    "tools.read_file.lines": "read_file returns the file, or lines start_line..end_line (1-based, inclusive)",
    "tools.read_file.errors": "reading a missing file or a directory gives an ERROR: result",
    "tools.write_file.create": "write_file creates the file relative to --cwd and returns OK",
    "tools.write_file.parents": "write_file creates missing parent directories",
    "tools.write_file.overwrite": "write_file replaces the whole file, empty content included",
    "tools.write_file.errors": "a write that cannot happen gives an ERROR: result and changes nothing",
    "tools.run_shell.result": "run_shell returns JSON with exactly stdout, stderr and exit_code",
    "tools.run_shell.cwd": "run_shell runs in --cwd",
    "tools.run_shell.bash": "run_shell runs its command with bash",
    "tools.run_shell.cap": "stdout and stderr are each cut at 10 000 characters, with a notice past that",
    "tools.run_shell.timeout": "the timeout stops the command (its children too); the default allows seconds",
    "tools.list_files.glob": "list_files returns the paths matching a glob relative to --cwd, ** recursive",
    "tools.search_text.matches": "search_text returns path:line: text for each line matching a regex",
    "tools.search_text.cap": "search_text returns at most 200 matches",
    "output.progress": "each tool call and its result are logged on stderr, [tool] NAME... and [result]...",
    "secrets.never_logged": "the agent's own output (progress, warnings, errors) never shows its key",
    # Stated only by our restatement (spec.md).
    "cli.task.verbatim": "a positional task is sent exactly as given",
    "cli.task.stdin_stripped": "a task from stdin is stripped of surrounding whitespace",
    "cli.usage_errors": "usage errors (no task, no key, bad --cwd, --max-turns < 1) exit 2 with no request",
    "cli.final_answer.exact": "stdout is exactly the final answer and one newline",
    "cli.final_answer.null": "a null final answer prints just a newline",
    "cli.max_turns.warning": "reaching the turn limit prints a [warning] line on stderr and nothing on stdout",
    "api.retry.rate_limit_ignores_retry_after": "a 429 is retried on the fixed schedule, whatever Retry-After says",
    "api.retry.client_errors_not_retried": "other 4xx replies are not retried",
    "api.retry.error_line": "giving up prints an [error] line on stderr and nothing on stdout",
    "loop.assistant_message_shape": "assistant messages keep exactly id, type and function; no empty tool_calls",
    "loop.finish_reason": "tool calls run whatever the finish_reason; no calls and no 'stop' means another turn",
    "tools.definitions.order_and_descriptions": "the tools are offered in the spec's order, each with a description",
    "tools.unknown_named": "the ERROR: for an unknown tool names it",
    "tools.arguments.missing_named": "the ERROR: for a missing parameter names it",
    "tools.arguments.not_an_object": "arguments that are JSON but not an object get an ERROR: result",
    "tools.arguments.types": "a value of the wrong JSON type gets an ERROR: result and runs nothing",
    "tools.arguments.extra_ignored": "unknown extra parameters are ignored",
    "tools.paths.absolute": "an absolute path is used as it is",
    "tools.read_file.exact_text": "read_file returns the exact text: line ends kept, invalid UTF-8 replaced",
    "tools.read_file.range_errors": "start_line < 1, end_line < start_line and string line numbers are errors",
    "tools.write_file.exact_bytes": "write_file writes UTF-8 with no newline translation",
    "tools.run_shell.stdin": "commands get an empty stdin",
    "tools.run_shell.environment": "commands inherit the agent's environment",
    "tools.run_shell.invalid_utf8": "output that is not UTF-8 is decoded with replacement characters",
    "tools.run_shell.cap_notice": "the cut is marked [truncated: N more characters]",
    "tools.run_shell.timeout_error": "a timeout returns exactly ERROR: command timed out after N seconds",
    "tools.list_files.exact": "list_files output is sorted, hides dot names unless asked, includes directories",
    "tools.search_text.exact": "search_text keeps the line as is, skips hidden and binary files, notes the cut",
    "tools.search_text.invalid_regex": "an invalid regex gets an ERROR: result",
    "output.progress.format": "progress lines are [tool] NAME ARGS and [result] TEXT, newlines escaped, 200 chars",
    "output.progress.every_call": "every call gets its progress lines, even one that fails",
    "secrets.redacted": "the key is replaced by [REDACTED] wherever it would appear, tool results included",
}


def paper(clause):
    """The paper's text states this clause (so our restatement does too)."""
    return pytest.mark.clause(clause, "paper", "ours", what=CLAUSES[clause])


def ours(clause):
    """Only our restatement states this clause."""
    return pytest.mark.clause(clause, "ours", what=CLAUSES[clause])


def check_each(cases, check):
    """Run `check(case)` for every case of one clause and fail once, naming each case that failed and why.

    A clause is one test, however many cases pin it down: a bug in one behaviour costs one test, so pass rates
    count clauses met rather than how many cases a suite happens to list for a clause."""
    failed = []
    for case in cases:
        try:
            check(case)
        except AssertionError as exc:
            failed.append(f"{case}: {(str(exc).strip().splitlines() or ['assertion failed'])[0][:300]}")
    assert not failed, f"{len(failed)} of {len(cases)} cases failed: " + "; ".join(failed)
