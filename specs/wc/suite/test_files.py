"""FILE operands: names, standard input as `-`, the total line, unreadable files and the exit status."""


def ok(res, expected):
    assert (res.code, res.err, res.out) == (0, "", expected), res


def test_one_file_has_its_name(run, write):
    f = write("a.txt", "hello world\n")
    ok(run(f), "1 2 12 a.txt\n")


def test_the_spec_example(run, write):
    write("a.txt", "hello world\n")
    write("b.txt", "x")
    ok(run("a.txt", "b.txt"), "1 2 12 a.txt\n0 1 1 b.txt\n1 3 13 total\n")
    ok(run("-wl", stdin=b"hello world\n"), "1 2\n")


def test_the_name_is_printed_as_given(run, write, tmp_path):
    write("my file.txt", "a b c")
    (tmp_path / "sub").mkdir()
    write("sub/in.txt", "q\n")
    ok(run("my file.txt", "./sub/../sub/in.txt", "-c"), "5 my file.txt\n2 ./sub/../sub/in.txt\n7 total\n")


def test_dash_is_standard_input(run):
    ok(run("-", stdin="a b\n"), "1 2 4 -\n")


def test_dash_among_files_and_a_second_dash_counts_nothing(run, write):
    f = write("f.txt", "one\n")
    ok(run(f, "-", "-", f, stdin="x y z\n"), "1 1 4 f.txt\n1 3 6 -\n0 0 0 -\n1 1 4 f.txt\n3 5 14 total\n")


def test_the_same_file_twice(run, write):
    f = write("f.txt", "w\n")
    ok(run("-l", f, f), "1 f.txt\n1 f.txt\n2 total\n")


def test_a_missing_file_is_reported_and_the_others_counted(run, write):
    a = write("a.txt", "hello world\n")
    res = run(a, "missing.txt", "-w")
    assert res.code == 1, res
    assert res.err == "wc: missing.txt: cannot read\n", res
    assert res.out == "2 a.txt\n2 total\n", res


def test_a_single_missing_file_prints_nothing_on_stdout(run):
    res = run("nope.txt")
    assert (res.code, res.out, res.err) == (1, "", "wc: nope.txt: cannot read\n"), res


def test_only_unreadable_files_still_have_a_total(run, tmp_path):
    (tmp_path / "adir").mkdir()
    res = run("adir", "gone.txt")
    assert res.code == 1, res
    assert res.err == "wc: adir: cannot read\nwc: gone.txt: cannot read\n", res
    assert res.out == "0 0 0 total\n", res


def test_stdin_is_not_read_when_files_are_given(run, write):
    f = write("f.txt", "a\n")
    ok(run(f, stdin="lots of ignored words\n"), "1 1 2 f.txt\n")
