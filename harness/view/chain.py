"""A chain trial's place on its page: its parent and children, the code it changed from its parent, and where
`harness-equivalence` has run (equivalence.parquet), the first behaviour in which it differs from its parent.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from harness.sandbox.untrusted import Tree, TreeCaps, read_tree
from harness.view.markup import esc, link, page_name, table

# An implementation folder is read as an untrusted tree (no link followed), within these caps.
IMPL_CAPS = TreeCaps(entries=500, depth=16, bytes=8 * 1024 * 1024)
DIFF_LINES = 3000  # of a code diff, at most; the rest is counted
EQUIVALENCE_SHOWN = ["behaviour_class", "class_size", "same_as_parent", "fixpoint_generation",
                     "similarity_to_parent", "scenarios", "battery_seed"]


@dataclass(frozen=True)
class Kin:
    """A trial's parent and children in its chain: (trial id, generation, status) each."""

    parent: Optional[tuple[str, int, str]]
    children: tuple[tuple[str, int, str], ...]


def implementation(folder: Path) -> Tree:
    """A trial's implementation files (its `impl/` folder), read as an untrusted tree."""
    if not folder.is_dir():
        return Tree({}, ())
    return read_tree(folder, IMPL_CAPS)


def code_diff(parent: dict[str, str], child: dict[str, str]) -> str:
    """A unified diff of every file from the parent's implementation to the child's; "" when they are equal."""
    lines: list[str] = []
    for name in sorted(set(parent) | set(child)):
        before, after = parent.get(name), child.get(name)
        if before == after:
            continue
        lines += difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                      f"parent/{name}" if before is not None else "/dev/null",
                                      f"child/{name}" if after is not None else "/dev/null", lineterm="")
    if len(lines) > DIFF_LINES:
        lines = lines[:DIFF_LINES] + [f"[... {len(lines) - DIFF_LINES} more lines of diff]"]
    return "\n".join(lines)


def render_diff(diff: str) -> str:
    """The diff with added, removed and hunk lines marked for colour; every line escaped."""
    def line(text: str) -> str:
        cls = ("hunk" if text.startswith("@@") else "add" if text.startswith("+") and not text.startswith("+++")
               else "del" if text.startswith("-") and not text.startswith("---") else "")
        return f'<span class="{cls}">{esc(text)}</span>' if cls else esc(text) + "\n"
    return f'<pre class="diff">{"".join(line(t) for t in diff.splitlines())}</pre>'


def kin_of(results: pd.DataFrame) -> dict[str, Kin]:
    """Every chain trial's parent and children, from the results table (trials outside chains are left out)."""
    if "parent_trial_id" not in results:
        return {}
    rows = {t: (t, int(g), str(s)) for t, g, s in zip(results["trial_id"], results["generation"], results["status"])}
    parents = {t: p for t, p in zip(results["trial_id"], results["parent_trial_id"]) if isinstance(p, str) and p}
    children: dict[str, list] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(rows[child])
    return {t: Kin(rows.get(parents[t], (parents[t], -1, "not in the table")) if t in parents else None,
                   tuple(sorted(children.get(t, ()), key=lambda r: (r[1], r[0]))))
            for t in rows if t in parents or t in children}


def render_chain(kin: Kin, diff: Optional[str], equivalence: Optional[dict]) -> str:
    """The chain section of a trial page (markup): kin as links, the divergence from the parent, the diff."""
    rows = []
    if kin.parent:
        rows.append(("parent", _trial_link(kin.parent)))
    rows += [("child", _trial_link(child)) for child in kin.children]
    out = table(["", "trial"], rows, raw=(1,))
    if equivalence is None:
        out += ('<p class="note">No behavioural comparison: run <code>harness-equivalence runs/&lt;experiment&gt;'
                '</code>, then <code>harness-view</code> again.</p>')
    else:
        out += _divergence(equivalence)
    if diff is not None:
        out += "<h3>Code changed from the parent</h3>" + (render_diff(diff) if diff else
                                                           '<p class="note">The same files as the parent.</p>')
    return out


def _trial_link(kin: tuple[str, int, str]) -> str:
    tid, generation, status = kin
    text = f"{tid} (generation {generation}, {status})" if generation >= 0 else f"{tid} ({status})"
    return link(f"{page_name(tid)}.html", text)


def _divergence(row: dict) -> str:
    shown = [(c, _value(row.get(c))) for c in EQUIVALENCE_SHOWN if c in row]
    out = "<h3>Behaviour (harness-equivalence)</h3>" + table(["", "value"], shown)
    for column, other in (("divergence_from_parent", "parent"), ("first_divergence", "reference")):
        text, title = row.get(column), f"First divergence from the {other}"
        if isinstance(text, str) and text:
            parts = text.split(" | ", 3)  # "scenario | step | the other's | this trial's" (harness-equivalence)
            if len(parts) == 4:
                out += f"<h3>{esc(title)}</h3>" + table(["scenario", "step", other, "this trial"], [parts])
            else:
                out += f"<h3>{esc(title)}</h3>" + f"<pre>{esc(text)}</pre>"
        elif column == "divergence_from_parent" and row.get("same_as_parent") is True:
            out += '<p class="note">Behaves as its parent over the whole battery.</p>'
    return out


def _value(value: object) -> object:
    """A table value as read: missing as `-`, a whole float (a generation parquet stored as float) as an int."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return int(value) if isinstance(value, float) and value.is_integer() else value
