from __future__ import annotations

from harness.generation.oneshot import parse_files


def test_named_blocks_become_files():
    reply = "Sure.\n```python pkg/a.py\nA = 1\n```\ntext\n```python b.py\nB = 2\n```\n"
    files, note, _ = parse_files(reply, ("pkg/a.py",))
    assert files == {"pkg/a.py": "A = 1\n", "b.py": "B = 2\n"} and note == ""


def test_path_can_be_written_as_attribute():
    files, _, _ = parse_files('```python title="x.py"\nX = 1\n```\n', ("x.py",))
    assert files == {"x.py": "X = 1\n"}


def test_single_entry_file_takes_the_longest_unnamed_python_block():
    reply = "```python\nshort\n```\n```python\nlonger body\nline\n```\n```bash\nls\n```\n"
    files, _, _ = parse_files(reply, ("tool.py",))
    assert files == {"tool.py": "longer body\nline\n"}


def test_unnamed_blocks_are_ambiguous_for_several_entry_files():
    files, note, _ = parse_files("```python\nX = 1\n```\n", ("a.py", "b.py"))
    assert files == {} and "lacks entry file(s)" in note


def test_no_code_is_a_note_not_a_crash():
    for reply, said in ((None, "an empty reply"), ("", "an empty reply"), ("I cannot do that.", "4 words of prose")):
        files, note, ending = parse_files(reply, ("a.py",))
        assert files == {} and ending == "no_code" and said in note


def test_code_with_no_usable_path_ends_no_path():
    """Code the model wrote, but under a name the spec does not need (or unnamed, with two entry files)."""
    for reply, entries in (("```python other.py\nX = 1\n```\n", ("main.py",)),
                           ("```python\nX = 1\n```\n", ("a.py", "b.py")),
                           ("```python ../a.py\nX = 1\n```\n", ("a.py",))):
        files, note, ending = parse_files(reply, entries)
        assert files == {} and ending == "no_path" and "1 code block(s)" in note


def test_a_block_cut_off_at_max_tokens_is_kept_only_when_the_reply_was_cut():
    reply = "Here it is:\n```python adder.py\ndef add(a, b):\n    return a +"
    assert parse_files(reply, ("adder.py",))[2] == "no_code"  # a complete reply: an open fence is not code
    files, _, ending = parse_files(reply, ("adder.py",), cut_off=True)
    assert files == {"adder.py": "def add(a, b):\n    return a +"} and ending == ""
    closed_then_cut = "```python adder.py\nX = 1\n```\nand more:\n```python\ndef f("
    assert parse_files(closed_then_cut, ("adder.py",), cut_off=True)[0] == {"adder.py": "X = 1\n"}


def test_missing_entry_file_is_reported_with_what_was_found():
    files, note, _ = parse_files("```python other.py\nX = 1\n```\n", ("main.py",))
    assert files == {} and "main.py" in note and "other.py" in note


def test_unsafe_paths_are_rejected():
    reply = "```python ../evil.py\nX\n```\n```python /etc/x.py\nY\n```\n```python ok.py\nZ\n```\n"
    files, note, _ = parse_files(reply, ("ok.py",))
    assert files == {"ok.py": "Z\n"} and "../evil.py" in note and "/etc/x.py" in note
