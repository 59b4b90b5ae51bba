"""One trial's page: how it ended and why, what defined it, its tests grouped by clause with each failure's
message, its implementation's files, what an agent printed, and for a chain its kin (harness/view/chain.py).
Its transcript has a page of its own (harness/view/conversation.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness.sandbox.untrusted import Tree
from harness.scoring.expected import NOT_RUN, UNCOLLECTED
from harness.seams import counts_against_model, passes
from harness.view.chain import Kin, render_chain
from harness.view.markup import capped, esc, folded, link, page, page_name, pre, status_badge, table

OUTPUT_CHARS = 20_000  # of an agent's stdout or stderr: the end, where it failed
FILE_CHARS = 200_000  # of one implementation file
LISTED = 6  # tests named above a message they share; the rest are folded
SHORT_LINES, SHORT_CHARS = 6, 600  # a message within both is shown whole; a longer one folded under its ends
# The record's fields shown in its table, in this order (the rest are in the resolved config below it).
FIELDS = ["spec", "spec_text", "selection", "model", "chain_model", "generator", "generation", "temperature",
          "seed", "sample", "status", "tests_total", "tests_passed", "tests_failed", "tests_errored",
          "tests_skipped", "pass_rate", "passed_all", "ground_truth", "impl_lines", "model_calls", "cache_hits",
          "prompt_tokens", "completion_tokens", "cost_usd", "gen_seconds", "score_seconds", "sandbox",
          "parent_trial_id", "experiment", "created_at", "git_sha", "harness_version", "spec_sha256",
          "suite_sha256"]


@dataclass(frozen=True)
class TrialView:
    """What one trial's page shows, gathered by harness/view/site.py."""

    record: dict
    cell: str  # its cell's label (harness/view/trials.py), for the link back to the cell's trials
    cell_href: str
    files: Tree  # its implementation
    transcript_calls: Optional[int]  # model calls in its transcript; None: no transcript
    outputs: dict[str, str]  # an agent's stdout and stderr, by file name
    kin: Optional[Kin] = None
    diff: Optional[str] = None  # from the parent's implementation; None outside chains or with no parent
    equivalence: Optional[dict] = None


def trial_page(view: TrialView) -> str:
    """The whole page of one trial (every value from the record escaped)."""
    r, tid = view.record, str(view.record.get("trial_id", "?"))
    counted = counts_against_model(str(r.get("status")))
    total, passed = r.get("tests_total") or 0, r.get("tests_passed") or 0
    verdict = (f'{status_badge(str(r.get("status")), bool(r.get("passed_all")), counted)} '
               f'{esc(passed)} of {esc(total)} tests passed' + ("" if counted else
                                                                 " (not counted: not the model's doing)"))
    verdict += _uncollected(r.get("tests") or [])
    detail = pre(str(r.get("detail"))) if r.get("detail") else ""
    transcript = (link(f"{page_name(tid)}.transcript.html", f"transcript: {view.transcript_calls} model call(s)")
                  if view.transcript_calls is not None else esc("no transcript: this trial called no model"))
    facts = [f"{r.get('spec')} ({r.get('spec_text', 'ours')}/{r.get('selection', 'all')})", f"model {r.get('model')}",
             f"{r.get('generator')}, generation {r.get('generation', 0)}", f"T {r.get('temperature')}",
             f"seed {r.get('seed')}", f"sample {r.get('sample')}"]
    facts += [f"ground truth {r['ground_truth']}"] if r.get("ground_truth") else []
    body = (f'<p class="meta">{esc(" · ".join(facts))}</p><p>{verdict}</p>{detail}<p>{transcript}</p>'
            f'<h2>Tests by clause</h2>{tests_by_clause(r.get("tests") or [])}')
    if view.kin is not None:
        body += f"<h2>Chain</h2>{render_chain(view.kin, view.diff, view.equivalence)}"
    body += f"<h2>Implementation</h2>{_files(view.files, r)}"
    shown = [(f'<span class="k">{esc(f)}</span>', r.get(f)) for f in FIELDS if f in r]
    per_row = 3  # field-value pairs side by side: the whole record on one screen
    body += "<h2>Configuration</h2>" + table(["field", "value"] * per_row, [
        [cell for pair in shown[i:i + per_row] for cell in pair] for i in range(0, len(shown), per_row)],
        raw=range(0, 2 * per_row, 2), cls="grid")
    for name, text in view.outputs.items():
        body += f"<h2>{esc(name)}</h2>" + (pre(capped(text, OUTPUT_CHARS, tail=True)) if text.strip()
                                          else '<p class="note">empty</p>')
    config = json.dumps(r.get("config") or {}, indent=1, sort_keys=True, default=str)
    body += "<h2>Resolved config</h2>" + folded("the config this trial ran with", pre(config))
    nav = [("index.html", "all trials"), (view.cell_href, f"this cell's trials ({view.cell})"),
           ("../index.html", "report")]
    return page(f"Trial {tid}", body, nav)


def _uncollected(tests: list) -> str:
    """A note when suite modules did not import. The scorer counts each of their tests as errored, with the
    import's error (harness/scoring/expected.py); records made before it did hold one error per module, so '0 of
    4 tests passed' was SmolLM2's semver, whose 4 modules hold 253 tests that never ran."""
    rows = [t for t in tests if isinstance(t, dict)]
    counted = sum(1 for t in rows if str(t.get("message", "")).startswith(NOT_RUN))
    if counted:
        return (f' <span class="note">({counted} test(s) never ran: their suite module did not import, and each '
                'counts as errored)</span>')
    modules = sum(1 for t in rows if str(t.get("test_id", "")).endswith(UNCOLLECTED))
    if not modules:
        return ""
    return (f' <span class="note">({modules} suite module(s) could not be imported, so their tests never ran: each '
            'counts here as one failed test; this record predates counting their tests)</span>')


def group_of(test: dict) -> str:
    """The clause a test checks, or for a suite that names none, the module it lives in."""
    clause = test.get("clause") or ""
    return f"clause {clause}" if clause else f"module {str(test.get('test_id', '?')).split('::')[0]}"


def tests_by_clause(tests: list) -> str:
    """Each clause's tests, groups with failures first: its failing tests gathered by message (each message
    shown once, under the tests that failed with it), its passing tests folded."""
    if not tests:
        return '<p class="note">No per-test outcomes: the suite did not report (see the status).</p>'
    groups: dict[str, list[dict]] = {}
    for test in tests:
        if isinstance(test, dict):
            groups.setdefault(group_of(test), []).append(test)
    failing = {g: [t for t in ts if not passes(str(t.get("outcome")))] for g, ts in groups.items()}
    out = []
    for group in sorted(groups, key=lambda g: (-len(failing[g]), g)):
        members, bad = groups[group], failing[group]
        out.append(f"<h3>{esc(group)}: {len(bad)} of {len(members)} test(s) failed</h3>")
        by_message: dict[str, list[dict]] = {}
        for test in bad:
            by_message.setdefault(str(test.get("message") or ""), []).append(test)
        for message, same in sorted(by_message.items(), key=lambda item: -len(item[1])):
            out.append(_failures(message, same))
        good = [t for t in members if passes(str(t.get("outcome")))]
        if good:
            names = "\n".join(f'{t.get("test_id")} ({t.get("outcome")})' for t in good)
            out.append(folded(f"{len(good)} passed", pre(names)))
    return "".join(out)


def _failures(message: str, tests: list[dict]) -> str:
    """Tests that failed with one message: their ids (the first few, the rest folded), then the message."""
    names = [f'{t.get("test_id")}' + ("" if t.get("outcome") == "failed" else f' ({t.get("outcome")})')
             for t in tests]
    listed = "".join(f"<li>{esc(n)}</li>" for n in names[:LISTED])
    if len(names) > LISTED:
        listed += "<li>" + folded(f"and {len(names) - LISTED} more", pre("\n".join(names[LISTED:]))) + "</li>"
    return f'<div class="failure"><ul class="tests">{listed}</ul>{shown_message(message)}</div>'


def shown_message(message: str) -> str:
    """A short message whole; a long one (a traceback the suite quoted) folded under its first and last lines,
    which usually say what was expected and what went wrong."""
    if not message:
        return '<p class="note">no message recorded</p>'
    lines = [line for line in message.splitlines() if line.strip()]
    if len(lines) <= SHORT_LINES and len(message) <= SHORT_CHARS:
        return pre(message)
    ends = lines[0] if lines[-1] == lines[0] else f"{lines[0].strip()} ... {lines[-1].strip()}"
    return folded(f"{ends[:300]} ({len(lines)} lines)", pre(message))


def _files(tree: Tree, record: dict) -> str:
    if not tree.files:
        return f'<p class="note">No implementation was kept (status {esc(record.get("status"))}).</p>'
    out = [folded(f"{name} ({text.count(chr(10)) + 1} lines)", pre(numbered(capped(text, FILE_CHARS))),
                  open_=len(tree.files) == 1) for name, text in tree.files.items()]
    note = tree.note()
    return "".join(out) + (f'<p class="note">{esc(note)}</p>' if note else "")


def numbered(text: str) -> str:
    """Lines with their numbers in front (a mutant's ground truth names its line)."""
    lines = text.splitlines()
    width = len(str(len(lines)))
    return "\n".join(f"{n:>{width}}  {line}" for n, line in enumerate(lines, 1))


def agent_outputs(folder: Path) -> dict[str, str]:
    """What an agent printed (agent.stdout, agent.stderr, written by the harness, redacted), when there is any."""
    found = {}
    for name in ("agent.stdout", "agent.stderr"):
        path = folder / name
        if path.is_file() and not path.is_symlink():
            found[name] = path.read_text(encoding="utf-8", errors="replace")
    return found
