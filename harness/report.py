"""Run an experiment's analysis notebooks headless and save them as self-contained HTML pages.

    harness-report runs/demo                          # results + spec (+ bootstrap when there are chains)
    harness-report runs/paper --notebooks bootstrap

Each notebook runs in a fresh kernel with HARNESS_RESULTS / HARNESS_TESTS pointing at the experiment's tables,
and is written to runs/<experiment>/report/<notebook>.html next to an index.html that links them. Figures are
embedded as base64 PNG and the pages load no script or stylesheet from the network, so the folder can be
mailed or archived and opened offline.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from harness.config import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = {
    "results": "pass rate against temperature per spec and model",
    "spec": "which tests (spec clauses) implementations fail most",
    "bootstrap": "self-reproducing chains: reproduction share and survival by generation",
}

# JupyterLab's look with its CSS inlined, minus the blocks that pull require.js, MathJax and mermaid from CDNs.
OFFLINE_TEMPLATE = """{%- extends "lab/index.html.j2" -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def default_notebooks(results: pd.DataFrame) -> list[str]:
    """results and spec always; bootstrap only when the table holds chains (rows with generation > 0)."""
    chosen = ["results", "spec"]
    if "generation" in results.columns and (results["generation"] > 0).any():
        chosen.append("bootstrap")
    return chosen


def execute(name: str, results_path: Path, tests_path: Path, timeout: float) -> nbformat.NotebookNode:
    """Run notebooks/<name>.ipynb in a new kernel against the given tables; a failing cell's error stays in it."""
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "HARNESS_RESULTS": str(results_path), "HARNESS_TESTS": str(tests_path),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)  # the kernel is a child process: the tables reach it through its environment
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    """`ename: evalue` of every error output of an executed notebook."""
    return [f"{out.ename}: {out.evalue}" for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.output_type == "error"]


def to_html(nb: nbformat.NotebookNode, title: str) -> str:
    exporter = HTMLExporter(template_name="lab", template_file="offline.html.j2",
                            extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def index_page(experiment: str, pages: dict[str, list[str]], trials: int) -> str:
    """A plain page linking each notebook's HTML, marking the ones in which a cell raised."""
    items = []
    for name, failed in pages.items():
        note = f' <strong>({len(failed)} cell error(s): {html.escape(failed[0])})</strong>' if failed else ""
        items.append(f'<li><a href="{name}.html">{name}</a>: {html.escape(NOTEBOOKS[name])}{note}</li>')
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Report: {html.escape(experiment)}'
            '</title><style>body{font-family:sans-serif;max-width:50em;margin:2em auto;line-height:1.5}</style>'
            f'</head><body><h1>Report: experiment {html.escape(experiment)}</h1>'
            f'<p>{trials} trials. Notebooks executed {stamp}.</p><ul>{"".join(items)}</ul></body></html>\n')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render an experiment's notebooks to self-contained HTML.")
    parser.add_argument("experiment_dir", type=Path, help="runs/<experiment>, holding results.parquet")
    parser.add_argument("--notebooks", nargs="+", choices=sorted(NOTEBOOKS), default=None,
                        help="default: results spec, and bootstrap when the table has generation > 0")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    run_dir = args.experiment_dir.resolve()
    results_path, tests_path = run_dir / "results.parquet", run_dir / "tests.parquet"
    if not results_path.is_file():
        parser.error(f"no results table at {results_path}")
    try:
        results = pd.read_parquet(results_path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        parser.error(f"cannot read {results_path} ({type(exc).__name__}); rebuild it by re-running the sweep")
    names = args.notebooks or default_notebooks(results)
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    pages = {}
    for name in names:
        nb = execute(name, results_path, tests_path, args.timeout)
        (out / f"{name}.html").write_text(to_html(nb, f"{run_dir.name} - {name}"), encoding="utf-8")
        pages[name] = errors(nb)
        print(f"{out / f'{name}.html'}" + (f"  ({len(pages[name])} cell error(s))" if pages[name] else ""))
    experiment = ", ".join(sorted(results["experiment"].unique())) or run_dir.name
    (out / "index.html").write_text(index_page(experiment, pages, len(results)), encoding="utf-8")
    print(out / "index.html")
    if any(pages.values()):
        sys.exit(1)
