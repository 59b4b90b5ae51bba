"""The results notebook runs headless in a real kernel against the table of a real demo sweep."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "results.ipynb"


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_results_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert outputs(nb) == []
    assert all(cell.get("execution_count") is None for cell in nb.cells if cell.cell_type == "code")


def test_results_notebook_runs_on_demo_sweep(demo_sweep, demo_results, monkeypatch):
    # The kernel is a child process and inherits this environment, so the variable must be set before it starts.
    monkeypatch.setenv("HARNESS_RESULTS", str(demo_sweep / "results.parquet"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # kernel "python3" with argv "python" resolves to this interpreter (the venv) in jupyter_client.
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError if any cell fails

    produced = outputs(nb)
    assert not [out for out in produced if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in produced), "no figure rendered"
    tables = [out["data"]["text/html"] for out in produced if "<table" in out.get("data", {}).get("text/html", "")]
    assert tables, "no table displayed"
    for spec in demo_results["spec"].unique():
        assert spec in tables[0]
    printed = "".join(out.get("text", "") for out in produced if out.output_type == "stream")
    assert str(demo_sweep / "results.parquet") in printed  # the notebook read the sweep, not the default path
