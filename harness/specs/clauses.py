"""A spec's clause table: which clause each test of its suite checks, and which texts state that clause.

    harness-clauses minimal-coding-agent        # the markdown table kept in the spec folder's README

Suites mark each test with `@pytest.mark.clause(id, *texts, what=...)` (see the minimal-coding-agent suite's
clauses.py). The table is read from the suite itself, by pytest's collection with our plugin, so it cannot drift
from the tests; a test checks that the README holds the current table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from harness.config.schema import PROJECT_ROOT
from harness.errors import SpecError, command
from harness.scoring.rooms import IMPL_ROOM_FILES, PYTEST_INI, SUITE_ROOM_FILES
from harness.specs.loading import Spec, load_spec


@dataclass(frozen=True)
class Clause:
    id: str
    texts: tuple[str, ...]
    what: str
    tests: tuple[str, ...]  # test function names (a parametrised test once), in suite order
    count: int  # collected tests, parameters counted


def collect(spec: Spec) -> list[dict]:
    """Every test of the spec's suite with its clause id, texts and description, as our plugin lists them.

    Collection imports our own suite; a suite that imports the implementation when it is collected (`from
    fizzbuzz import fizzbuzz`) reaches it through the implementation's room, as when it is scored, so the spec's
    own reference is served by our room server beside it. The reference is the spec's, not code under test: it
    runs unsandboxed, as the reference's own tests run it."""
    with tempfile.TemporaryDirectory(prefix="harness-clauses-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text(PYTEST_INI)
        for name, source in {**SUITE_ROOM_FILES, **IMPL_ROOM_FILES}.items():
            shutil.copy(source, work / name)
        door = work / "room.sock"
        room = subprocess.Popen([sys.executable, "-S", str(work / "harness_room_server.py"), str(door),
                                 str(spec.reference_dir), *(a for f in site.getsitepackages() for a in ("--site", f))],
                                cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            return _listed(spec, work, door)
        finally:
            room.kill()
            room.wait()


def _listed(spec: Spec, work: Path, door: Path) -> list[dict]:
    """pytest's collection of the suite in `work`, reaching the room on `door`, as our plugin lists it."""
    listing = work / "tests.json"
    argv = [sys.executable, "-m", "pytest", str(spec.suite_dir), "--collect-only", "-q", "-p", "no:cacheprovider",
            "-p", "harness_report", "-c", str(work / "pytest.ini"), "--rootdir", str(spec.suite_dir),
            "--harness-list", str(listing)]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "HARNESS_IMPL_DIR": str(spec.reference_dir),
           "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1", "HARNESS_ROOM": str(door)}
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not listing.exists():
        raise SpecError(f"spec '{spec.name}': its suite did not collect: {(done.stdout + done.stderr)[-500:]}")
    return json.loads(listing.read_text(encoding="utf-8"))


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
