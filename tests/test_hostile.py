"""Hostile implementations, scored by the real scorer in the real bwrap sandbox. The host must be unharmed.

Each implementation defines a correct `add` only if its attack failed, so "every test passed" means
"the attack found nothing", and a failing suite means the attack got through (or, where said, was caught).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from harness.sandbox import BwrapSandbox, Limits, bwrap_available
from harness.scoring import ScoreStatus, TestOutcome, score
from harness.specs import load_spec
from tests.conftest import PLANTED_KEY, make_spec

pytestmark = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")

CORRECT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return 0\n"


def run(tmp_path, attack: str, tail: str = "", time_limit_s: float = 20, limits: Limits = Limits()):
    """Score an implementation made of an attack (indented text is fine) followed by `tail`."""
    specs = tmp_path / "specs"
    make_spec(specs, time_limit_s=time_limit_s)
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "adder.py").write_text(textwrap.dedent(attack) + "\n" + tail)
    return score(load_spec(specs, "adder"), impl, BwrapSandbox(limits=limits))


def all_passed(result) -> bool:
    return result.status is ScoreStatus.scored and result.tests and all(
        t.outcome is TestOutcome.passed for t in result.tests)


def test_an_infinite_loop_is_a_timeout(tmp_path):
    result = run(tmp_path, "while True:\n    pass\n", time_limit_s=3)
    assert result.status is ScoreStatus.timeout


def test_a_fork_bomb_is_contained_and_leaves_no_process(tmp_path):
    source = """
        import os, time
        for _ in range(10000):
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
        """
    start = time.monotonic()
    result = run(tmp_path, source, time_limit_s=5, limits=Limits(processes=64))
    assert result.status is not ScoreStatus.scored or not all_passed(result)
    assert time.monotonic() - start < 30
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-u", "nobody"], capture_output=True, text=True).stdout.split()
    assert left == []


def test_a_memory_bomb_fails_without_hurting_the_host(tmp_path):
    result = run(tmp_path, "blob = bytearray(64 * 1024**3)\n", CORRECT, limits=Limits(memory_mb=1024))
    assert not all_passed(result)
    assert result.tests and all(t.outcome is TestOutcome.errored for t in result.tests)  # MemoryError on import


def test_writing_outside_the_work_dir_is_refused(tmp_path):
    target = tmp_path / "outside.txt"
    source = f"""
        import pathlib
        for path in [{str(target)!r}, "/etc/pwned", "/usr/pwned"]:
            try:
                pathlib.Path(path).write_text("x")
            except OSError:
                pass
        """
    assert all_passed(run(tmp_path, source, CORRECT))
    assert not target.exists() and not os.path.exists("/etc/pwned") and not os.path.exists("/usr/pwned")


def test_keys_in_the_environment_and_home_are_out_of_reach(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    source = f"""
        import os, pathlib
        found = any({PLANTED_KEY!r} in v for v in os.environ.values())
        for place in ["/root/.ssh", "/root/.bash_history", "/proc/1/environ"]:
            try:
                found = found or {PLANTED_KEY!r} in pathlib.Path(place).read_text(errors="replace")
            except OSError:
                pass
        """
    assert all_passed(run(tmp_path, source, "def add(a, b):\n    return 0 if found else a + b\n"))


def test_no_network_not_even_the_hosts_loopback(tmp_path):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    source = f"""
        import urllib.request
        try:
            urllib.request.urlopen("http://127.0.0.1:{server.server_address[1]}/leak", timeout=2)
            reached = True
        except OSError:
            reached = False
        """
    try:
        assert all_passed(run(tmp_path, source, "def add(a, b):\n    return 0 if reached else a + b\n"))
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_replacing_the_hidden_tests_does_not_work(tmp_path):
    source = """
        import os, pathlib
        suite = pathlib.Path(os.environ["HARNESS_IMPL_DIR"]).parent / "suite"
        for name in ["test_adder.py", "conftest.py"]:
            try:
                (suite / name).write_text("def test_forged():\\n    pass\\n")
            except OSError:
                pass
        """
    result = run(tmp_path, source, WRONG)
    assert result.status is ScoreStatus.scored and not all_passed(result)
    assert {t.test_id.split("::")[1] for t in result.tests} == {"test_small", "test_negative", "test_zero"}
