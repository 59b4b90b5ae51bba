"""The spec ladder's page: the texts the sizes are measured on, and pass rate against spec size per model.

The statistics are harness.analysis.ladder's; this module reads the spec texts a table's trials were given,
collects their suites for the tests and clauses they check, and draws `ladder_table` (notebooks/ladder.ipynb, which `harness-report` runs when a table holds three specs or more).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from harness.errors import ConfigError
from harness.report.figures import label, varying
from harness.scoring.expected import collect
from harness.specs.loading import load_spec, sha256_text

AXES = {"words": "words of the spec's text (log scale)",
        "clauses": "clauses its suite checks (tests where none is named; log scale)"}


def spec_texts(results: pd.DataFrame, specs_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The text of each spec the table's trials were given (our spec.md), and a note for each spec left out: one
    given another text, missing from `specs_dir`, or whose spec.md has changed since its trials ran (its sha256
    is not theirs), since its size would then not be the size they were judged on."""
    texts, notes = {}, []
    for spec, rows in results.groupby("spec"):
        given = set(rows["spec_text"].fillna("ours")) if "spec_text" in rows else {"ours"}
        path = Path(specs_dir) / str(spec) / "spec.md"
        if given != {"ours"}:
            notes.append(f"{spec}: trials given text(s) {sorted(given)}; only spec.md is measured")
        elif not path.is_file():
            notes.append(f"{spec}: no {path}")
        elif set(rows["spec_sha256"]) != {sha256_text(text := path.read_text(encoding="utf-8"))}:
            notes.append(f"{spec}: {path} is not the text its trials were given (sha256 differs)")
        else:
            texts[str(spec)] = text
    return texts, notes


def suite_sizes(results: pd.DataFrame, specs: Iterable[str], specs_dir: Path) -> tuple[dict[str, tuple[int, int]],
                                                                                    list[str]]:
    """Each spec's suite as pytest collects it from `specs_dir` (harness-clauses' collection): its tests and its
    clauses (its tests where none is named), when it is the suite the table's trials were judged by (its sha256
    is theirs); a note for each spec whose suite is not, whose size then comes from its trials."""
    sizes, notes = {}, []
    for name in specs:
        rows = results[results["spec"] == name]
        try:
            spec = load_spec(Path(specs_dir), name)
            if "suite_sha256" in rows and set(rows["suite_sha256"]) != {spec.suite_sha256}:
                notes.append(f"{name}: its suite in {specs_dir} is not the one its trials were judged by; tests "
                             "counted from the trials")
                continue
            listed = collect(spec)
        except ConfigError as exc:  # a SpecError too: a manifest or suite that does not load
            notes.append(f"{name}: its suite could not be collected ({exc}); tests counted from the trials")
            continue
        named = {t["clause"] for t in listed if t["clause"]}
        sizes[name] = (len(listed), len(named) or len(listed))
    return sizes, notes


def ladder_figure(table: pd.DataFrame, title: str) -> Figure:
    """Two panels sharing the y axis, spec size in words and in clauses: per condition (`varying`: the model,
    and whatever else varies), the share of trials passing every test at each rung, with its 95 % interval
    clustered by seed (hollow below 5 seeds), and the mean fraction of tests passed (crosses, dashed).

    `table` is `harness.analysis.ladder.ladder_table(...)`: one row per spec and condition."""
    shown = [k for k in varying(table) if k != "spec"]
    groups = list(table.groupby(shown, sort=True, dropna=False))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for ax, size in zip(axes, AXES):
        for i, (key, rows) in enumerate(groups):
            rows = rows.sort_values(size)
            x = rows[size].to_numpy(dtype=float) * (1 + 0.02 * (i - (len(groups) - 1) / 2))  # bars side by side
            low = (rows["passed_all"] - rows["passed_all_low"]).fillna(0).to_numpy()
            high = (rows["passed_all_high"] - rows["passed_all"]).fillna(0).to_numpy()
            bars = ax.errorbar(x, rows["passed_all"], yerr=[low, high], capsize=3, marker="o", label=label(shown, key))
            colour, few = bars[0].get_color(), rows["few_seeds"].astype(bool).to_numpy()
            ax.scatter(x[few], rows["passed_all"].to_numpy()[few], facecolors="white", edgecolors=colour, zorder=3)
            ax.plot(x, rows["pass_rate"], linestyle="--", marker="x", color=colour)
        ax.set_xscale("log")
        ax.minorticks_off()
        ticks = size_ticks(table, size)
        ax.set_xticks([x for x, _ in ticks], [name for _, name in ticks], fontsize="small")
        sizes = table[size].to_numpy(dtype=float)
        ax.set_xlim(sizes.min() / 1.4, sizes.max() * 1.4)
        ax.set_xlabel(AXES[size])
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("share of trials passing every test (0-1)")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", title="condition")
    fig.suptitle(title + "\n(dots: share passing every test, 95 % interval clustered by seed, hollow below 5 seeds;"
                 " crosses: mean fraction of tests passed)", fontsize="medium")
    fig.tight_layout()
    return fig


def size_ticks(table: pd.DataFrame, size: str, apart: float = 1.25) -> list[tuple[float, str]]:
    """One tick per rung, labelled with its spec and size; rungs closer than a factor `apart` share a tick (at
    their geometric mean), their labels one under the other, so that none overwrite another."""
    rungs = table.drop_duplicates("spec").sort_values([size, "spec"])
    groups: list[list[tuple[str, float]]] = []
    for spec, value in zip(rungs["spec"], rungs[size].astype(float)):
        if groups and value <= groups[-1][0][1] * apart:
            groups[-1].append((str(spec), value))
        else:
            groups.append([(str(spec), value)])
    return [(float(np.exp(np.mean(np.log([v for _, v in g])))), "\n".join(f"{s}\n{v:g}" for s, v in g))
            for g in groups]


def rungs(table: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader scans, per rung and condition (for `harness.report.formatting.readable`, which puts
    each rate and its interval in one cell): size, trials, seeds, and both rates."""
    shown = [k for k in varying(table) if k != "spec"]
    rates = [f"{r}{s}" for r in ("passed_all", "pass_rate") for s in ("", "_low", "_high")]
    return table[["spec", *shown, "words", "clauses", "n", "seeds", "few_seeds", *rates]]
