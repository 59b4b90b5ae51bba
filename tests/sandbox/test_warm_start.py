"""A warm template that never says "ready" (an import or a mount that hangs on its way up) costs a bounded wait,
after which runs start cold; it never holds the lock every other run needs until it ends by itself. A template
lives as long as the harness, whichever thread's run started it."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.sandbox import warm
from harness.sandbox.backends import BwrapSandbox, bwrap_available
from harness.scoring.rooms import score
from harness.specs.loading import load_spec
from tests.conftest import ROOT


def test_a_template_that_hangs_starting_is_given_up_on_and_runs_start_cold(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(warm, "PATIENCE_S", 1.0)
    pid_file, folders = tmp_path / "pid", []

    def launch(folder: Path):
        folders.append(folder)
        hang = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
        return [sys.executable, "-c", hang], dict(os.environ), []

    template = warm.Warm(launch)
    request = warm.WarmRequest(["-q"], {}, str(tmp_path))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=warm.__name__):
        assert template.spawn(request, [], lambda pid: None) is None
    assert time.monotonic() - started < 30  # its 60 s sleep was not waited out
    assert "the warm template did not start" in caplog.text
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not left to sleep on
    assert not folders[0].exists()
    assert template.spawn(request, [], lambda pid: None) is None and len(folders) == 1  # not tried again


def test_a_template_that_says_something_else_is_given_up_on(tmp_path):
    template = warm.Warm(lambda folder: ([sys.executable, "-c", "print('not ready')"], dict(os.environ), []))
    assert template.spawn(warm.WarmRequest(["-q"], {}, str(tmp_path)), [], lambda pid: None) is None


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed")
def test_a_template_outlives_the_thread_whose_run_started_it(tmp_path):
    # bwrap's --die-with-parent follows the thread that started it: a template started by a trial's thread was
    # killed when that thread ended, and the next run started another.
    sandbox = BwrapSandbox()
    sandbox.warm.close()  # whichever thread started this process's template, the next run starts it anew
    spec = load_spec(ROOT / "specs", "semver")
    first = []
    thread = threading.Thread(target=lambda: first.append(score(spec, spec.reference_dir, sandbox)))
    thread.start()
    thread.join()
    assert first[0].passed, first[0].detail
    pid = sandbox.warm.pid()
    assert pid is not None
    again = score(spec, spec.reference_dir, sandbox)
    assert again.passed and sandbox.warm.pid() == pid
