"""Shared helpers for the wordfreq suite: run the implementation as a subprocess."""
import os
import subprocess
import sys

import pytest

TIMEOUT_S = 20


def _entry():
    impl_dir = os.environ.get("HARNESS_IMPL_DIR")
    if not impl_dir:
        pytest.fail("HARNESS_IMPL_DIR is not set")
    return os.path.join(impl_dir, "wordfreq.py")


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", errors="replace")
        self.err = proc.stderr.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"Result(code={self.code!r}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def run(tmp_path):
    """run(*args, stdin=b"") -> Result; runs in tmp_path so relative file names work."""
    def _run(*args, stdin=b""):
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        # -S: no site-packages. The spec allows only the standard library, and skipping site
        # roughly halves each run's start-up, which dominates this suite's time.
        proc = subprocess.run(
            [sys.executable, "-S", _entry(), *args],
            input=stdin,
            capture_output=True,
            cwd=str(tmp_path),
            timeout=TIMEOUT_S,
        )
        return Result(proc)
    return _run


@pytest.fixture
def write(tmp_path):
    """write(name, content) creates tmp_path/name (str or bytes) and returns the bare name."""
    def _write(name, content):
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
        return name
    return _write
