"""harness.view.chain: a chain trial's kin, the code it changed from its parent, and its first divergence."""

from __future__ import annotations

import pandas as pd

from harness.view.chain import Kin, code_diff, implementation, kin_of, render_chain


def test_kin_links_parents_and_children_and_leaves_lone_trials_out():
    results = pd.DataFrame({"trial_id": ["g0", "g1", "g2", "solo", "orphan"], "generation": [0, 1, 2, 0, 1],
                            "status": ["scored", "scored", "no_code", "scored", "scored"],
                            "parent_trial_id": [None, "g0", "g1", None, "gone"]})
    kin = kin_of(results)
    assert set(kin) == {"g0", "g1", "g2", "orphan"}
    assert kin["g0"] == Kin(None, (("g1", 1, "scored"),))
    assert kin["g1"] == Kin(("g0", 0, "scored"), (("g2", 2, "no_code"),))
    assert kin["orphan"].parent == ("gone", -1, "not in the table")  # a parent whose record is gone


def test_the_code_diff_names_every_changed_file_and_nothing_when_equal():
    parent = {"agent.py": "a = 1\nb = 2\n", "old.py": "x\n"}
    child = {"agent.py": "a = 1\nb = 3\n", "new.py": "y\n"}
    diff = code_diff(parent, child).splitlines()
    assert "--- parent/agent.py" in diff and "-b = 2" in diff and "+b = 3" in diff
    assert "--- parent/old.py" in diff and "+++ /dev/null" in diff and "+++ child/new.py" in diff
    assert code_diff(parent, dict(parent)) == ""


def test_the_first_divergence_from_the_parent_is_shown_side_by_side_and_escaped():
    row = {"behaviour_class": 2, "class_size": 1, "same_as_parent": False, "fixpoint_generation": float("nan"),
           "divergence_from_parent": "suite: explicit_options | runs[0].exit | 0 | <1>",
           "first_divergence": "the recorder hung"}
    page = render_chain(Kin(("p0", 0, "scored"), ()), "--- parent/a.py\n+++ child/a.py\n-x\n+<y>", row)
    assert '<a href="p0.html">p0 (generation 0, scored)</a>' in page
    assert "<td>explicit_options</td>" not in page and "<td>suite: explicit_options</td>" in page
    assert "<th>parent</th><th>this trial</th>" in page and "<td>&lt;1&gt;</td>" in page
    assert "<pre>the recorder hung</pre>" in page  # not in the four-part form: shown as it is
    assert '<span class="add">+&lt;y&gt;</span>' in page and '<span class="del">-x</span>' in page
    assert "harness-equivalence" not in render_chain(Kin(None, ()), None, row).split("<h3>")[0]
    assert "run <code>harness-equivalence" in render_chain(Kin(None, ()), None, None)


def test_an_implementation_is_read_without_following_links(tmp_path):
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "a.py").write_text("x = 1\n")
    (tmp_path / "impl" / "leak.txt").symlink_to("/etc/hostname")
    tree = implementation(tmp_path / "impl")
    assert tree.files == {"a.py": "x = 1\n"} and "symlink" in tree.note()
    assert implementation(tmp_path / "missing").files == {}
