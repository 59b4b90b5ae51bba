"""Ctrl-C for trials running in threads (harness/sweep/pool.py). Python delivers it to the main thread only, so the
main thread calls `stop_all`: queued trials then never start, sandboxed runs in flight are killed (each run
registers how, with `killable`), and a trial's next model call raises KeyboardInterrupt in its own thread
(`check`). A trial that ends while the sweep is stopping is recorded `interrupted` (harness/trial/run.py): what
stopped it was the user, not the model."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_stop = threading.Event()
_lock = threading.Lock()
_kills: dict[int, Callable[[], None]] = {}
_ids = itertools.count()


def stopping() -> bool:
    return _stop.is_set()


def check() -> None:
    """Raise KeyboardInterrupt in a trial's thread once the sweep is stopping."""
    if _stop.is_set():
        raise KeyboardInterrupt


def stop_all() -> None:
    """Stop every trial of this process: none starts, and every registered run is killed."""
    _stop.set()
    with _lock:
        kills = list(_kills.values())
    for kill in kills:
        kill()


def reset() -> None:
    """Forget a stop (a new sweep in the same process, as the tests run them)."""
    _stop.clear()


@contextmanager
def killable(kill: Callable[[], None]) -> Iterator[None]:
    """Register how to kill a run while it runs; one started while stopping is killed at once."""
    key = next(_ids)
    with _lock:
        _kills[key] = kill
    try:
        if _stop.is_set():
            kill()
        yield
    finally:
        with _lock:
            _kills.pop(key, None)


def each(work: Callable[[T], R], items: Iterable[T], jobs: int) -> list[R]:
    """`work` on every item, `jobs` at once, results in the items' order. Ctrl-C reaches only the main thread: with
    one job the work runs there, as it always did; with more, the items not begun are dropped and the sandboxed
    runs in flight killed (`stop_all`), so the command ends at once instead of when they would have."""
    items = list(items)
    if jobs == 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            stop_all()
            raise
