"""First-order mutants of Python source, for the synthetic model.

A mutant changes one node of the syntax tree (an operator, a constant, a condition, a statement) and splices the
new node's text into the original source, so the rest of the file keeps its formatting and comments.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from harness.scoring import pyast

_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv,
    ast.And: ast.Or, ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    path: str  # file the mutant changes
    line: int
    operator: str
    source: str  # the whole mutated file

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line}:{self.operator}"


def _swap_op(node: ast.AST) -> Optional[ast.AST]:
    new = copy.deepcopy(node)
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPS:
        new.ops[0] = _SWAPS[type(node.ops[0])]()
    elif isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in _SWAPS:
        new.op = _SWAPS[type(node.op)]()
    else:
        return None
    return new


def _bump_constant(node: ast.AST) -> Optional[ast.AST]:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ast.Constant(node.value + 1)
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return ast.Constant(not node.value)
    return None


def _negate_condition(node: ast.AST) -> Optional[ast.AST]:
    if isinstance(node, (ast.If, ast.While)):
        return ast.UnaryOp(ast.Not(), copy.deepcopy(node.test))
    return None


def _drop_return_value(node: ast.AST) -> Optional[ast.AST]:
    if isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        return ast.Return(ast.Constant(None))
    return None


def _delete_statement(node: ast.AST) -> Optional[ast.AST]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and not _is_docstring_like(node):
        return ast.Pass()
    return None


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_docstring_like(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


# Each operator maps a node to its replacement; for _negate_condition the replacement is the new test only.
OPERATORS: dict[str, Callable[[ast.AST], Optional[ast.AST]]] = {
    "swap_operator": _swap_op,
    "bump_constant": _bump_constant,
    "negate_condition": _negate_condition,
    "drop_return_value": _drop_return_value,
    "delete_statement": _delete_statement,
}


def mutants(path: str, source: str) -> Iterator[Mutant]:
    """Every first-order mutant of `source`, in a stable order (by position, then operator)."""
    tree = pyast.parse(source)
    offsets = _line_offsets(source)
    for node in ast.walk(tree):
        if not hasattr(node, "lineno"):
            continue
        for name, operator in OPERATORS.items():
            replacement = operator(node)
            if replacement is None:
                continue
            target = node.test if name == "negate_condition" else node
            text = _splice(source, offsets, target, ast.unparse(replacement))
            if text != source and _compiles(text):
                yield Mutant(path, node.lineno, name, text)


def _line_offsets(source: str) -> list[tuple[int, str]]:
    """(offset of the line's first character, the line) for each line."""
    offsets, total = [], 0
    for line in source.splitlines(keepends=True):
        offsets.append((total, line))
        total += len(line)
    offsets.append((total, ""))
    return offsets


def _position(offsets: list[tuple[int, str]], lineno: int, col_bytes: int) -> int:
    # ast columns count UTF-8 bytes, not characters.
    start, line = offsets[lineno - 1]
    return start + len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore"))


def _splice(source: str, offsets: list[tuple[int, str]], node: ast.AST, text: str) -> str:
    start = _position(offsets, node.lineno, node.col_offset)
    end = _position(offsets, node.end_lineno, node.end_col_offset)
    if isinstance(node, ast.expr) and not isinstance(node, ast.Constant):
        text = f"({text})"
    return source[:start] + text + source[end:]


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True
