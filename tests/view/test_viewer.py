"""harness-view on real sweeps (the demo, a chain) and on a hostile record, opened in headless Chromium the way a
reader goes: from the report's headline to a cell's trials, to a trial, to its transcript."""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from harness.records.atomic import write_json_atomic
from harness.records.store import RecordStore
from harness.records.tables import build_tables
from harness.report.notebooks import index_page
from harness.scoring.expected import NOT_RUN
from harness.view.markup import page_name
from harness.view.site import main, write_viewer
from tests.browser import Chromium
from tests.conftest import PLANTED_KEY, ROOT, sweep
from tests.records.test_tables import record

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium to open the pages in")


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory) -> Path:
    """One bootstrap chain of depth 2 of the tiny agent spec, with the synthetic model; returns runs/paper."""
    runs = tmp_path_factory.mktemp("view-chain")
    with mock.patch.dict(os.environ, {"OPENAI_API_KEY": PLANTED_KEY}):
        sweep("experiment=paper", f"runs_dir={runs}", f"specs_dir={ROOT / 'tests' / 'fixtures'}",
              "spec.name=tiny-agent", "generator.depth=2", "seed=0")
    build_tables(runs / "paper")
    return runs / "paper"


def test_every_trial_gets_a_page_with_every_failure_and_its_message(demo_sweep, capsys):
    shutil.rmtree(demo_sweep / "report" / "trials", ignore_errors=True)  # harness-report may have written them
    main([str(demo_sweep)])
    assert "18 trials, 36 page(s) written" in capsys.readouterr().out  # a page and a transcript each
    out = demo_sweep / "report" / "trials"
    tests = pd.read_parquet(demo_sweep / "tests.parquet")
    failing = tests[~tests["outcome"].isin(["passed", "skipped"])]
    assert len(failing) > 0
    for tid, rows in failing.groupby("trial_id"):
        page = (out / f"{tid}.html").read_text()
        for test_id, message in zip(rows["test_id"], rows["message"]):
            assert html.escape(test_id) in page and html.escape(message) in page
    assert write_viewer(demo_sweep).pages == 0  # nothing changed: nothing rewritten


def follow(browser: Chromium, url: str, expression: str) -> object:
    """Open `url`, fail on any problem a reader would meet, and return what `expression` reads in the page."""
    check = browser.check(url, evaluate=expression)
    assert check.problems == [], (url, check.problems)
    return check.value


FIRST_HEADLINE_LINK = "[...document.querySelectorAll('table.headline a')].map(a => a.href)"
SHOWN_ROWS = """({cell: document.getElementById('cell').value, count: document.getElementById('count').textContent,
  cells: [...document.querySelectorAll('#trials-table tbody tr')].map(tr => tr.cells[1].textContent),
  links: [...document.querySelectorAll('#trials-table tbody a')].map(a => a.href)})"""
TRIAL_LINKS = """({title: document.querySelector('h1').textContent,
  transcript: [...document.querySelectorAll('a')].filter(a => a.href.endsWith('.transcript.html')).map(a => a.href),
  parent: [...document.querySelectorAll('tr')].filter(tr => tr.cells[0].textContent === 'parent')
          .map(tr => tr.querySelector('a').href),
  diff: [...document.querySelectorAll('h3')].some(h => h.textContent === 'Code changed from the parent')})"""
CALLS = "document.querySelectorAll('div.call').length"


@needs_chromium
@pytest.mark.parametrize("experiment", ["demo_sweep", "chain_run"])
def test_from_the_headline_to_a_trial_and_its_transcript(experiment, request, tmp_path):
    run_dir = request.getfixturevalue(experiment)
    results = pd.read_parquet(run_dir / "results.parquet")
    write_viewer(run_dir)
    report = run_dir / "report" / "index.html"
    report.write_text(index_page(experiment, results, {}), encoding="utf-8")  # the headline, without notebooks
    with Chromium() as browser:
        cells = follow(browser, report.as_uri(), FIRST_HEADLINE_LINK)
        assert len(cells) == len(set(cells)) >= 2  # a link per headline row
        cell = cells[-1]  # the demo: wordfreq's; the chain: its last generation's
        shown = follow(browser, cell, SHOWN_ROWS)
        assert shown["cell"] and set(shown["cells"]) == {shown["cell"]}  # filtered to the cell the row names
        assert shown["count"].startswith(f"{len(shown['links'])} of {len(results)} trials")
        trial = follow(browser, shown["links"][0], TRIAL_LINKS)
        assert trial["title"].startswith("Trial ") and len(trial["transcript"]) == 1
        assert follow(browser, trial["transcript"][0], CALLS) >= 1
        if experiment == "chain_run":  # a later generation: its parent, and the code changed from it
            assert len(trial["parent"]) == 1 and trial["diff"]
            assert follow(browser, trial["parent"][0], "document.querySelector('h1').textContent").startswith("Trial ")


HOSTILE = '<img src=x onerror="window.pwned=1"></script><script>window.pwned=1</script>'


def test_nothing_a_record_or_an_artifact_holds_becomes_markup(tmp_path):
    """Text from the records, the transcript, the implementation and an agent's output, written to break out
    of an element, an attribute or the page's JSON: every page shows it as text, and no script of it runs."""
    store = RecordStore(tmp_path / "exp")
    tests = [{"test_id": f"test_x[{HOSTILE}]", "clause": HOSTILE, "outcome": "failed", "seconds": 0.1,
              "message": "AssertionError: " + HOSTILE}]
    store.write(record("a1", seed=0, tests=tests, detail=HOSTILE, ground_truth=HOSTILE, passed_all=False,
                       generator=HOSTILE, model=HOSTILE, config={"x": HOSTILE}))
    folder = store.artifacts("a1")
    (folder / "impl").mkdir(parents=True)
    (folder / "impl" / "a.py").write_text(f"x = '{HOSTILE}'\n")
    (folder / "agent.stderr").write_text(HOSTILE)
    (folder / "transcript.jsonl").write_text(json.dumps({"event": "completion", "wire": HOSTILE, "request": {
        "messages": [{"role": HOSTILE, "content": HOSTILE}]}, "reply": {"role": "assistant", "content": HOSTILE,
                                                                         "tool_calls": []}}) + "\n")
    write_viewer(store.run_dir)
    out = store.run_dir / "report" / "trials"
    pages = sorted(out.glob("*.html"))
    assert [p.name for p in pages] == ["a1.html", "a1.transcript.html", "index.html"]
    for page in pages:
        assert HOSTILE not in page.read_text() and "window.pwned=1</script>" not in page.read_text()
    assert html.escape(HOSTILE) in (out / "a1.html").read_text()
    if shutil.which("chromium") is not None:
        with Chromium() as browser:
            for page in pages:
                check = browser.check(page.as_uri(), evaluate="typeof window.pwned")
                assert check.value == "undefined" and not [p for p in check.problems if "failed load" in p]


def test_a_trial_id_that_is_no_plain_name_gets_a_hashed_page_name():
    assert page_name("3f2a9c") == "3f2a9c"
    for hostile in ("javascript:alert(1)", "../../etc/passwd", "", ".hidden", "a" * 65, "x.transcript"):
        name = page_name(hostile)
        assert name.startswith("trial-") and len(name) == 22


def test_records_from_before_messages_still_show(tmp_path):
    store = RecordStore(tmp_path / "exp")
    store.write(record("b2", seed=0, tests=[{"test_id": "t::a", "clause": "", "outcome": "failed", "seconds": 0.1}],
                       passed_all=False))
    old = json.loads(store.path("b2").read_text())
    write_json_atomic(store.path("b2"), old)
    write_viewer(store.run_dir)
    page = (store.run_dir / "report" / "trials" / "b2.html").read_text()
    assert "t::a" in page and "no message recorded" in page and "no transcript" in page


def test_tests_whose_module_did_not_import_are_said_to_have_never_run(tmp_path):
    """Records from before the scorer counted them hold one error per suite module (SmolLM2's semver: 4, not its
    253 tests); since, each test is errored with NOT_RUN and its module's import error. The page says which."""
    store = RecordStore(tmp_path / "exp")
    tests = [{"test_id": f"test_{m}::<collection>", "clause": "", "outcome": "errored", "seconds": 0.0,
              "message": "E   IndentationError: expected an indented block"} for m in ("bump", "parse")]
    store.write(record("c3", seed=0, tests=tests, passed_all=False, pass_rate=0.0))
    counted = [{"test_id": f"test_bump::test_{n}", "clause": "", "outcome": "errored", "seconds": 0.0,
                "message": NOT_RUN + "E   ImportError: cannot import name 'bump'"} for n in range(3)]
    store.write(record("c5", seed=2, tests=counted, passed_all=False, pass_rate=0.0))
    store.write(record("c4", seed=1, tests=[{"test_id": "t::a", "clause": "", "outcome": "failed", "seconds": 0.1}],
                       passed_all=False))
    write_viewer(store.run_dir)
    out = store.run_dir / "report" / "trials"
    assert ("(2 suite module(s) could not be imported, so their tests never ran: each counts here as one failed "
            "test; this record predates counting their tests)") in (out / "c3.html").read_text()
    assert ("(3 test(s) never ran: their suite module did not import, and each counts as errored)"
            in (out / "c5.html").read_text())
    assert "never ran" not in (out / "c4.html").read_text()


def test_the_pages_of_a_deleted_record_go_and_the_others_stay(tmp_path):
    store = RecordStore(tmp_path / "exp")
    for tid in ("a1", "b2"):
        store.write(record(tid, seed=0, tests=[]))
    write_viewer(store.run_dir)
    store.path("b2").unlink()
    written = write_viewer(store.run_dir)
    out = store.run_dir / "report" / "trials"
    assert written.pages == 0 and sorted(p.name for p in out.glob("*.html")) == ["a1.html", "index.html"]


def test_pages_written_by_other_viewer_code_are_written_again(tmp_path, monkeypatch):
    """A second run with the same records writes nothing; after the viewer's code changes (an upgrade of the
    harness), every page is written again, not kept as the old code drew it."""
    from harness.view import site
    store = RecordStore(tmp_path / "exp")
    for tid in ("a1", "b2"):
        store.write(record(tid, seed=0, tests=[]))
    assert write_viewer(store.run_dir).pages == 2
    assert write_viewer(store.run_dir).pages == 0
    monkeypatch.setattr(site, "VIEWER_CODE", "the code of another harness version")
    assert write_viewer(store.run_dir).pages == 2
