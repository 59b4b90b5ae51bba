from __future__ import annotations

import ast

from harness.models.synthetic.mutate import mutants

SOURCE = '''def clamp(x, low, high):
    """Keep x in [low, high]."""
    if x < low:
        return low
    total = x + 0
    return min(total, high)  # é: non-ASCII in a comment must not shift positions
'''


def test_every_mutant_compiles_differs_and_changes_one_place():
    found = list(mutants("m.py", SOURCE))
    assert len(found) >= 6
    for m in found:
        ast.parse(m.source)
        assert m.source != SOURCE
        changed = [a for a, b in zip(SOURCE.splitlines(), m.source.splitlines()) if a != b]
        assert len(changed) == 1, m.label
        assert "# é" in m.source  # splicing kept the rest of the file


def test_operators_cover_the_expected_changes():
    sources = {m.operator: m.source for m in mutants("m.py", SOURCE)}
    assert "if x <= low:" in sources["swap_operator"] or "x - 0" in sources["swap_operator"]
    assert "return None" in sources["drop_return_value"]
    assert "not" in sources["negate_condition"]
    assert {"swap_operator", "bump_constant", "negate_condition", "drop_return_value", "delete_statement"} <= set(
        sources)


def test_order_is_stable():
    assert [m.label for m in mutants("m.py", SOURCE)] == [m.label for m in mutants("m.py", SOURCE)]


def test_docstrings_are_not_deleted():
    assert all('"""Keep x in [low, high]."""' in m.source for m in mutants("m.py", SOURCE))
