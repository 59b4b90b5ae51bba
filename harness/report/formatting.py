"""Tables as a reader wants them on a page: what the notebooks (and so the report) display. The numbers come
from harness.analysis.cells, harness.analysis.lineage and harness.report.headline; this only shapes them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

@dataclass(frozen=True)
class Shown:
    """A table shaped for reading (`data`, formatted by `styler`) and a note under it; notebooks display it."""
    data: pd.DataFrame
    styler: Styler
    note: str

    def _repr_html_(self) -> str:
        note = f'<p class="table-note">{html.escape(self.note)}</p>' if self.note else ""
        return self.styler.to_html() + note  # the note under the table, not a caption that would widen it

    def __repr__(self) -> str:
        return self.data.to_string(index=False) + (f"\n{self.note}" if self.note else "")


def readable(table: pd.DataFrame, digits: int = 3, labels: Iterable[str] = (), note: str = "") -> Shown:
    """`table` with its index as columns and no row numbers; spec_text and selection joined as `text`
    (`ours/all`); each estimate (a share or a mean fraction) with its interval in one cell, two decimals
    (`0.88 [0.34, 0.99]`: from `x_low`/`x_high`); `seeds` marked `few` below 5 (`few_seeds`); a spend marked
    `cached` where the cache served the calls (`spend`, from `cached_calls`); other numbers to `digits`
    significant digits.
    A label column (the index's levels, or `labels`) with one value in every row (a generator, a generation, a
    text) is named once in the note under it instead (after `note`): the table shows what tells its rows apart."""
    labels = [n for n in table.index.names if n is not None] or list(labels)
    rows = table.reset_index() if _named_index(table) else table.copy()
    if {"spec_text", "selection"} <= set(rows.columns):
        at = list(rows.columns).index("spec_text")
        text = rows["spec_text"].astype(str) + "/" + rows["selection"].astype(str)
        rows = rows.drop(columns=["spec_text", "selection"])
        rows.insert(at, "text", text)
        labels = [c for c in labels if c not in ("spec_text", "selection")] + ["text"]
    rows = _with_intervals(_with_cached_spend(rows))
    if {"seeds", "few_seeds"} <= set(rows.columns):
        rows["seeds"] = [s if pd.isna(s) else f"{int(s)}" + (" few" if f is True else "")
                         for s, f in zip(rows["seeds"], rows["few_seeds"])]
        rows = rows.drop(columns="few_seeds")
    shared = [c for c in labels if c in rows and len(rows) > 1 and rows[c].astype(str).nunique() == 1]
    if shared:
        note += (". " if note else "") + "Every row: " + ", ".join(
            f"{c} {_plain(rows[c].iloc[0], digits)}" for c in shared)
    rows = rows.drop(columns=shared)
    words = [c for c in rows.columns if (rows[c].dtype == object or pd.api.types.is_string_dtype(rows[c]))
             and c not in SPEND and not rows[c].astype(str).str[:1].str.isdigit().all()]  # `cached` is a spend
    # escaped: cells may hold text from the records (test ids, messages quoting what the code under test returned)
    styled = rows.style.hide(axis="index").format(lambda v: _plain(v, digits), na_rep="-", escape="html")
    styled = styled.set_properties(subset=words, **{"text-align": "left"})  # names read from the left
    styled = styled.set_table_styles([{"selector": f"th.col{list(rows.columns).index(c)}", "props": "text-align: left"}
                                      for c in words], overwrite=False)
    return Shown(rows, styled, note)


def _named_index(table: pd.DataFrame) -> bool:
    return any(name is not None for name in table.index.names)


def _with_intervals(rows: pd.DataFrame) -> pd.DataFrame:
    for column in list(rows.columns):
        bounds = (f"{column}_low", f"{column}_high")
        if not set(bounds) <= set(rows.columns):
            continue
        rows[column] = [with_interval(v, low, high) for v, low, high in
                        zip(rows[column], rows[bounds[0]], rows[bounds[1]])]
        rows = rows.drop(columns=list(bounds))
    return rows


SPEND = ("cost_usd", "cost_per_success", "usd_per_success", "spent_usd")


def spend(cost: float, cached: float, digits: int = 4) -> str:
    """A spend in US dollars as a reader should take it: `-` unknown; `cached` when every model call was served
    from the cache (an earlier trial paid, so 0 here is not free); `0.0445 (40 % cached)` when some were."""
    if pd.isna(cost):
        return "-"
    if not pd.isna(cached) and cached >= 1:
        return "cached"
    shown = f"{cost:.{digits}f}"
    return shown + (f" ({100 * cached:.0f} % cached)" if not pd.isna(cached) and cached > 0 else "")


def _with_cached_spend(rows: pd.DataFrame) -> pd.DataFrame:
    """Spend columns marked where the cache served calls (`spend`), and `cached_calls` dropped: said in them."""
    if "cached_calls" not in rows.columns:
        return rows
    cached = rows["cached_calls"]
    rows = rows.drop(columns="cached_calls")
    for column in [c for c in SPEND if c in rows.columns]:
        rows[column] = [spend(c, k) if k > 0 else c for c, k in zip(rows[column], cached.fillna(0))]
    return rows


def with_interval(value: float, low: float, high: float) -> str:
    """`0.88 [0.34, 0.99]`; `0.88` without an interval (one seed); `-` without an estimate."""
    if pd.isna(value):
        return "-"
    return f"{value:.2f}" + ("" if pd.isna(low) else f" [{low:.2f}, {high:.2f}]")


def _plain(value, digits: int) -> str:
    if isinstance(value, float):
        if pd.isna(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:.{digits}g}"  # 2,964, never 2.96e+03
    return str(value)
