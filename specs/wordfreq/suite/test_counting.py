"""Word splitting, case folding, filtering, sorting and --top selection."""
import pytest


def ok(res, expected):
    assert res.code == 0, res
    assert res.err == "", res
    assert res.out == expected, res


def test_basic_file_folds_case_and_sorts(run, write):
    f = write("in.txt", "the cat and the dog and THE bird\n")
    ok(run(f), "3 the\n2 and\n1 bird\n1 cat\n1 dog\n")


def test_reads_stdin_when_no_file_given(run):
    ok(run(stdin="b a b\n"), "2 b\n1 a\n")


def test_dash_means_stdin_and_counts_are_combined(run, write):
    f = write("in.txt", "x y\n")
    ok(run(f, "-", stdin="y z\n"), "2 y\n1 x\n1 z\n")


def test_several_files_are_summed(run, write):
    f1 = write("one.txt", "apple banana\n")
    f2 = write("two.txt", "banana cherry banana\n")
    ok(run(f1, f2), "3 banana\n1 apple\n1 cherry\n")


def test_word_rule_apostrophes_digits_separators(run, write):
    f = write("in.txt", "don't rock'n'roll 'tis dogs' a''b x2y 42 well-known snake_case end.\tTab\r\nnew")
    expected = "".join(
        f"{w},1\n" for w in ["42", "a", "b", "case", "dogs", "don't", "end", "known",
                             "new", "rock'n'roll", "snake", "tab", "tis", "well", "x2y"])
    ok(run("--top", "0", "--format", "csv", f), "word,count\n" + expected)


def test_non_ascii_bytes_separate_words(run, write):
    data = b"caf\xc3\xa9 na\xefve \xe2\x80\x9cquoted\xe2\x80\x9d it\xe2\x80\x99s \xff\xfebad\n"
    f = write("in.bin", data)
    ok(run("--top", "0", f), "1 bad\n1 caf\n1 it\n1 na\n1 quoted\n1 s\n1 ve\n")


def test_case_sensitive_keeps_spelling_and_sorts_by_code_point(run):
    res = run("--case-sensitive", "--top", "0", stdin="Apple apple APPLE apple Zebra zebra 1x\n")
    ok(res, "2 apple\n1 1x\n1 APPLE\n1 Apple\n1 Zebra\n1 zebra\n")


@pytest.mark.parametrize("opts, expected", [
    (["--case-sensitive", "--ignore-case"], "3 go\n"),
    (["--ignore-case", "--case-sensitive"], "1 GO\n1 Go\n1 go\n"),
])
def test_last_case_option_wins(run, opts, expected):
    ok(run(*opts, stdin="Go go GO\n"), expected)


def test_tie_order_is_plain_string_order(run):
    # equal counts: "10" < "9" (not numeric), "a" < "a'b" (prefix), "a'b" < "ab" (apostrophe first)
    res = run("--case-sensitive", "--top", "0", stdin="ab a'b a 9 10 B b zz zz\n")
    ok(res, "2 zz\n1 10\n1 9\n1 B\n1 a\n1 a'b\n1 ab\n1 b\n")


TWELVE = " ".join(w for i, w in enumerate("abcdefghijkl") for _ in range(12 - i))


def test_default_top_is_ten(run):
    expected = "".join(f"{12 - i:>2} {w}\n" for i, w in enumerate("abcdefghij"))
    ok(run(stdin=TWELVE), expected)


def test_top_zero_prints_every_word(run):
    expected = "".join(f"{12 - i:>2} {w}\n" for i, w in enumerate("abcdefghijkl"))
    ok(run("--top", "0", stdin=TWELVE), expected)


@pytest.mark.parametrize("n, expected", [
    ("1", "2 a\n"),
    ("2", "2 a\n1 b\n"),
])
def test_top_cuts_after_sorting(run, n, expected):
    ok(run("--top", n, stdin="d c b a a\n"), expected)


def test_top_larger_than_vocabulary(run):
    ok(run("--top", "50", stdin="y x y\n"), "2 y\n1 x\n")


def test_option_equals_form(run):
    ok(run("--top=1", "--format=csv", stdin="q r q\n"), "word,count\nq,2\n")


@pytest.mark.parametrize("n, expected", [
    ("3", "1 into\n1 it's\n1 the\n"),
    ("4", "1 into\n1 it's\n"),
    ("5", ""),
])
def test_min_length_boundary_counts_apostrophes(run, n, expected):
    ok(run("--min-length", n, stdin="a an the it's into\n"), expected)


def test_min_length_zero_keeps_single_letters(run):
    ok(run("--min-length", "0", stdin="bb a\n"), "1 a\n1 bb\n")


def test_filters_apply_before_top(run, write):
    sw = write("stop.txt", "the\n")
    ok(run("--top", "1", "--stopwords", sw, stdin="the the the cat cat dog\n"), "2 cat\n")


def test_stopwords_are_split_and_folded(run, write):
    sw = write("stop.txt", "The\nAND, of;\n")
    ok(run("--stopwords", sw, stdin="The cat AND the Dog of dog\n"), "2 dog\n1 cat\n")


def test_stopwords_exact_when_case_sensitive(run, write):
    sw = write("stop.txt", "The\n")
    ok(run("--case-sensitive", "--stopwords", sw, stdin="The the THE the\n"), "2 the\n1 THE\n")


def test_stopword_with_apostrophe_is_one_word(run, write):
    sw = write("stop.txt", "don't\n")
    ok(run("--stopwords", sw, stdin="don't Don't don t\n"), "1 don\n1 t\n")
