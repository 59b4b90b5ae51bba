"""The viewer's pages are built from these few pieces. Everything a record holds is untrusted text (a test's
message quotes what the code under test returned; a transcript, what a model wrote), so every piece escapes
what it is given, and data for a script goes in as JSON that cannot close its script element.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any, Iterable, Sequence

CSS = """
body{font-family:sans-serif;max-width:80em;margin:1.2em auto;padding:0 1em;line-height:1.4;color:#222}
a{color:#0645ad}h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1em 0 .3em}nav{font-size:13px;margin-bottom:.6em}.meta,.note{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e4e4e4;padding:3px 8px;
text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f6f6f6;white-space:nowrap}
table.grid td{overflow-wrap:anywhere}
.box{overflow-x:auto;max-width:100%}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:6px 8px;margin:4px 0;font-size:12px;
white-space:pre-wrap;overflow-wrap:anywhere;max-height:40em;overflow-y:auto}
details>summary{cursor:pointer}.failure details>summary{font-family:monospace;font-size:12px}
.status{font-weight:bold;padding:1px 6px;border-radius:3px;background:#eee;white-space:nowrap}
.ok{color:#17612b;background:#e3f4e6}.bad{color:#8a1c1c;background:#fbe6e6}.excluded{color:#6b5a00;background:#fbf3d0}
.diff .add{background:#e6f6e6;display:block}.diff .del{background:#fbe9e9;display:block}
.diff .hunk{color:#6a3fa0;display:block}.msg{margin:6px 0 12px 0}
.role{font-weight:bold;font-size:12px;color:#555;margin-top:8px}.k{white-space:nowrap}
.failure{margin:4px 0 14px 0}ul.tests{margin:2px 0;padding-left:1.2em;font-size:13px;font-weight:bold}
.call{border-left:3px solid #c9d7f0;padding-left:10px;margin:14px 0}.divider{color:#8a5a00;margin:14px 0 4px}
"""


def esc(value: Any) -> str:
    """Text made safe to place in an element or an attribute (quotes escaped too); None reads as empty."""
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A whole page: its title, links back (href, label) and body; loads nothing from anywhere."""
    links = " · ".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in nav)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f'<style>{CSS}</style></head><body>' + (f"<nav>{links}</nav>" if links else "")
            + f"<h1>{esc(title)}</h1>{body}</body></html>\n")


def pre(text: str, cls: str = "") -> str:
    attribute = f' class="{esc(cls)}"' if cls else ""
    return f"<pre{attribute}>{esc(text)}</pre>"


def folded(summary: str, body: str, open_: bool = False) -> str:
    """`body` (markup) under a summary line (text) the reader clicks to unfold."""
    return f'<details{" open" if open_ else ""}><summary>{esc(summary)}</summary>{body}</details>'


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], raw: Sequence[int] = (), cls: str = "") -> str:
    """A table of text cells; the columns numbered in `raw` hold markup this module made (a link, a badge)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell if i in raw else esc(cell)}</td>" for i, cell in enumerate(row))
                   + "</tr>" for row in rows)
    attribute = f' class="{esc(cls)}"' if cls else ""
    return f'<div class="box"><table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # no dot: "x.transcript" must not name x's transcript


def page_name(trial_id: object) -> str:
    """The file name (without .html) of a trial's page: its id when the id is a plain name, as the harness makes
    them; else a hash of it, so that no id in a record can name a path or a URL scheme."""
    text = str(trial_id)
    return text if SAFE_NAME.fullmatch(text) else "trial-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def link(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def status_badge(status: str, passed_all: bool = False, counted: bool = True) -> str:
    cls = "excluded" if not counted else "ok" if passed_all else "bad"
    return f'<span class="status {cls}">{esc(status)}</span>'


def script_json(element_id: str, data: Any) -> str:
    """Data for the page's script, as JSON no text inside can end early: `<`, `>`, `&` and the two line
    separators JavaScript once refused are written as escapes."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def capped(text: str, limit: int, tail: bool = False) -> str:
    """`text` cut to `limit` characters (its end when `tail`), saying how much was left out."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    if tail:
        return f"[... {cut} characters before ...]\n" + text[-limit:]
    return text[:limit] + f"\n[... {cut} more characters]"
