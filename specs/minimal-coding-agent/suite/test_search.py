"""Spec §6 list_files and search_text: glob rules, sorting, result format, the 200-line cap."""
import pytest

from agentrun import run_agent
from scenarios import make_files, registry
from scripted_server import answer, call, tool_reply

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
def tree(ws):
    """One run over one tree: a reply of list_files calls, then a reply of search_text calls."""
    make_files(ws, TREE)
    lists = [call("list_files", {"pattern": pattern}, id=case) for case, (pattern, _) in LIST_CASES.items()]
    lists.append(call("list_files", {}, id="list_without_pattern"))
    searches = [call("search_text", args, id=case) for case, (args, _) in SEARCH_CASES.items()]
    return run_agent(ws, [tool_reply(*lists), tool_reply(*searches), answer("done")])


def test_tree_run_completes(runs):
    assert runs["tree"].returncode == 0, runs["tree"].describe()


@pytest.mark.parametrize("case", LIST_CASES)
def test_list_files(runs, case):
    assert runs["tree"].result(case) == LIST_CASES[case][1]


def test_list_files_requires_pattern(runs):
    result = runs["tree"].result("list_without_pattern")
    assert result.startswith("ERROR:") and "pattern" in result


@pytest.mark.parametrize("case", [c for c, (_, expected) in SEARCH_CASES.items() if expected is not None])
def test_search_text(runs, case):
    assert runs["tree"].result(case) == SEARCH_CASES[case][1]


@pytest.mark.parametrize("case", [c for c, (_, expected) in SEARCH_CASES.items() if expected is None])
def test_search_text_errors(runs, case):
    assert runs["tree"].result(case).startswith("ERROR:")
