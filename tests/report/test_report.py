"""harness.report.notebooks without a kernel: which notebooks it picks, the offline HTML it writes, and its index page.

The end-to-end run (real kernels on real sweeps, opened in a real browser) is in tests/report/test_notebooks.py.
"""

from __future__ import annotations

import base64
import io
import shutil

import matplotlib
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from harness.report.notebooks import default_notebooks, errors, figures, index_page, main, to_html
from tests.browser import check_pages

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def test_default_notebooks_add_bootstrap_only_for_chains():
    assert default_notebooks(pd.DataFrame({"generation": [0, 0], "generator": "oneshot"})) == ["results", "spec"]
    assert default_notebooks(pd.DataFrame({"generation": [0, 1], "generator": "chain:agent"})) == \
        ["results", "bootstrap", "spec"]
    # A chain whose generation 0 left no code (every chain on SmolLM2) is still a chain: its page says 0 of 1.
    assert default_notebooks(pd.DataFrame({"generation": [0], "generator": "chain:agent"})) == \
        ["results", "bootstrap", "spec"]


def test_default_notebooks_add_generations_when_there_is_an_equivalence_table(tmp_path):
    assert default_notebooks(pd.DataFrame({"generation": [0]}), tmp_path) == ["results", "spec"]
    (tmp_path / "equivalence.parquet").write_bytes(b"")
    assert default_notebooks(pd.DataFrame({"generation": [0]}), tmp_path) == ["results", "spec", "generations"]


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
        new_markdown_cell("## Pass rate against temperature\n\nOne panel per spec."),
        new_code_cell("plt.show()", outputs=[figure], execution_count=1),
        new_code_cell("table", outputs=[table], execution_count=2),
        new_code_cell("results['model']", outputs=[error], execution_count=3),
    ])


def test_html_embeds_figures_and_loads_nothing_from_the_network():
    page = to_html(executed_notebook(), "demo - results")
    assert page.startswith("<!DOCTYPE html>") and "<title>demo - results</title>" in page
    assert "data:image/png;base64," in page and "<td>semver</td>" in page
    assert page.count('<details class="code"><summary>code</summary>') == 3  # code folded away, one per cell
    assert "In&nbsp;[" not in page  # no prompts
    assert 'href="index.html"' in page  # back to the report's front page
    assert "<script" not in page  # no require.js, MathJax or mermaid loader
    assert "https://cdn" not in page and "require.js" not in page
    assert "<link" not in page  # the stylesheet is inlined


def test_errors_lists_every_failing_cell():
    assert errors(executed_notebook()) == ["KeyError: 'model'"]
    assert errors(new_notebook(cells=[new_code_cell("1")])) == []


def table() -> pd.DataFrame:
    return pd.DataFrame({"spec": "semver", "model": "m", "generator": "oneshot", "generation": 0,
                         "temperature": [0.0, 0.5], "seed": [0, 1], "status": "scored", "pass_rate": 1.0,
                         "passed_all": True, "cost_usd": 0.01, "prompt_tokens": 1, "completion_tokens": 1})


def test_index_opens_with_the_headline_then_figures_then_links_flagging_failed_pages():
    failed = executed_notebook()
    fine = new_notebook(cells=[cell for cell in failed.cells if "error" not in str(cell.get("outputs"))])
    page = index_page("paper", table(), {"results": fine, "bootstrap": failed})
    assert page.index("<h2>Headline") < page.index("<h2>Figures") < page.index("<h2>Notebooks")
    headline = page[page.index("<h2>Headline"):page.index("<h2>Figures")]
    assert "<td>semver</td>" in headline and "<td>1.00 [0.16, 1.00]</td>" in headline and "2 few" in headline
    assert "Every row: generator oneshot, generation 0." in headline
    assert page.count("data:image/png;base64,") == 2  # each notebook's figure, with the section it is in
    assert '<a href="results.html">results</a>: Pass rate against temperature' in page
    assert 'href="bootstrap.html"' in page and "2 trials" in page
    assert "1 cell error(s): KeyError: &#x27;model&#x27;" in page and page.count("cell error(s)") == 1
    assert "http" not in page


def test_figures_are_found_with_their_section_heading():
    found = figures(executed_notebook())
    assert [heading for heading, _ in found] == ["Pass rate against temperature"]
    assert base64.b64decode(found[0][1]).startswith(b"\x89PNG")


def test_cli_refuses_a_folder_without_a_results_table(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path)])
    assert stop.value.code == 2 and "no results table" in capsys.readouterr().err


def test_cli_refuses_the_bootstrap_page_only_without_chains(tmp_path, capsys):
    """Asked for the bootstrap page, a table of one-shot trials is refused before any kernel starts; a table
    whose only chain ended at generation 0 is not (it was, and told the user to run the preset they had run)."""
    pd.DataFrame({"trial_id": ["a"], "generation": [0], "generator": ["oneshot"]}).to_parquet(
        tmp_path / "results.parquet")
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path), "--notebooks", "bootstrap"])
    assert stop.value.code == 2 and "no bootstrap chain" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium to open pages in")
def test_the_browser_check_sees_page_errors_failed_loads_and_overflow(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>throw new Error("boom")</script><img src="missing.png">'
                   '<table><tr><td style="white-space:nowrap">' + "wide " * 600 + "</td></tr></table></body></html>")
    good = tmp_path / "good.html"
    good.write_text('<html><body><div style="overflow-x:auto"><table><tr><td style="white-space:nowrap">'
                    + "wide " * 600 + "</td></tr></table></div></body></html>")
    found_bad, found_good = check_pages([bad, good])
    assert any("boom" in p for p in found_bad.problems) and any("failed load" in p for p in found_bad.problems)
    assert any(p.startswith("table ends at") for p in found_bad.problems)
    assert found_good.problems == []  # a wide table that scrolls inside its own box is fine
