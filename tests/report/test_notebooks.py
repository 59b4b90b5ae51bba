"""The analysis notebooks run headless in a real kernel against the tables of real sweeps, and harness-report
renders them to HTML that needs nothing from the network."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from harness.analysis.failures import test_failure_rates
from harness.analysis.lineage import chains, survival_by_generation
from harness.analysis.messages import failure_messages, one_line
from harness.records.tables import build_tables
from harness.report.notebooks import errors, execute
from harness.seams import TrialStatus
from tests.browser import check_pages
from tests.conftest import PLANTED_KEY, ROOT, sweep

NOTEBOOK = ROOT / "notebooks" / "results.ipynb"


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


@pytest.mark.parametrize("name", ["results", "spec", "bootstrap", "generations", "ladder"])
def test_notebooks_are_stored_without_outputs(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
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
    assert len(tables) == 6, "headline, statuses, cells, seed stability, cost, seeds planner"
    for spec in demo_results["spec"].unique():
        assert spec in tables[0] and spec in tables[-1]
    printed = "".join(out.get("text", "") for out in produced if out.output_type == "stream")
    assert str(demo_sweep / "results.parquet") in printed  # the notebook read the sweep, not the default path
    assert "3 few" in tables[0] and "3 few" in tables[2]  # the demo's 3 seeds are flagged
    assert re.search(r"0\.\d\d \[0\.\d\d, [01]\.\d\d\]", tables[2])  # each estimate with its interval
    assert "Every row: model synthetic, generator oneshot, generation 0, text ours/all" in tables[2]
    assert "no pass@k curves" in printed  # the demo draws one sample per seed
    assert "seeds_needed" in tables[-1]


def elsewhere_results() -> pd.DataFrame:
    """A table from no preset: its own spec and model names, several samples per seed, a model without a price,
    a one-seed cell, a spec whose only trial was excluded, every status, and no spec_text/selection columns."""
    statuses = [s.value for s in TrialStatus]
    rows = []
    for i in range(96):
        spec, model, temperature = ["alpha", "beta-spec"][i % 2], ["m-one", "m-two"][i // 2 % 2], [0.0, 0.7][i // 4 % 2]
        seed, sample = (i // 8 % 4, i // 32) if model == "m-one" else (0, i // 8 % 12)
        status = statuses[i % 12] if i % 3 == 0 else "scored"
        ok = status == "scored" and i % 5 != 0
        rows.append({"trial_id": f"t{i}", "experiment": "elsewhere", "spec": spec, "model": model,
                     "generator": "oneshot", "temperature": temperature, "seed": seed, "sample": sample,
                     "status": status, "generation": 0, "parent_trial_id": None,
                     "pass_rate": (1.0 if ok else 0.4) if status == "scored" else None,
                     "passed_all": ok if status == "scored" else None,
                     "cost_usd": None if model == "m-two" else 0.01, "prompt_tokens": 100, "completion_tokens": 50})
    rows.append({**rows[0], "trial_id": "lost", "spec": "gamma", "status": "infra_error"})
    return pd.DataFrame(rows)


def test_results_notebook_opens_any_experiment(tmp_path):
    results = elsewhere_results()
    results.to_parquet(tmp_path / "results.parquet")
    nb = run_notebook("results", tmp_path)
    text = printed(nb)
    assert f"{tmp_path / 'results.parquet'}: 97 trials, " in text
    assert images(nb) == 3  # pass rate against temperature, pass@k curves (samples > 0), cost against success
    assert "no pass@k curves" not in text
    headline, statuses, cells, *_, planner = html_tables(nb)
    assert "gamma" in headline and "gamma" in statuses  # listed, with its one excluded trial...
    assert "gamma" not in cells  # ...but it has no counted trial: no cell
    for spec in ("alpha", "beta-spec"):
        assert spec in cells and spec in planner


@pytest.fixture(scope="session")
def chain_sweep(tmp_path_factory) -> Path:
    """Two bootstrap chains of depth 2 of the tiny agent spec with the synthetic model; returns runs/paper."""
    runs = tmp_path_factory.mktemp("chain-runs")  # in-process: the notebooks read tables, not the command line
    with mock.patch.dict(os.environ, {"OPENAI_API_KEY": PLANTED_KEY}):
        sweep("experiment=paper", f"runs_dir={runs}", f"specs_dir={ROOT / 'tests' / 'fixtures'}",
              "spec.name=tiny-agent", "generator.depth=2", "seed=0,1")
    build_tables(runs / "paper")
    return runs / "paper"


def run_notebook(name: str, run_dir: Path) -> nbformat.NotebookNode:
    """Execute notebooks/<name>.ipynb against run_dir's tables, the way harness-report does; no cell may raise."""
    nb = execute(name, run_dir / "results.parquet", run_dir / "tests.parquet", timeout=120)
    assert errors(nb) == []
    return nb


def html_tables(nb: nbformat.NotebookNode) -> list[str]:
    return [out["data"]["text/html"] for out in outputs(nb) if "<table" in out.get("data", {}).get("text/html", "")]


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for out in outputs(nb))


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in outputs(nb) if out.output_type == "stream")


def test_spec_notebook_runs_on_demo_sweep(demo_sweep, demo_results):
    nb = run_notebook("spec", demo_sweep)
    assert str(demo_sweep / "results.parquet") in printed(nb) and str(demo_sweep / "tests.parquet") in printed(nb)
    rates = test_failure_rates(demo_results, pd.read_parquet(demo_sweep / "tests.parquet"))
    failing_specs = sorted(rates.loc[rates["failures"] > 0, "spec"].unique())
    assert failing_specs and images(nb) == len(failing_specs)  # one heatmap per spec with a failed test
    tables = "".join(html_tables(nb))
    for spec, rows in rates.groupby("spec"):
        assert f"spec {spec}" in printed(nb)
        module = rows["test_id"].iloc[0].split("::")[0]  # the suite module of the spec's most-failed test
        assert module in tables
    # the demo's suites name no clause: one row per suite module, and its section
    per_clause = next(t for t in html_tables(nb) if ">section</th>" in t)
    assert ">clause</th>" in per_clause and ">section</th>" in per_clause and ">unit</th>" not in per_clause
    why = failure_messages(demo_results, pd.read_parquet(demo_sweep / "tests.parquet"))
    for spec, rows in why.groupby("spec"):  # why the tests failed: each spec's most common message, escaped
        assert f"spec {spec}: {len(rows)} distinct messages over {rows['failures'].sum()} test failures" in printed(nb)
        assert html.escape(one_line(rows["message"].iloc[0], 200)).replace("&#x27;", "&#39;") in tables


def test_bootstrap_notebook_runs_on_real_chains(chain_sweep):
    results = pd.read_parquet(chain_sweep / "results.parquet")
    # How far each chain gets depends on the mutants the synthetic model draws; two chains always reach generation 1.
    generations = sorted(results["generation"].unique())
    assert generations[:2] == [0, 1] and generations[-1] <= 2 and len(chains(results)) == 2
    nb = run_notebook("bootstrap", chain_sweep)
    assert f"{chain_sweep / 'results.parquet'}: {len(results)} trials in 2 chains" in printed(nb)
    assert images(nb) == 3  # reproduction, survival, size and pass rate per generation
    survival = survival_by_generation(results)
    assert len(survival) == len(generations) and (survival["chains"] == 2).all()
    tables = html_tables(nb)
    assert "reproduced" in tables[0] and "survivors" in tables[1] and "impl_lines_mean" in tables[2]
    assert ">ended</th>" in tables[2]


def dead_chain_results() -> pd.DataFrame:
    """Three chains of depth 3 on seeds 0-2: seed 0's dies at generation 1 (no code), the other two live."""
    rows = []
    for seed in range(3):
        for g in range(2 if seed == 0 else 4):
            dead = seed == 0 and g == 1
            rows.append({"trial_id": f"s{seed}g{g}", "parent_trial_id": f"s{seed}g{g - 1}" if g else None,
                         "experiment": "paper", "spec": "agent-spec", "model": "m", "generator": "chain:agent",
                         "temperature": 0.0, "seed": seed, "sample": 0, "generation": g,
                         "status": "no_code" if dead else "scored", "pass_rate": None if dead else 1.0,
                         "passed_all": None if dead else True, "cost_usd": 0.01, "prompt_tokens": 1,
                         "completion_tokens": 1, "impl_lines": None if dead else 100, "model_calls": 1,
                         "cache_hits": 0, "chain_model": "m"})
    return pd.DataFrame(rows)


def test_bootstrap_counts_a_dead_chain_at_every_generation_it_never_reached(tmp_path):
    dead_chain_results().to_parquet(tmp_path / "results.parquet")
    nb = run_notebook("bootstrap", tmp_path)
    survival, per_generation = html_tables(nb)[1:3]
    # Generations 2 and 3: the dead chain counts as failing, as on the survival curve; not 1.00 from 2 trials.
    assert per_generation.count("0.67 [") >= 2 and ">1.00 [" not in per_generation.split(">2</td>")[-1]
    assert survival.count("0.67 [") == 3
    text = "".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "nothing here is conditioned on survival" in text


def test_a_report_on_chains_that_all_ended_at_generation_0_has_every_page_and_no_cell_error(tmp_path):
    """As every chain on SmolLM2 does: generation 0 answered in text, so no trial was scored and no test ran.
    The report left the bootstrap page out (it looked for a generation past 0), and its spec page raised
    IndexError in two cells (a per-test table of no rows)."""
    row = dead_chain_results().iloc[0].to_dict() | {"status": "no_tool_calls", "pass_rate": 0.0, "passed_all": False,
                                                    "impl_lines": 0}
    pd.DataFrame([row]).to_parquet(tmp_path / "results.parquet")
    pd.DataFrame({column: pd.Series(dtype=object) for column in
                  ("trial_id", "test_id", "clause", "outcome", "seconds", "message")}).to_parquet(
        tmp_path / "tests.parquet")
    proc = report_on(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cell error" not in proc.stdout and (tmp_path / "report" / "bootstrap.html").is_file()
    for name in ("results", "bootstrap", "spec"):
        assert errors(nbformat.read(tmp_path / "report" / f"{name}.ipynb", as_version=4)) == [], name


def test_a_notebook_opened_on_a_missing_table_says_which_command_writes_it(tmp_path, monkeypatch):
    # As "Run all" in Jupyter: the first error stops the notebook (harness-report refuses before running it).
    monkeypatch.setenv("HARNESS_EQUIVALENCE", str(tmp_path / "equivalence.parquet"))
    nb = nbformat.read(ROOT / "notebooks" / "generations.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with pytest.raises(CellExecutionError):
        client.execute()
    failed = [out for out in outputs(nb) if out.output_type == "error"]
    assert len(failed) == 1 and failed[0].ename == "NothingToShow"
    assert failed[0].traceback == [failed[0].evalue]  # one line, no traceback
    assert f"`harness-equivalence {tmp_path}` writes it" in failed[0].evalue and "pyarrow" not in str(failed[0])


EXTERNAL = re.compile(r"""<script[^>]*\ssrc=|<link[^>]*href=["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//""",
                      re.IGNORECASE)


@pytest.mark.parametrize("sweep", ["demo_sweep", "chain_sweep"])
def test_harness_report_writes_a_self_contained_report_that_reads_well_in_a_browser(sweep, request, tmp_path):
    run_dir = request.getfixturevalue(sweep)
    (run_dir / "report").mkdir(exist_ok=True)  # a page an earlier report left, whose notebook this one does not run
    (run_dir / "report" / "generations.html").write_text("<html>stale</html>")
    proc = report_on(run_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""  # no kernel warnings on the console
    assert f"removed {run_dir / 'report' / 'generations.html'} (stale" in proc.stdout
    report = run_dir / "report"
    pages = ["results", "bootstrap", "spec"] if sweep == "chain_sweep" else ["results", "spec"]
    assert sorted(p.name for p in report.iterdir()) == sorted([f"{p}.{ext}" for p in pages for ext in ("html", "ipynb")]
                                                              + ["index.html", "trials"])
    assert (report / "trials" / "index.html").is_file()  # the viewer the headline's trial counts link to
    index = (report / "index.html").read_text()
    assert all(f'href="{p}.html"' in index for p in pages) and 'href="generations.html"' not in index
    assert 'results.html">results</a>: Pass rate per cell</figcaption>' in index  # not "against temperature"
    assert index.index("<h2>Headline") < index.index("data:image/png;base64,") < index.index("<h2>Notebooks")
    for page in pages + ["index"]:
        text = (report / f"{page}.html").read_text()
        assert not EXTERNAL.search(text), f"{page}.html loads something from the network"
        assert "https://cdn" not in text  # no CDN, not even for scripts loaded lazily
        assert "data:image/png;base64," in text
        if page != "index":
            assert str(run_dir / "results.parquet") in text  # the notebook read this experiment's table
            assert f"<strong>Experiment <code>{run_dir.name}</code></strong>: this page read <code>{run_dir}</code>" \
                in text  # said first, whatever the notebook's own text says of defaults
            assert "by default it reads the offline demo" not in text
            assert '<details class="code">' in text and "In&nbsp;[" not in text  # code folded, no prompts
    if shutil.which("chromium") is None:
        pytest.skip("no chromium to open the pages in")
    checks = check_pages([report / f"{page}.html" for page in pages + ["index"]], shots=tmp_path)
    assert [(c.url, c.problems) for c in checks if c.problems] == []  # no page error, nothing off the page


def report_on(run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from harness.report.notebooks import main; main()", str(run_dir),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_report_of_some_notebooks_keeps_the_other_pages_and_rebuilds_the_front_page(demo_sweep, tmp_path):
    run_dir = tmp_path / "demo"
    run_dir.mkdir()
    for table in ("results.parquet", "tests.parquet"):
        shutil.copy(demo_sweep / table, run_dir / table)
    refused = report_on(run_dir, "--notebooks", "generations")  # no equivalence table: nothing to run it on
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1].startswith("harness-report: error: ")
    assert f"`harness-equivalence {run_dir}` writes them" in refused.stderr and not (run_dir / "report").exists()
    assert report_on(run_dir, "--notebooks", "results").returncode == 0
    kept = (run_dir / "report" / "results.html").read_bytes()
    proc = report_on(run_dir, "--notebooks", "spec")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run_dir / "report" / "results.html").read_bytes() == kept  # not rewritten, not removed
    index = (run_dir / "report" / "index.html").read_text()
    assert 'href="results.html"' in index and 'href="spec.html"' in index  # both pages, neither orphaned
    assert 'results</a>: Pass rate per cell' in index and 'spec</a>: Failures by clause' in index  # both figures
