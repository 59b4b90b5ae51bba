"""A spec's clause table: which clause each test of its suite checks, and which texts state that clause.

    harness-clauses minimal-coding-agent        # the markdown table kept in the spec folder's README

Suites mark each test with `@pytest.mark.clause(id, *texts, what=...)` (see the minimal-coding-agent suite's
clauses.py). The table is read from the suite itself, by pytest's collection with our plugin, so it cannot drift
from the tests; a test checks that the README holds the current table.
"""

from __future__ import annotations

import argparse
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from harness.config.schema import PROJECT_ROOT
from harness.errors import command
from harness.scoring.expected import collect
from harness.specs.loading import load_spec


@dataclass(frozen=True)
class Clause:
    id: str
    texts: tuple[str, ...]
    what: str
    tests: tuple[str, ...]  # test function names (a parametrised test once), in suite order
    count: int  # collected tests, parameters counted


def clauses(tests: list[dict]) -> list[Clause]:
    """Group collected tests by clause, in the order clauses first appear; untagged tests under the id ''."""
    grouped: OrderedDict[str, list[dict]] = OrderedDict()
    for test in tests:
        grouped.setdefault(test["clause"], []).append(test)
    return [Clause(cid, tuple(group[0]["texts"]), group[0]["what"],
                   tuple(OrderedDict.fromkeys(t["function"] for t in group)), len(group))
            for cid, group in grouped.items()]


def table(found: list[Clause]) -> str:
    """The markdown clause table: paper clauses first, then ours only; one line per clause."""
    ordered = sorted(found, key=lambda c: ("paper" not in c.texts, c.id))
    lines = ["| clause | texts | tests | what it checks |", "|---|---|---|---|"]
    for c in ordered:
        names = ", ".join(f"`{name}`" for name in c.tests)
        lines.append(f"| `{c.id}` | {' + '.join(c.texts)} | {c.count}: {names} | {c.what} |")
    paper = sum(c.count for c in found if "paper" in c.texts)
    total = sum(c.count for c in found)
    lines.append("")
    lines.append(f"{len(found)} clauses, {total} tests: {paper} judge both texts (paper clauses), "
                 f"{total - paper} judge only ours.")
    return "\n".join(lines)


@command("harness-clauses")
def main(argv: list[str] | None = None) -> None:
    """harness-clauses <spec>: print the spec's clause table (markdown), read from its suite."""
    parser = argparse.ArgumentParser(prog="harness-clauses", description="Print a spec's clause table (markdown).")
    parser.add_argument("spec")
    parser.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    args = parser.parse_args(argv)
    print(table(clauses(collect(load_spec(args.specs_dir, args.spec)))))  # an unknown spec: one line, exit 2


if __name__ == "__main__":
    main()
