"""A warm template that never says "ready" (an import or a mount that hangs on its way up) costs a bounded wait,
after which runs start cold; it never holds the lock every other run needs until it ends by itself."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from harness.sandbox import warm


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
