"""Shared helpers for the wordfreq suite.

Most tests run the program in this process (runpy, with argv, stdin, stdout, stderr and the working directory
swapped in): a fresh interpreter per call would cost ~35 ms, forty times per implementation scored. The tests in
test_process.py run it as a real subprocess, to keep the command-line contract honest.
"""
import contextlib
import io
import os
import runpy
import subprocess
import sys
import traceback

import pytest

TIMEOUT_S = 20


def _entry():
    impl_dir = os.environ.get("HARNESS_IMPL_DIR")
    if not impl_dir:
        pytest.fail("HARNESS_IMPL_DIR is not set")
    return os.path.join(impl_dir, "wordfreq.py")


class Result:
    def __init__(self, code, out, err):
        self.code = code
        self.out = out.decode("utf-8", errors="replace")
        self.err = err.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"Result(code={self.code!r}, out={self.out!r}, err={self.err!r})"


def _exit_code(exc):
    """The status a Python process would exit with after `raise SystemExit(exc.code)`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_in_process(args, stdin, cwd):
    streams = [io.BytesIO(stdin), io.BytesIO(), io.BytesIO()]
    wrapped = [io.TextIOWrapper(b, encoding="utf-8") for b in streams]
    saved = (sys.argv, sys.stdin, sys.stdout, sys.stderr, os.getcwd())
    sys.argv, (sys.stdin, sys.stdout, sys.stderr) = [_entry(), *args], wrapped
    os.chdir(cwd)
    try:
        runpy.run_path(_entry(), run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # an uncaught exception ends a real process with status 1 and a traceback
        traceback.print_exc()
        code = 1
    finally:
        for stream in wrapped[1:]:
            with contextlib.suppress(ValueError):
                stream.flush()
        sys.argv, sys.stdin, sys.stdout, sys.stderr, cwd_before = saved
        os.chdir(cwd_before)
    return Result(code, streams[1].getvalue(), streams[2].getvalue())


def run_as_process(args, stdin, cwd):
    # -S: no site-packages; the spec allows only the standard library.
    proc = subprocess.run([sys.executable, "-S", _entry(), *args], input=stdin, capture_output=True,
                          cwd=str(cwd), timeout=TIMEOUT_S)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _runner(how, tmp_path):
    def _run(*args, stdin=b""):
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        return how(args, stdin, tmp_path)
    return _run


@pytest.fixture
def run(tmp_path):
    """run(*args, stdin=b"") -> Result, in this process; runs in tmp_path so relative file names work."""
    return _runner(run_in_process, tmp_path)


@pytest.fixture
def run_process(tmp_path):
    """Like `run`, but a real `python wordfreq.py` subprocess."""
    return _runner(run_as_process, tmp_path)


@pytest.fixture
def write(tmp_path):
    """write(name, content) creates tmp_path/name (str or bytes) and returns the bare name."""
    def _write(name, content):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
        return name
    return _write
