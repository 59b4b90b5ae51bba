"""Write the viewer: `harness-view runs/<experiment>` -> runs/<experiment>/report/trials/.

    index.html                  every trial, filtered by cell and status (harness/view/trials.py)
    <trial>.html                one trial (harness/view/trial_page.py)
    <trial>.transcript.html     its transcript as a conversation (harness/view/conversation.py)

Static pages, like the report beside them: they open from disk, need no server, load nothing from the network,
and can be archived with the experiment. They are read from the records on disk and the results table
(rebuilt first, as `harness-tables` would), plus equivalence.parquet where `harness-equivalence` has run.
A page is rewritten only when what it shows may have changed (`Stamp`), so a second run costs a scan.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from harness.errors import ConfigError, command
from harness.records.store import RecordStore
from harness.records.tables import results_table
from harness.view import chain, conversation
from harness.view.markup import page, page_name
from harness.view.trial_page import TrialView, agent_outputs, trial_page
from harness.view.trials import cell_href, index_page, trial_rows

STAMPS = ".stamps.json"  # page name -> what its pages were written from
# The viewer's own code is part of what a page is made from: pages written by an older harness are written
# again after an upgrade (they kept, say, '0 of 4 tests passed' without the note that the modules never imported).
VIEWER_CODE = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))).hexdigest()


@dataclass(frozen=True)
class Written:
    folder: Path
    trials: int
    pages: int  # trial and transcript pages written this time (the others were up to date)
    seconds: float


def write_viewer(run_dir: Path) -> Written:
    """Write (or bring up to date) the viewer's pages of the experiment in `run_dir`."""
    start = time.monotonic()
    run_dir = Path(run_dir)
    # Brought up to date from the records where there are some; tables copied without their trials/ are read as
    # they are (a refresh from no records would empty them). The per-test table is not read: a page reads its record.
    results = results_table(run_dir)
    out = run_dir / "report" / "trials"
    out.mkdir(parents=True, exist_ok=True)
    rows = trial_rows(results)
    experiment = ", ".join(sorted(results["experiment"].astype(str).unique())) or run_dir.name
    _write(out / "index.html", index_page(experiment, rows))
    cells = {row[11]: row[1] for row in rows}
    kin = chain.kin_of(results)
    equivalence = _equivalence(run_dir)
    store = RecordStore(run_dir)
    stamps, written = _read_stamps(out), 0
    for tid in results["trial_id"]:
        stamp, name = _stamp(store, tid, kin.get(tid), run_dir), page_name(tid)
        if stamps.get(name) == stamp and (out / f"{name}.html").is_file():
            continue
        record = store.load(tid)
        if record is None:  # filed under another name: the table lists it, no page does
            continue
        written += _write_trial(out, record, cells[str(tid)], kin.get(tid), store, equivalence.get(tid))
        stamps[name] = stamp
    current = {page_name(tid) for tid in results["trial_id"]}
    for page_file in out.glob("*.html"):  # the pages of trials whose records are gone
        if page_file.name != "index.html" and page_file.name.removesuffix(".html").removesuffix(".transcript") \
                not in current:
            page_file.unlink()
    _write(out / STAMPS, json.dumps({k: v for k, v in stamps.items() if k in current}, sort_keys=True))
    return Written(out, len(results), written, time.monotonic() - start)


def _write_trial(out: Path, record: dict, cell: str, kin: Optional[chain.Kin], store: RecordStore,
                 equivalence: Optional[dict]) -> int:
    """Write a trial's page and its transcript's; return how many pages were written."""
    tid = record["trial_id"]
    folder = store.artifacts(tid)
    files = chain.implementation(folder / "impl")
    diff = None
    if kin is not None and kin.parent is not None:
        diff = chain.code_diff(chain.implementation(store.artifacts(kin.parent[0]) / "impl").files, files.files)
    transcript = folder / "transcript.jsonl"
    calls = None
    if transcript.is_file() and not transcript.is_symlink():
        items = conversation.read_calls(transcript.read_text(encoding="utf-8", errors="replace").splitlines())
        calls = sum(isinstance(i, conversation.Call) for i in items)
        name = page_name(tid)
        _write(out / f"{name}.transcript.html", page(
            f"Transcript of trial {tid}", conversation.render(items),
            [(f"{name}.html", f"trial {tid}"), ("index.html", "all trials")]))
    view = TrialView(record, cell, cell_href(cell), files, calls, agent_outputs(folder), kin, diff, equivalence)
    _write(out / f"{page_name(tid)}.html", trial_page(view))
    return 1 + (calls is not None)


def _stamp(store: RecordStore, tid: str, kin: Optional[chain.Kin], run_dir: Path) -> str:
    """What a trial's pages are made from, as sizes and modification times: its record and transcript, its
    kin (and the parent's record, whose implementation its diff reads), the equivalence table; and the code
    that writes them (`VIEWER_CODE`)."""
    paths = [store.path(tid), store.artifacts(tid) / "transcript.jsonl", run_dir / "equivalence.parquet"]
    if kin is not None and kin.parent is not None:
        paths.append(store.path(kin.parent[0]))
    seen = [(p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in paths]
    return hashlib.sha256(json.dumps([seen, repr(kin), VIEWER_CODE]).encode()).hexdigest()[:20]


def _equivalence(run_dir: Path) -> dict[str, dict]:
    path = run_dir / "equivalence.parquet"
    if not path.is_file():
        return {}
    table = pd.read_parquet(path)
    return {row["trial_id"]: row for row in table.to_dict("records")}


def _read_stamps(out: Path) -> dict:
    try:
        stamps = json.loads((out / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@command("harness-view", "the pages written so far stand; run it again to finish")
def main(argv: Optional[list[str]] = None) -> None:
    """harness-view runs/<experiment>: write the trial viewer's pages beside the report, and say where."""
    parser = argparse.ArgumentParser(prog="harness-view", description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, the folder holding trials/")
    args = parser.parse_args(argv)
    if not (args.experiment_dir / "trials").is_dir():
        raise ConfigError(f"{args.experiment_dir} holds no trials/; give runs/<experiment> (a sweep writes it)")
    done = write_viewer(args.experiment_dir)
    print(f"{done.folder / 'index.html'}: {done.trials} trials, {done.pages} page(s) written in {done.seconds:.1f} s")
