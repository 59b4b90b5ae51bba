"""The viewer's front page: every trial in one table a reader filters by cell, status and text.

A cell is what the report's headline counts as one row (spec × text × model × generator × generation; a chain's
generations under the model that drives it, harness.analysis.cells.chain_units), named by `cell_label`; the
headline links each of its rows to `trials/index.html#cell=<label>`, and the filters live in the page's URL
(`#cell=...&status=...&verdict=...&q=...`), so a filtered view can be linked to. The rows travel as JSON and are
drawn by a short script with textContent (never as markup), at most ROWS_SHOWN at a time, so 10,000 trials stay quick.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

import pandas as pd

from harness.analysis.cells import chain_units, with_text_columns
from harness.seams import counts_against_model
from harness.view.markup import esc, page, page_name, script_json

ROWS_SHOWN = 500  # rows drawn at once; "show all" draws the rest
COLUMNS = ["trial", "cell", "T", "seed", "sample", "status", "tests passed", "pass rate", "detail", "ground truth"]
DETAIL_CHARS = 160  # of a trial's detail in its row (its page shows it whole)
VERDICTS = {"": "every verdict", "pass": "passed every test", "fail": "did not pass (counted)",
            "excluded": "excluded (not the model's doing)"}


def cell_label(spec: object, spec_text: object, selection: object, model: object, generator: object,
               generation: object) -> str:
    """The name of a cell, as the viewer's filter and the headline's links both spell it."""
    generation = int(generation) if pd.notna(generation) else "?"
    return f"{spec} · {spec_text}/{selection} · {model} · {generator} · gen {generation}"


def cell_href(label: str, index: str = "index.html") -> str:
    """A link to the viewer's table filtered to one cell (relative to `index`, the table's page)."""
    return f"{index}#cell={quote(label, safe='')}"


def trial_rows(results: pd.DataFrame) -> list[list]:
    """One row per trial, in the results table's order: page name, cell label, then the COLUMNS after `cell`,
    and whether the trial counts against the model."""
    units = with_text_columns(chain_units(results))
    rows = []
    for r in units.to_dict("records"):
        detail = " ".join(str(r.get("detail") or "").split())
        rows.append([page_name(r["trial_id"]), cell_label(r["spec"], r["spec_text"], r["selection"], r["model"],
                                                          r["generator"], r.get("generation", 0)),
                     _number(r.get("temperature")), _number(r.get("seed")), _number(r.get("sample")),
                     str(r.get("status")), f"{_number(r.get('tests_passed'))}/{_number(r.get('tests_total'))}",
                     "" if pd.isna(r.get("pass_rate")) else f"{float(r['pass_rate']):.3f}",
                     detail[:DETAIL_CHARS] + ("..." if len(detail) > DETAIL_CHARS else ""),
                     "" if pd.isna(r.get("ground_truth")) else str(r.get("ground_truth")),
                     counts_against_model(str(r.get("status"))), str(r["trial_id"]), bool(r.get("passed_all"))])
    return rows


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def index_page(experiment: str, rows: list[list]) -> str:
    """The front page: filters, a count, the table (drawn by the script from the rows' JSON)."""
    cells, statuses = Counter(r[1] for r in rows), Counter(r[5] for r in rows)
    options = lambda counts: "".join(f'<option value="{esc(k)}">{esc(k)} ({n})</option>'  # noqa: E731
                                     for k, n in sorted(counts.items()))
    body = (f'<p class="meta">{len(rows)} trials. Filter by cell, status and verdict; the text box matches trial ids, '
            'details and ground truths. Each trial id opens its page (tests, messages, files, transcript).</p>'
            '<p><label>cell <select id="cell"><option value="">every cell</option>' + options(cells)
            + '</select></label> <label>status <select id="status"><option value="">every status</option>'
            + options(statuses) + '</select></label> <label>verdict <select id="verdict">'
            + "".join(f'<option value="{k}">{esc(v)}</option>' for k, v in VERDICTS.items())
            + '</select></label> <label>text <input id="q" size="24"></label></p>'
            '<p class="meta" id="count"></p><p class="note" id="unknown" hidden></p>'
            '<div class="box"><table id="trials-table"><thead><tr>'
            + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS) + '</tr></thead><tbody></tbody></table></div>'
            '<p><button id="more" hidden>show every matching trial</button></p>'
            '<noscript>The table is drawn by the page\'s script: enable JavaScript to see it.</noscript>'
            + script_json("trials", rows) + f"<script>const ROWS_SHOWN = {ROWS_SHOWN};\n{SCRIPT}</script>")
    return page(f"Trials: experiment {experiment}", body, [("../index.html", "report")])


# Draws the rows that match the filters. Every value goes in with textContent; links are built from page names
# the harness made (harness.view.markup.page_name), never from a record's text.
SCRIPT = r"""
const rows = JSON.parse(document.getElementById('trials').textContent);
const cell = document.getElementById('cell'), status = document.getElementById('status');
const verdict = document.getElementById('verdict');
const verdictOf = r => !r[10] ? 'excluded' : r[12] ? 'pass' : 'fail';
const q = document.getElementById('q'), more = document.getElementById('more');
const count = document.getElementById('count'), unknown = document.getElementById('unknown');
const table = document.getElementById('trials-table');
let all = false;
function fromHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const [box, key] of [[cell, 'cell'], [status, 'status'], [verdict, 'verdict']]) {
    const wanted = p.get(key) || '';
    box.value = wanted;
    if (box.value !== wanted) { unknown.hidden = false; unknown.textContent = `no trial has ${key} "${wanted}"`; }
  }
  q.value = p.get('q') || '';
}
function toHash() {
  const p = new URLSearchParams();
  if (cell.value) p.set('cell', cell.value);
  if (status.value) p.set('status', status.value);
  if (verdict.value) p.set('verdict', verdict.value);
  if (q.value) p.set('q', q.value);
  history.replaceState(null, '', '#' + p.toString().replace(/\+/g, '%20'));
}
function draw() {
  const text = q.value.toLowerCase();
  const hits = rows.filter(r => (!cell.value || r[1] === cell.value) && (!status.value || r[5] === status.value)
    && (!verdict.value || verdictOf(r) === verdict.value)
    && (!text || (r[11] + ' ' + r[8] + ' ' + r[9]).toLowerCase().includes(text)));
  const body = document.createElement('tbody');
  for (const r of all ? hits : hits.slice(0, ROWS_SHOWN)) {
    const tr = body.insertRow();
    const a = document.createElement('a');
    a.href = r[0] + '.html'; a.textContent = r[11];
    tr.insertCell().appendChild(a);
    for (let i = 1; i <= 9; i++) {
      const td = tr.insertCell();
      if (i === 5) {
        const badge = document.createElement('span');
        badge.className = 'status ' + {excluded: 'excluded', pass: 'ok', fail: 'bad'}[verdictOf(r)];
        badge.textContent = r[i]; td.appendChild(badge);
      } else { td.textContent = r[i]; }
    }
  }
  table.replaceChild(body, table.tBodies[0]);
  const cut = !all && hits.length > ROWS_SHOWN;
  count.textContent = `${hits.length} of ${rows.length} trials` + (cut ? `; the first ${ROWS_SHOWN} shown` : '');
  more.hidden = !cut;
}
for (const box of [cell, status, verdict, q]) {
  box.addEventListener('input', () => { all = false; unknown.hidden = true; toHash(); draw(); });
}
more.addEventListener('click', () => { all = true; draw(); });
window.addEventListener('hashchange', () => { fromHash(); draw(); });
fromHash(); draw();
"""
