from __future__ import annotations

import re

import pytest

from harness.scoring.killrate import main
from tests.conftest import make_spec

# `unused = 0` can be deleted or bumped without any test noticing: two equivalent mutants.
REFERENCE = "def add(a, b):\n    unused = 0\n    return a + b\n"


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_counts_killed_and_lists_survivors(tmp_path, capsys, jobs):
    make_spec(tmp_path / "specs", reference=REFERENCE)
    main(["adder", "--specs-dir", str(tmp_path / "specs"), "--jobs", jobs])
    out, err = capsys.readouterr()
    # mutants: delete `unused = 0`, bump it, drop the return value, swap + for -; the last two are killed.
    assert out.splitlines()[0] == "adder: 2/4 mutants killed (50.0%)"
    assert "survived: adder.py:2:delete_statement" in out and "survived: adder.py:2:bump_constant" in out
    assert re.fullmatch(r"scored 4 mutants in \d+\.\d s", out.splitlines()[-1]), out
    # progress, one line a mutant as it is scored, on stderr
    progress = err.splitlines()
    assert sorted(line.split(" ")[0] for line in progress) == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], err
    assert sum(": killed (" in line for line in progress) == 2 and sum(": survived (" in line for line in progress) == 2


def test_the_blast_radius_names_what_a_wide_mutant_broke_and_why(tmp_path, capsys):
    make_spec(tmp_path / "specs", reference=REFERENCE)
    main(["adder", "--specs-dir", str(tmp_path / "specs"), "--blast-radius"])
    out = capsys.readouterr().out
    # both killed mutants are wide (2 and 3 of 3 tests); each is followed by its first failing test and why
    lines = out.splitlines()
    wide = [i for i, line in enumerate(lines) if line.startswith("  wide: ")]
    assert len(wide) == 2 and all(lines[i + 1].startswith("    first: test_adder::test_small: ") for i in wide)
    assert "assert None == 5" in lines[wide[0] + 1] and "assert -1 == 5" in lines[wide[1] + 1]
