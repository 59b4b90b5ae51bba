"""Processes that must outlive the thread that asked for them, started from one daemon thread.

bwrap runs with --die-with-parent, and the kernel ties that to the thread that started it, not the process: a warm
template started from a trial's thread was killed when that thread ended (a launcher job's pool of trials, a
kill-rate audit's pool of mutants), and the next run paid for a new one. Not a ThreadPoolExecutor: concurrent.futures
stops its threads at interpreter exit before the other threads are waited for, which would kill the templates they
still use.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from concurrent.futures import Future
from typing import Any, Optional

_asks: "queue.SimpleQueue[tuple[Future, list[str], dict]]" = queue.SimpleQueue()
_lock = threading.Lock()
_thread: Optional[threading.Thread] = None


def popen(argv: list[str], **options: Any) -> subprocess.Popen:
    """`subprocess.Popen(argv, **options)`, run on the starter thread (started on first use, and again in a process
    forked since); its errors are raised here."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_serve, name="process-starter", daemon=True)
            _thread.start()
    done: Future = Future()
    _asks.put((done, argv, options))
    return done.result()


def _serve() -> None:
    while True:
        done, argv, options = _asks.get()
        try:
            done.set_result(subprocess.Popen(argv, **options))
        except BaseException as exc:  # noqa: BLE001 -- raised in the asking thread
            done.set_exception(exc)
