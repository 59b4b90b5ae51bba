"""The report folder's notebook pages: each page (`<name>.html`) is written with the notebook it was made from, as
executed (`<name>.ipynb`, which Jupyter opens with its outputs), so that a report of some notebooks
(`harness-report --notebooks ...`) rebuilds the front page from every page present without running the others,
and a full report removes the pages of notebooks it no longer runs. Files of other names are never touched."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import nbformat


def save(out: Path, name: str, nb: nbformat.NotebookNode, page: str) -> Path:
    """Write `<name>.html` and the executed `<name>.ipynb` into the report folder `out`; the page's path."""
    nbformat.write(nb, out / f"{name}.ipynb")
    path = out / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    return path


def executed(out: Path, names: Iterable[str]) -> dict[str, nbformat.NotebookNode]:
    """The executed notebooks of `names` whose page and notebook are both in `out`, in the order of `names`
    (a page left by a report from before pages kept their notebook has no figures to give the front page)."""
    return {name: nbformat.read(out / f"{name}.ipynb", as_version=4) for name in names
            if (out / f"{name}.ipynb").is_file() and (out / f"{name}.html").is_file()}


def remove_stale(out: Path, known: Iterable[str], kept: Iterable[str]) -> list[Path]:
    """Remove the page and executed notebook of every notebook in `known` but not in `kept`; the paths removed."""
    removed = []
    for name in sorted(set(known) - set(kept)):
        for path in (out / f"{name}.html", out / f"{name}.ipynb"):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed
