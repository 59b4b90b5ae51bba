"""The package's shape: a folder per stage, no import cycle inside harness/ (counting imports that only annotate
and imports inside functions), seams that import nothing of ours, no function over 50 lines or file over 300, the
programs that run inside a sandbox kept apart, and the README's layout tree in step with the folders."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from tests.conftest import ROOT

PACKAGE = ROOT / "harness"
INSIDE = PACKAGE / "inside"
MAX_FILE_LINES, MAX_FUNCTION_LINES = 300, 50
TOP_LEVEL = {"__init__.py", "seams.py", "errors.py"}  # every other module lives in a stage's folder


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    """Every importable module of the package, by dotted name (the programs under inside/ are not imported)."""
    return {module_name(path): ast.parse(path.read_text(), str(path))
            for path in sorted(PACKAGE.rglob("*.py")) if INSIDE not in path.parents}


def imports(tree: ast.Module, known: set[str]) -> set[str]:
    """The harness modules a module imports, wherever the statement is: at the top, inside a function, or under
    `if TYPE_CHECKING:` (an import only for annotations still ties the two modules together for a reader).
    `from harness.pkg import mod` names the module `harness.pkg.mod` when there is one."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("harness"):
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found |= subs or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.")}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of the graph as a path that starts and ends on the same node, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: imports(tree, known) - {name, "harness"} for name, tree in trees.items()}


def test_imports_are_found_wherever_they_are_written():
    known = {"harness.a", "harness.b", "harness.pkg", "harness.pkg.c", "harness.d", "harness.e", "harness.g"}
    tree = ast.parse("from harness.a import x\nimport harness.b\nfrom harness.pkg import c\nimport os\n"
                     "def f():\n    from harness.d import y\n"
                     "if TYPE_CHECKING:\n    from harness.e import z\nelse:\n    from harness.g import w\n")
    assert imports(tree, known) == {"harness.a", "harness.b", "harness.pkg.c", "harness.d", "harness.e", "harness.g"}


def test_the_cycle_finder_names_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_no_import_cycle_inside_harness():
    edges = graph()
    # the walk sees our imports, late ones included
    assert {"harness.trial.run", "harness.trial.chain"} <= edges["harness.trial.front_door"]
    assert "harness.generation.builtin_agent" in edges["harness.generation.registry"]  # imported inside a function
    cycle = find_cycle(edges)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_seams_import_nothing_of_the_harness():
    assert graph()["harness.seams"] == set()
    probe = ("import sys; import harness.seams; "
             "print(sorted(m for m in sys.modules if m.startswith('harness.') and m != 'harness.seams'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_lives_in_a_stage_folder_with_a_one_line_docstring():
    loose = {p.name for p in PACKAGE.glob("*.py")} - TOP_LEVEL
    assert not loose, f"modules directly under harness/ (give each a stage folder): {sorted(loose)}"
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "\n" not in doc.strip(), f"{init.relative_to(ROOT)} needs a one-line docstring"
        if init.parent != PACKAGE:
            assert init.read_text().strip().count("\n") == 0, f"{init.relative_to(ROOT)} holds more than its docstring"


def test_the_programs_inside_a_sandbox_are_never_imported_by_the_harness():
    for name, edges in graph().items():
        inside = {e for e in edges if e.startswith("harness.inside")}
        assert not inside, f"{name} imports {sorted(inside)}: programs under inside/ are copied or mounted, not imported"
    for path in INSIDE.glob("*.py"):
        if path.name != "__init__.py":
            harness = [n for n in ast.walk(ast.parse(path.read_text()))
                       if isinstance(n, (ast.Import, ast.ImportFrom)) and "harness." in ast.unparse(n)]
            assert not harness, f"{path.name} imports the harness: it runs where the harness is not"


def test_no_file_over_300_lines_and_no_function_over_50():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE)
        lines = len(path.read_text().splitlines())
        if lines > MAX_FILE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "over the size limits (split along a clear seam): " + "; ".join(too_long)


def layout_tree() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"## Layout\n+```\n(.*?)```", readme, re.S).group(1)


def test_the_readme_layout_names_every_folder_and_module_of_the_package():
    tree = layout_tree()
    named = {token.removesuffix(".py") for token in re.findall(r"[\w.-]+", tree)}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    sub_folders = {p.name for p in PACKAGE.glob("*/*") if p.is_dir() and p.name != "__pycache__"}
    missing = [f"{f}/" for f in sorted(folders | sub_folders) if f"{f}/" not in tree]
    missing += [p.stem for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__init__.py" and p.stem not in named]
    assert not missing, f"missing from README's Layout tree: {missing}"


def test_the_readme_layout_names_nothing_that_is_not_there():
    tree = layout_tree()
    folders = re.findall(r"^\s*(?:[│├└─ ]*)([\w-]+)/", tree, re.M)
    stray = [f for f in folders if not any(p.name == f for p in ROOT.rglob(f) if p.is_dir())]
    assert not stray, f"README's Layout names folders that do not exist: {stray}"
