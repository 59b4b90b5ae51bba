"""Which counts are printed: -l, -w, -c, grouped, repeated, in any order and anywhere; usage errors."""
import pytest

TEXT = "one two\nthree\n"  # 2 lines, 3 words, 14 bytes


def ok(res, expected):
    assert (res.code, res.err, res.out) == (0, "", expected), res


@pytest.mark.parametrize("args, expected", [
    (["-l"], "2\n"), (["-w"], "3\n"), (["-c"], "14\n"),
    (["-l", "-w"], "2 3\n"), (["-w", "-l"], "2 3\n"), (["-lw"], "2 3\n"), (["-wl"], "2 3\n"),
    (["-c", "-l"], "2 14\n"), (["-cl"], "2 14\n"), (["-wc"], "3 14\n"),
    (["-lwc"], "2 3 14\n"), (["-cwl"], "2 3 14\n"), (["-c", "-w", "-l"], "2 3 14\n"),
    (["-l", "-l"], "2\n"), (["-ll"], "2\n"), (["-wcwc"], "3 14\n"),
])
def test_selected_counts_in_fixed_order(run, args, expected):
    ok(run(*args, stdin=TEXT), expected)


def test_options_after_and_between_operands(run, write):
    a = write("a.txt", "x y\n")
    b = write("b.txt", "z")
    ok(run(a, "-w", b, "-l"), f"1 2 {a}\n0 1 {b}\n1 3 total\n")


@pytest.mark.parametrize("args", [
    ["-x"], ["-lx"], ["-L"], ["--lines"], ["--"], ["-l", "--"], ["-", "-W"], ["-1"], ["- l"],
])
def test_usage_errors(run, args):
    res = run(*args, stdin="some input\n")
    assert res.code == 2, res
    assert res.out == "", res
    assert res.err != "", res


def test_a_usage_error_reads_no_file(run):
    res = run("missing.txt", "-q")
    assert (res.code, res.out) == (2, ""), res
    assert "cannot read" not in res.err, res
