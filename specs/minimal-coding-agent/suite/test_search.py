"""Spec §6 list_files and search_text: glob rules, sorting, result format, the 200-line cap.

The paper fixes less than our restatement: it asks for the matching paths (in no stated order, hidden files not
mentioned) and for `path:line_number: content` lines capped at 200. Paper-clause tests compare what both texts
agree on; `ours` tests compare the exact result.
"""
import re

from agentrun import run_cases
from clauses import check_each, ours, paper
from scenarios import make_files, registry
from scripted_server import call

SCENARIOS = {}
scenario = registry(SCENARIOS)

TREE = {
    "a.py": "def alpha():\n    return 1\n\ndef beta():\n    return 2\n",
    "B.py": "",
    "c.txt": "TODO: first\nnothing\nTODO: second",
    ".hidden.py": "def hidden(): pass\n",
    ".git/config": "def in git\n",
    "sub/d.py": "import os\ndef gamma(): pass\n",
    "sub/deep/e.py": "",
    "sub/notes.md": "",
    "space dir/f.py": "",
    "binary.dat": b"\xff\xfedef binary\n",
    "many/hits.txt": "".join(f"hit {n}\n" for n in range(1, 251)),
    "many/edge.txt": "".join(f"edge {n}\n" for n in range(1, 201)),
}
# Cases both texts state exactly, up to order, hidden names, "./" and a "/" after directories.
PAPER_LIST_CASES = ("top_level", "recursive", "question_mark", "character_class", "list_no_match")
LIST_CASES = {  # id -> (pattern, expected result)
    "top_level": ("*.py", "B.py\na.py"),
    "recursive": ("**/*.py", "B.py\na.py\nspace dir/f.py\nsub/d.py\nsub/deep/e.py"),
    "directories_too": ("sub/*", "sub/d.py\nsub/deep\nsub/notes.md"),
    "star_skips_dot_names": ("*", "B.py\na.py\nbinary.dat\nc.txt\nmany\nspace dir\nsub"),
    "dot_pattern": (".*", ".git\n.hidden.py"),
    "question_mark": ("?.py", "B.py\na.py"),
    "character_class": ("[a-c].*", "a.py\nc.txt"),
    "double_star_alone": ("**", "B.py\na.py\nbinary.dat\nc.txt\nmany\nmany/edge.txt\nmany/hits.txt\nspace dir\n"
                                "space dir/f.py\nsub\nsub/d.py\nsub/deep\nsub/deep/e.py\nsub/notes.md"),
    "list_no_match": ("*.rs", ""),
}
PYTHON_DEFS = "a.py:1: def alpha():\na.py:4: def beta():\nsub/d.py:2: def gamma(): pass"
PAPER_SEARCH_CASES = ("python_defs", "glob_limits_files", "match_anywhere_keeps_indent", "inline_flags",
                      "search_no_match")
SEARCH_CASES = {  # id -> (arguments, expected result, or None for an ERROR result)
    "python_defs": ({"pattern": r"^def \w+", "glob": "**/*.py"}, PYTHON_DEFS),
    "default_glob_skips_hidden_and_binary": ({"pattern": "def"}, PYTHON_DEFS),
    "glob_limits_files": ({"pattern": "TODO", "glob": "*.txt"}, "c.txt:1: TODO: first\nc.txt:3: TODO: second"),
    "match_anywhere_keeps_indent": ({"pattern": r"return \d", "glob": "a.py"},
                                    "a.py:2:     return 1\na.py:5:     return 2"),
    "inline_flags": ({"pattern": "(?i)todo: s", "glob": "c.txt"}, "c.txt:3: TODO: second"),
    "search_no_match": ({"pattern": "zzz"}, ""),
    "binary_skipped": ({"pattern": "binary", "glob": "binary.dat"}, ""),
    "exactly_200": ({"pattern": "edge", "glob": "many/edge.txt"},
                    "\n".join(f"many/edge.txt:{n}: edge {n}" for n in range(1, 201))),
    "over_200": ({"pattern": "hit", "glob": "many/hits.txt"},
                 "\n".join(f"many/hits.txt:{n}: hit {n}" for n in range(1, 201))
                 + "\n[truncated: 50 more matching lines]"),
    "invalid_regex": ({"pattern": "(unclosed"}, None),
    "missing_pattern": ({"glob": "*.py"}, None),
}


@scenario
def listing(ws):
    make_files(ws, TREE)
    calls = [call("list_files", {"pattern": pattern}, id=case) for case, (pattern, _) in LIST_CASES.items()]
    return run_cases(ws, calls + [call("list_files", {}, id="list_without_pattern")])


@scenario
def searching(ws):
    make_files(ws, TREE)
    return run_cases(ws, [call("search_text", args, id=case) for case, (args, _) in SEARCH_CASES.items()])


def visible(path):
    return not any(part.startswith(".") for part in path.split("/") if part not in (".", ""))


def listed(result, workspace):
    """The set of workspace paths a list_files result names, read as loosely as the paper allows: in any order,
    with or without "./" and a "/" after directories, hidden names left out, other lines (a "no matches" note)
    ignored."""
    paths = {re.sub(r"^\./", "", line.strip()).rstrip("/") for line in result.splitlines() if line.strip()}
    return {p for p in paths if visible(p) and (workspace / p).exists()}


def matches(result):
    """The set of (path, line number, stripped content) a search_text result names, read as the paper allows."""
    found = set()
    for line in result.splitlines():
        m = re.match(r"^(?:\./)?(.+?):(\d+):\s?(.*)$", line)
        if m and visible(m.group(1)):
            found.add((m.group(1), int(m.group(2)), m.group(3).strip()))
    return found


@paper("tools.list_files.glob")
def test_list_files_names_the_matching_paths(runs):
    run = runs["listing"]

    def check(case):
        assert listed(run.result(case), run.workspace) == listed(LIST_CASES[case][1], run.workspace)
    check_each(PAPER_LIST_CASES, check)


@ours("tools.list_files.exact")
def test_list_files_exact(runs):
    def check(case):
        assert runs["listing"].result(case) == LIST_CASES[case][1]
    check_each(list(LIST_CASES), check)


@paper("tools.arguments.missing")
def test_list_files_requires_pattern(runs):
    assert runs["listing"].result("list_without_pattern").startswith("ERROR:")


@ours("tools.arguments.missing_named")
def test_list_files_names_the_missing_pattern(runs):
    assert "pattern" in runs["listing"].result("list_without_pattern")


@paper("tools.search_text.matches")
def test_search_text_finds_the_matching_lines(runs):
    def check(case):
        assert matches(runs["searching"].result(case)) == matches(SEARCH_CASES[case][1])
    check_each(PAPER_SEARCH_CASES, check)


@paper("tools.search_text.matches")
def test_search_text_without_glob_searches_every_file(runs):
    found = matches(runs["searching"].result("default_glob_skips_hidden_and_binary"))
    assert matches(PYTHON_DEFS) <= found


@paper("tools.search_text.cap")
def test_search_text_returns_up_to_200_results(runs):
    run = runs["searching"]
    assert matches(run.result("exactly_200")) == matches(SEARCH_CASES["exactly_200"][1])
    over = matches(run.result("over_200"))
    assert len(over) == 200 and all(path == "many/hits.txt" for path, _, _ in over)


@ours("tools.search_text.exact")
def test_search_text_exact(runs):
    def check(case):
        assert runs["searching"].result(case) == SEARCH_CASES[case][1]
    check_each([c for c, (_, expected) in SEARCH_CASES.items() if expected is not None], check)


@paper("tools.arguments.missing")
def test_search_text_requires_pattern(runs):
    assert runs["searching"].result("missing_pattern").startswith("ERROR:")


@ours("tools.search_text.invalid_regex")
def test_search_text_invalid_regex_is_an_error(runs):
    assert runs["searching"].result("invalid_regex").startswith("ERROR:")
