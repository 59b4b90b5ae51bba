"""A child's output, read through capped pipes: what is kept of each stream, and the limit on all of them."""

from __future__ import annotations

import threading
from typing import BinaryIO, Callable, Optional


class OutputLimit:
    """Counts output across a child's streams and fires `kill` once when it passes `limit` bytes."""

    def __init__(self, limit: int, kill: Callable[[], None]):
        self.limit, self.kill, self.seen, self.exceeded = limit, kill, 0, False
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.seen += n
            if self.seen > self.limit and not self.exceeded:
                self.exceeded = True
                self.kill()


class Drain(threading.Thread):
    """Reads a stream to its end, keeping the first `keep` bytes and counting every byte against `limit`."""

    def __init__(self, stream: BinaryIO, keep: int, limit: Optional[OutputLimit]):
        super().__init__(daemon=True)
        self.stream, self.keep, self.limit = stream, keep, limit
        self.kept, self.total = bytearray(), 0
        self.start()

    def run(self) -> None:
        with self.stream:
            while chunk := self.stream.read1(65536):
                self.total += len(chunk)
                if len(self.kept) < self.keep:
                    self.kept += chunk[: self.keep - len(self.kept)]
                if self.limit:
                    self.limit.add(len(chunk))

    def text(self) -> str:
        text = bytes(self.kept).decode("utf-8", errors="replace")
        return text + (f"\n[output truncated by the harness: {self.total} bytes]" if self.total > self.keep else "")
