"""Run an experiment's analysis notebooks headless and save a report of self-contained HTML pages.

    harness-report runs/demo                          # results + spec (+ bootstrap when there are chains)
    harness-report runs/paper --notebooks bootstrap   # that page again; the others stay, the front page is rebuilt

runs/<experiment>/report/index.html opens with the headline numbers (harness.report.headline), then every figure of
the notebooks, then links to each notebook's page (runs/<experiment>/report/<notebook>.html), where the code is
folded away under "code". Each notebook runs in a fresh kernel with HARNESS_RESULTS / HARNESS_TESTS pointing at
the experiment's tables, and opens with a line naming them. Figures are embedded as base64 PNG and the pages load
no script or stylesheet from the network, so the folder can be mailed or archived and opened offline. Each page is
kept with its executed notebook (harness/report/pages.py), so that `--notebooks` re-runs only the pages it names
and a full report removes the pages of notebooks it no longer runs.
"""

from __future__ import annotations

import argparse
import html
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from traitlets.config import Config

from harness.analysis.cells import CHAIN_PREFIX
from harness.config.schema import PROJECT_ROOT
from harness.errors import ConfigError, command
from harness.records.tables import results_table
from harness.report import pages
from harness.report.headline import headline, headline_html
from harness.report.sources import missing
from harness.view.site import write_viewer

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = {
    "results": "pass rates per cell, against temperature, pass@k, seed stability, cost, seeds needed",
    "bootstrap": "self-reproducing chains: reproduction share, survival and drift by generation",
    "spec": "which tests (spec clauses) implementations fail most",
    "generations": "behaviour classes, chains' generation x generation equivalence, similarity to parent",
    "ladder": "the spec ladder: pass rate against spec size (words, clauses) per model",
}
NEEDS = {"results": ["results.parquet"], "bootstrap": ["results.parquet"], "spec": ["results.parquet", "tests.parquet"],
         "generations": ["equivalence.parquet", "similarity.parquet"],
         "ladder": ["results.parquet"]}  # the tables each notebook reads (the ladder reads tests.parquet if there)
LADDER_SPECS = 3  # a table of this many specs or more gets the ladder's page: fewer make no curve

# Shared by every page: tables scroll inside their own box rather than off the page, long cells wrap.
CSS = """
.jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow-x: auto; max-width: 100%; }
.jp-RenderedHTMLCommon table, table.headline { font-size: 12px; border-collapse: collapse; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, table.headline td, table.headline th {
  max-width: 32em; white-space: normal; overflow-wrap: break-word; vertical-align: top; }
p.table-note { color: #555; font-size: 12px; margin: 4px 0 0 0; }
.jp-RenderedImage img, figure img { max-width: 100%; height: auto; }
details.code > summary { cursor: pointer; color: #888; font-size: 12px; margin: 2px 0 2px 8px; }
nav.report { font-family: sans-serif; font-size: 13px; margin: 8px 16px; }
"""

# JupyterLab's look with its CSS inlined, minus the blocks that pull require.js, MathJax and mermaid from CDNs;
# prompts are dropped (exporter options) and each code cell's source folded under "code".
OFFLINE_TEMPLATE = """{%- extends "lab/index.html.j2" -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">""" + CSS + """</style>{%- endblock html_head_css -%}
{%- block body_header -%}{{ super() }}<nav class="report"><a href="index.html">&larr; report</a></nav>{%- endblock -%}
{% block input_group -%}<details class="code"><summary>code</summary>{{ super() }}</details>{%- endblock input_group %}
"""


def default_notebooks(results: pd.DataFrame, run_dir: Path | None = None) -> list[str]:
    """results and spec always; bootstrap (after results) only when the table holds chains (`has_chains`);
    generations when the experiment has an equivalence table (harness/equivalence/classes.py); ladder when it
    holds LADDER_SPECS specs or more."""
    chains = has_chains(results)
    compared = ["generations"] if run_dir is not None and (run_dir / "equivalence.parquet").is_file() else []
    ladder = ["ladder"] if "spec" in results.columns and results["spec"].nunique() >= LADDER_SPECS else []
    return (["results", "bootstrap", "spec"] if chains else ["results", "spec"]) + compared + ladder


def has_chains(results: pd.DataFrame) -> bool:
    """Whether any trial belongs to a bootstrap chain: by its generator (`chain:<kind>`), not by a generation
    past 0, since a chain whose generation 0 left no code (every SmolLM2 chain) is still a chain to report."""
    return "generator" in results.columns and results["generator"].astype(str).str.startswith(CHAIN_PREFIX).any()


def execute(name: str, results_path: Path, tests_path: Path, timeout: float) -> nbformat.NotebookNode:
    """Run notebooks/<name>.ipynb in a new kernel against the given tables; a failing cell's error stays in it."""
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nb.metadata["harness_report"] = {"executed": stamp, "tables": str(results_path.parent)}
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(  # what this page shows, whatever the notebook's defaults
        f"**Experiment `{results_path.parent.name}`**: this page read `{results_path.parent}` "
        f"(`{results_path.name}` and the tables beside it); `harness-report` executed it {stamp}."))
    env = {**os.environ, "HARNESS_RESULTS": str(results_path), "HARNESS_TESTS": str(tests_path),
           "HARNESS_EQUIVALENCE": str(results_path.with_name("equivalence.parquet")),
           "HARNESS_SIMILARITY": str(results_path.with_name("similarity.parquet")),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    with tempfile.TemporaryDirectory(prefix="harness-kernel-") as sockets:
        # Unix sockets in a private folder: no TCP port for other users of the machine to reach, and the kernel
        # has no reason to warn on the console that its traffic is unencrypted.
        ipc = Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}})
        client = NotebookClient(nb, config=ipc, kernel_name="python3", timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute(env=env)  # the kernel is a child process: the tables reach it through its environment
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    """`ename: evalue` of every error output of an executed notebook."""
    return [f"{out.ename}: {out.evalue}" for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.output_type == "error"]


def figures(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(the heading of the section it is in, base64 PNG) for every figure of an executed notebook."""
    found, heading = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            titles = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            heading = titles[-1] if titles else heading
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                found.append((heading, out["data"]["image/png"].replace("\n", "")))
    return found


def to_html(nb: nbformat.NotebookNode, title: str) -> str:
    exporter = HTMLExporter(template_name="lab", template_file="offline.html.j2", exclude_input_prompt=True,
                            exclude_output_prompt=True,
                            extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def index_page(experiment: str, results: pd.DataFrame, notebooks: dict[str, nbformat.NotebookNode]) -> str:
    """The report's front page: the headline table, every figure, then a link to each notebook's page, marking
    the ones in which a cell raised."""
    table = headline_html(headline(results))  # each cell's trial count links to its trials in the viewer
    shown = []
    for name, nb in notebooks.items():
        for heading, png in figures(nb):
            shown.append(f'<figure><figcaption><a href="{name}.html">{name}</a>: {html.escape(heading)}'
                         f'</figcaption><img alt="{html.escape(heading)}" src="data:image/png;base64,{png}">'
                         '</figure>')
    links = []
    for name, nb in notebooks.items():
        failed = errors(nb)
        flag = f' <strong>({len(failed)} cell error(s): {html.escape(failed[0])})</strong>' if failed else ""
        when = nb.metadata.get("harness_report", {}).get("executed", "")
        when = f' <span class="meta">(executed {html.escape(when)})</span>' if when else ""
        links.append(f'<li><a href="{name}.html">{name}</a>: {html.escape(NOTEBOOKS[name])}{when}{flag}</li>')
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Report: {html.escape(experiment)}'
            f'</title><style>{INDEX_CSS}{CSS}</style></head><body><h1>Report: experiment {html.escape(experiment)}'
            f'</h1><p class="meta">{len(results)} trials. Page written {stamp}.</p>'
            f'<h2>Headline</h2>{table}<p class="legend">{HEADLINE_LEGEND}</p>'
            f'<h2>Figures</h2>{"".join(shown) or "<p>none</p>"}<h2>Notebooks</h2><ul>{"".join(links)}</ul>'
            '</body></html>\n')


INDEX_CSS = """body{font-family:sans-serif;max-width:75em;margin:1.5em auto;padding:0 1em;line-height:1.45}
table.headline td,table.headline th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
table.headline td:nth-child(-n+3),table.headline th:nth-child(-n+3){text-align:left}
.meta,.legend,figcaption{color:#555;font-size:13px}figure{margin:1.5em 0}"""
HEADLINE_LEGEND = (
    "Per spec × model × text, every temperature pooled. <em>trials</em>: counted; <em>excluded</em>: infra "
    "errors, harness errors and interruptions, left out of every rate. <em>pass rate</em>: mean fraction of tests "
    "passed; <em>all tests pass</em>: share of trials passing every test; each with its 95 % interval clustered "
    "by seed. <em>few</em>: fewer than 5 seeds, a wide interval. <em>US$ per success</em>: all spend over the "
    "trials passing every test (- when a cost is unknown or nothing passed; <em>cached</em> when the cache served "
    "every model call, so an earlier trial paid; the synthetic model's prices are made up). <em>chains "
    "reproduced</em>: chains whose generations 0 and 1 both pass, of those with a known outcome, with a 95 % "
    "interval clustered by seed (none with one seed); a chain is listed under the model that drives it. A chain's "
    "generation g counts the chains that reached it (conditioned on survival); the bootstrap page's survival curve "
    "and per-generation rates count the chains that ended before g as failing.")


@command("harness-report", "nothing recorded is lost; run it again for the whole report")
def main(argv: list[str] | None = None) -> int:
    """harness-report runs/<experiment>: run the notebooks on its tables and write the HTML report. Exits 1 when
    a notebook cell failed (the page shows the error)."""
    parser = argparse.ArgumentParser(prog="harness-report",
                                     description="Render an experiment's notebooks to self-contained HTML.")
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, holding results.parquet")
    parser.add_argument("--notebooks", nargs="+", choices=sorted(NOTEBOOKS), default=None,
                        help="default: results spec, bootstrap when the table has chains, and "
                             "generations when there is an equivalence table")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    run_dir = args.experiment_dir.resolve()
    results_path, tests_path = run_dir / "results.parquet", run_dir / "tests.parquet"
    results = results_table(run_dir)  # rebuilt from the records when it cannot be read
    names = args.notebooks or default_notebooks(results, run_dir)
    problems = [line for name in names for line in missing(run_dir, NEEDS[name])]
    if "bootstrap" in names and not has_chains(results):
        problems.append(f"no bootstrap chain in {results_path}: `harness experiment=paper` runs some")
    if problems:
        raise ConfigError("; ".join(dict.fromkeys(problems)) + " (nothing written)")
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    failing = []
    for name in names:
        nb = execute(name, results_path, tests_path, args.timeout)
        page = pages.save(out, name, nb, to_html(nb, f"{run_dir.name} - {name}"))
        failing += [name] if errors(nb) else []
        print(f"{page}" + (f"  ({len(errors(nb))} cell error(s))" if errors(nb) else ""))
    if args.notebooks is None:  # a full report: the pages of notebooks it no longer runs are stale
        for path in pages.remove_stale(out, NOTEBOOKS, names):
            print(f"removed {path} (stale: its notebook is no longer part of this report)")
    executed = pages.executed(out, NOTEBOOKS)  # this run's pages, and the others a --notebooks run left in place
    experiment = ", ".join(sorted(results["experiment"].astype(str).unique())) or run_dir.name
    viewer = write_viewer(run_dir)  # the trials the headline links to
    print(f"{viewer.folder / 'index.html'} ({viewer.trials} trials)")
    (out / "index.html").write_text(index_page(experiment, results, executed), encoding="utf-8")
    print(out / "index.html")
    return 1 if failing else 0
