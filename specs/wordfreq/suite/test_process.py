"""The command-line contract through a real subprocess: exit codes, streams and stdin as the OS sees them."""


def test_file_argument_as_a_process(run_process, write):
    name = write("in.txt", "b a b\n")
    result = run_process(name)
    assert (result.code, result.out, result.err) == (0, "2 b\n1 a\n", "")


def test_stdin_as_a_process(run_process):
    result = run_process("--format", "csv", stdin="x y x")
    assert (result.code, result.out) == (0, "word,count\nx,2\ny,1\n")


def test_usage_error_as_a_process(run_process):
    result = run_process("--top", "-1")
    assert result.code == 2 and result.out == "" and result.err != ""


def test_unreadable_file_as_a_process(run_process, write):
    name = write("ok.txt", "z\n")
    result = run_process(name, "missing.txt")
    assert result.code == 1 and result.err == "wordfreq: cannot read missing.txt\n" and result.out == "1 z\n"
