"""The command-line contract through a real subprocess: exit codes, streams and stdin as the OS sees them."""


def test_stdin_as_a_process(run_process):
    res = run_process(stdin="a b\nc\n")
    assert (res.code, res.out, res.err) == (0, "2 3 6\n", "")


def test_files_and_total_as_a_process(run_process, write):
    a = write("a.txt", "hello world\n")
    res = run_process("-l", a, "missing.txt")
    assert (res.code, res.out, res.err) == (1, "1 a.txt\n1 total\n", "wc: missing.txt: cannot read\n")


def test_usage_error_as_a_process(run_process):
    res = run_process("--bytes")
    assert res.code == 2 and res.out == "" and res.err != ""
