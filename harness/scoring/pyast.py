"""`ast.parse` and compiling a tree, one at a time in this process.

CPython 3.11 keeps the recursion depth of its AST converters (C tree to Python objects and back) per interpreter,
not per thread. A garbage collection inside one conversion can run a finalizer, switch threads and start another
conversion, and the first then fails its own check: "SystemError: AST constructor recursion depth mismatch". A
sweep meets this: the synthetic model parses the reference to mutate it while another trial's scorer parses the
suite to rewrite its asserts. Every conversion the harness makes goes through LOCK.
"""

from __future__ import annotations

import ast
import threading

LOCK = threading.RLock()  # re-entrant: a caller may hold it across a parse and the compile of what it parsed


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    with LOCK:
        return ast.parse(source, filename=filename, mode=mode)

