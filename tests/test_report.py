"""harness.report without a kernel: which notebooks it picks, the offline HTML it writes, and its index page.

The end-to-end run (real kernels on a real chain sweep) is in tests/test_notebooks.py, next to the fixture.
"""

from __future__ import annotations

import base64
import io

import matplotlib
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from harness.report import default_notebooks, errors, index_page, main, to_html

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def test_default_notebooks_add_bootstrap_only_for_chains():
    assert default_notebooks(pd.DataFrame({"generation": [0, 0]})) == ["results", "spec"]
    assert default_notebooks(pd.DataFrame({"generation": [0, 1]})) == ["results", "spec", "bootstrap"]


def png() -> str:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def executed_notebook() -> nbformat.NotebookNode:
    """What an executed notebook looks like: markdown with maths, a figure, a table and an error."""
    figure = new_output("display_data", data={"image/png": png(), "text/plain": "<Figure>"})
    table = new_output("execute_result", data={"text/html": "<table><tr><td>semver</td></tr></table>"},
                       execution_count=2)
    error = new_output("error", ename="KeyError", evalue="'model'", traceback=["KeyError: 'model'"])
    return new_notebook(cells=[
        new_markdown_cell("# Title\n\nShare $s / n$ with a Wilson interval."),
        new_code_cell("plt.show()", outputs=[figure], execution_count=1),
        new_code_cell("table", outputs=[table], execution_count=2),
        new_code_cell("results['model']", outputs=[error], execution_count=3),
    ])


def test_html_embeds_figures_and_loads_nothing_from_the_network():
    page = to_html(executed_notebook(), "demo - results")
    assert page.startswith("<!DOCTYPE html>") and "<title>demo - results</title>" in page
    assert "data:image/png;base64," in page and "<td>semver</td>" in page
    assert "<script" not in page  # no require.js, MathJax or mermaid loader
    assert "https://cdn" not in page and "require.js" not in page
    assert "<link" not in page  # the stylesheet is inlined


def test_errors_lists_every_failing_cell():
    assert errors(executed_notebook()) == ["KeyError: 'model'"]
    assert errors(new_notebook(cells=[new_code_cell("1")])) == []


def test_index_links_pages_and_flags_failed_ones():
    page = index_page("paper", {"results": [], "bootstrap": ["KeyError: <model>"]}, trials=6)
    assert 'href="results.html"' in page and 'href="bootstrap.html"' in page
    assert "6 trials" in page and "1 cell error(s): KeyError: &lt;model&gt;" in page
    assert "http" not in page


def test_cli_refuses_a_folder_without_a_results_table(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    assert stop.value.code == 2 and "no results table" in capsys.readouterr().err
