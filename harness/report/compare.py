"""Two experiments side by side: `harness-compare runs/a runs/b` prints one headline with both experiments' cells
aligned, and for each the difference b-a with its 95 % interval (harness.analysis.difference).

Cells are the headline's (spec × text × model × generator × generation, temperatures pooled). They are aligned
on every key both experiments share; a key that takes one value in each experiment, different values, and is
one an experiment varies (the model, the generator, the text) is what the comparison is about: it is left out
of the alignment and named above the table (`model: a synthetic, b synthetic-sloppy`). A cell found in one
experiment only is listed with `-` on the other side.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

import pandas as pd

from harness.analysis.cells import cell_keys, counted_trials
from harness.analysis.difference import Difference, difference_interval, excludes_zero
from harness.errors import ConfigError, command
from harness.records.tables import results_table
from harness.report.headline import BY
from harness.view.markup import esc, page, table

ALIGNABLE = ("model", "generator", "spec_text", "selection")  # what two experiments may differ in on purpose
RATES = {"passed_all": "all pass", "pass_rate": "pass rate"}


def compare(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """The aligned cells of two results tables and what tells the experiments apart ({key: (a's, b's)}).

    One row per cell: its aligned keys, n_a and n_b (counted trials), then for each of passed_all and pass_rate
    `<rate>_a`, `<rate>_b`, `<rate>_diff` (b - a), `<rate>_low`, `<rate>_high` (its 95 % interval, NaN with
    fewer than two seeds on a side or a cell missing from one side)."""
    counted = {"a": counted_trials(a), "b": counted_trials(b)}
    keys = cell_keys(BY)
    apart = {k: (str(counted["a"][k].iloc[0]), str(counted["b"][k].iloc[0])) for k in ALIGNABLE
             if all(len(c) and c[k].astype(str).nunique() == 1 for c in counted.values())
             and counted["a"][k].astype(str).iloc[0] != counted["b"][k].astype(str).iloc[0]}
    aligned = [k for k in keys if k not in apart]
    groups = {side: dict(list(c.groupby(aligned, sort=True, dropna=False))) for side, c in counted.items()}
    rows = []
    for key in sorted(set(groups["a"]) | set(groups["b"]), key=lambda k: tuple(map(str, k))):
        cell_a, cell_b = groups["a"].get(key), groups["b"].get(key)
        row = {**dict(zip(aligned, key)), "n_a": 0 if cell_a is None else len(cell_a),
               "n_b": 0 if cell_b is None else len(cell_b)}
        for rate in RATES:
            diff = _difference(cell_a, cell_b, rate)
            row.update({f"{rate}_a": diff.a, f"{rate}_b": diff.b, f"{rate}_diff": diff.difference,
                        f"{rate}_low": diff.low, f"{rate}_high": diff.high})
        rows.append(row)
    return pd.DataFrame(rows), apart


def _difference(cell_a: Optional[pd.DataFrame], cell_b: Optional[pd.DataFrame], rate: str) -> Difference:
    if cell_a is None or cell_b is None:
        mean = lambda cell: float("nan") if cell is None else float(cell[rate].astype(float).mean())  # noqa: E731
        return Difference(mean(cell_a), mean(cell_b), float("nan"), float("nan"), float("nan"))
    return difference_interval(cell_a[rate].astype(float), cell_a["seed"], cell_b[rate].astype(float), cell_b["seed"])


def compare_view(rows: pd.DataFrame) -> pd.DataFrame:
    """The comparison as short strings, a and b for the two experiments: each side's rate, then `b-a` as
    `-0.27 [-0.49, +0.01]`, marked `*` when the interval excludes 0; the cell keys with one value in every row
    but the spec are left out (`summary_lines` names them)."""
    view = pd.DataFrame({k: rows[k].astype(str) for k in rows.columns if k in cell_keys(BY)})
    view["trials a"], view["trials b"] = rows["n_a"].astype(str), rows["n_b"].astype(str)
    for rate, title in RATES.items():
        view[f"{title} a"] = [_rate(v) for v in rows[f"{rate}_a"]]
        view[f"{title} b"] = [_rate(v) for v in rows[f"{rate}_b"]]
        view[f"{title} b-a"] = [_diff(d, lo, hi) for d, lo, hi in
                                zip(rows[f"{rate}_diff"], rows[f"{rate}_low"], rows[f"{rate}_high"])]
    return view.drop(columns=_shared(rows))


def _shared(rows: pd.DataFrame) -> list[str]:
    """The cell keys with one value in every row, the spec aside (named above the table instead)."""
    return [k for k in cell_keys(BY) if k in rows and k != "spec" and rows[k].astype(str).nunique() == 1]


def _rate(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f}"


def _diff(d: float, low: float, high: float) -> str:
    if pd.isna(d):
        return "-"
    if pd.isna(low):
        return f"{d:+.2f} (one seed: no interval)"
    return f"{d:+.2f} [{low:+.2f}, {high:+.2f}]" + (" *" if excludes_zero(Difference(0, 0, d, low, high)) else "")


def summary_lines(rows: pd.DataFrame, apart: dict, names: tuple[str, str]) -> list[str]:
    """Which experiment is a and which b, what tells them apart, what every row shares, how to read the marks."""
    a, b = names
    lines = [f"a: {a}, b: {b}; " + ("; ".join(f"{k}: a {x}, b {y}" for k, (x, y) in apart.items())
                                     or "cells aligned on every key")]
    shared = _shared(rows)
    if shared:
        lines.append("every row: " + ", ".join(f"{k} {rows[k].iloc[0]}" for k in shared))
    legend = ("all pass: share of trials passing every test; pass rate: mean fraction of tests passed; "
              "b-a: the difference with its 95 % interval (MOVER over the intervals clustered by seed, "
              "harness.analysis.difference); * the interval excludes 0; - no trial of that side in the cell")
    if "generation" in rows and (pd.to_numeric(rows["generation"], errors="coerce") > 0).any():
        legend += ("; a generation g > 0 holds only the chains that reached it (conditioned on surviving: a side "
                   "whose chains stopped earlier shows - there, and its rate there is over its survivors only)")
    return [*lines, legend]


@command("harness-compare")
def main(argv: Optional[list[str]] = None) -> None:
    """harness-compare runs/a runs/b [--html FILE]: two experiments' headlines aligned, with b - a per cell."""
    parser = argparse.ArgumentParser(prog="harness-compare", description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("a", type=Path, help="runs/<experiment>, the one compared against (before)")
    parser.add_argument("b", type=Path, help="runs/<experiment>, the one compared (after)")
    parser.add_argument("--html", type=Path, help="also write the comparison as a self-contained page here")
    args = parser.parse_args(argv)
    if args.html is not None and not args.html.parent.is_dir():
        raise ConfigError(f"--html {args.html}: no folder {args.html.parent} to write it in")
    # each rebuilt from its records when it cannot be read; a folder with neither is the user's one-line error
    tables = [results_table(run_dir) for run_dir in (args.a, args.b)]
    names = (args.a.resolve().name, args.b.resolve().name)
    if names[0] == names[1]:
        names = (str(args.a), str(args.b))
    rows, apart = compare(*tables)
    view, lines = compare_view(rows), summary_lines(rows, apart, names)
    print("\n".join(lines[:-1]))
    print(view.to_string(index=False))
    print(lines[-1])
    if args.html:
        body = "".join(f'<p class="meta">{esc(line)}</p>' for line in lines[:-1]) + table(view.columns, view.values)
        body += f'<p class="note">{esc(lines[-1])}</p>'
        args.html.write_text(page(f"{names[1]} against {names[0]}", body), encoding="utf-8")
        print(args.html)
