"""Shared helpers for the wc suite.

The program runs in the implementation's room (harness_room, provided by the scorer), never in this process.
Most tests run it as __main__ in that room (argv, stdin, stdout, stderr and the working directory
swapped in): a fresh interpreter per call would cost ~35 ms, for every test. The tests in
test_process.py run it as a real subprocess, to keep the command-line contract honest. Files the tests write go
to tmp_path, which both rooms see.
"""
import os
import sys

import pytest

import harness_room

TIMEOUT_S = 20


def _entry():
    impl_dir = os.environ.get("HARNESS_IMPL_DIR")  # where the implementation is in its room; not visible here
    if not impl_dir:
        pytest.fail("HARNESS_IMPL_DIR is not set")
    return os.path.join(impl_dir, "wc.py")


class Result:
    def __init__(self, code, out, err):
        self.code = code
        self.out = out.decode("utf-8", errors="replace")
        self.err = err.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"Result(code={self.code!r}, out={self.out!r}, err={self.err!r})"


def run_in_process(args, stdin, cwd):
    done = harness_room.run_script(_entry(), args, stdin=stdin, cwd=cwd, timeout=TIMEOUT_S)
    return Result(done.code, done.stdout, done.stderr)


def run_as_process(args, stdin, cwd):
    # -S: no site-packages; the spec allows only the standard library.
    done = harness_room.run([sys.executable, "-S", _entry(), *args], stdin=stdin, cwd=cwd, timeout=TIMEOUT_S)
    return Result(done.code, done.stdout, done.stderr)


def _runner(how, tmp_path):
    def _run(*args, stdin=b""):
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        return how(args, stdin, tmp_path)
    return _run


@pytest.fixture
def run(tmp_path):
    """run(*args, stdin=b"") -> Result, as __main__ in the room; runs in tmp_path so relative names work."""
    return _runner(run_in_process, tmp_path)


@pytest.fixture
def run_process(tmp_path):
    """Like `run`, but a real `python wc.py` subprocess of the room."""
    return _runner(run_as_process, tmp_path)


@pytest.fixture
def write(tmp_path):
    """write(name, content) creates tmp_path/name (str or bytes) and returns the bare name."""
    def _write(name, content):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
        return name
    return _write
