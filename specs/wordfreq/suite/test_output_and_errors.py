"""Output formats, empty input, unreadable files and usage errors."""
import pytest


def test_text_counts_are_right_aligned(run):
    text = "x " * 100 + "y " * 10 + "z " * 9
    res = run(stdin=text)
    assert (res.code, res.err) == (0, ""), res
    assert res.out == "100 x\n 10 y\n  9 z\n"


def test_json_format(run):
    res = run("--format", "json", stdin="b a b c\n")
    assert (res.code, res.err) == (0, ""), res
    assert res.out == '[{"word": "b", "count": 2}, {"word": "a", "count": 1}, {"word": "c", "count": 1}]\n'


def test_json_with_no_words(run):
    res = run("--format", "json", stdin="")
    assert (res.code, res.err, res.out) == (0, "", "[]\n"), res


def test_csv_format(run):
    res = run("--format", "csv", stdin="b a b c\n")
    assert (res.code, res.err) == (0, ""), res
    assert res.out == "word,count\nb,2\na,1\nc,1\n"


def test_csv_with_no_words(run):
    res = run("--format", "csv", stdin="... --- !!! ''\n")
    assert (res.code, res.err, res.out) == (0, "", "word,count\n"), res


def test_text_with_empty_input_prints_nothing(run):
    res = run(stdin="")
    assert (res.code, res.err, res.out) == (0, "", ""), res


def test_unreadable_file_is_reported_and_others_still_counted(run, write):
    a = write("a.txt", "hello world\n")
    b = write("b.txt", "hello\n")
    res = run(a, "nope.txt", b)
    assert res.code == 1, res
    assert res.err == "wordfreq: cannot read nope.txt\n"
    assert res.out == "2 hello\n1 world\n"


def test_directory_and_missing_file_in_json(run, tmp_path):
    (tmp_path / "sub").mkdir()
    res = run("--format", "json", "sub", "missing.txt")
    assert res.code == 1, res
    assert res.err == "wordfreq: cannot read sub\nwordfreq: cannot read missing.txt\n"
    assert res.out == "[]\n"


def test_unreadable_stopwords_file_is_exit_2(run, write):
    f = write("in.txt", "some words here\n")
    res = run("--stopwords", "gone.txt", f)
    assert res.code == 2, res
    assert res.err == "wordfreq: cannot read gone.txt\n"
    assert res.out == ""


@pytest.mark.parametrize("args", [
    ["--top", "-1"],
    ["--top", "abc"],
    ["--min-length", "-1"],
    ["--format", "xml"],
    ["--bogus"],
    ["--top"],
], ids=["top-negative", "top-text", "minlen-negative", "bad-format", "unknown-option", "missing-value"])
def test_usage_errors_exit_2(run, args):
    res = run(*args, stdin="a b c\n")
    assert res.code == 2, res
    assert res.out == ""
    assert res.err.strip() != ""
