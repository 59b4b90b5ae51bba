from __future__ import annotations

from harness.generation.oneshot import parse_files


def test_named_blocks_become_files():
    reply = "Sure.\n```python pkg/a.py\nA = 1\n```\ntext\n```python b.py\nB = 2\n```\n"
    files, note = parse_files(reply, ("pkg/a.py",))
    assert files == {"pkg/a.py": "A = 1\n", "b.py": "B = 2\n"} and note == ""


def test_path_can_be_written_as_attribute():
    files, _ = parse_files('```python title="x.py"\nX = 1\n```\n', ("x.py",))
    assert files == {"x.py": "X = 1\n"}


def test_single_entry_file_takes_the_longest_unnamed_python_block():
    reply = "```python\nshort\n```\n```python\nlonger body\nline\n```\n```bash\nls\n```\n"
    files, _ = parse_files(reply, ("tool.py",))
    assert files == {"tool.py": "longer body\nline\n"}


def test_unnamed_blocks_are_ambiguous_for_several_entry_files():
    files, note = parse_files("```python\nX = 1\n```\n", ("a.py", "b.py"))
    assert files == {} and "lacks entry file(s)" in note


def test_no_code_is_a_note_not_a_crash():
    for reply in (None, "", "I cannot do that."):
        files, note = parse_files(reply, ("a.py",))
        assert files == {} and "a.py" in note


def test_missing_entry_file_is_reported_with_what_was_found():
    files, note = parse_files("```python other.py\nX = 1\n```\n", ("main.py",))
    assert files == {} and "main.py" in note and "other.py" in note


def test_unsafe_paths_are_rejected():
    reply = "```python ../evil.py\nX\n```\n```python /etc/x.py\nY\n```\n```python ok.py\nZ\n```\n"
    files, note = parse_files(reply, ("ok.py",))
    assert files == {"ok.py": "Z\n"} and "../evil.py" in note and "/etc/x.py" in note
