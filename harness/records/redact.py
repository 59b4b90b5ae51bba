"""Keep secrets out of everything the harness writes: transcripts, logs and records pass through `redact`."""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
MIN_SECRET_LENGTH = 8  # shorter values would blank out ordinary words
MASK = "[REDACTED]"


def known_secrets(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Values of environment variables whose names look like credentials, longest first."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))


def redact(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """A copy of `value` (str, or nested dicts and lists of them) with every secret replaced by a mask."""
    secrets = tuple(known_secrets() if secrets is None else secrets)
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value


class RedactingFilter:
    """A logging filter that masks known secrets in every record's final message."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def redact_logs() -> None:
    """Mask secrets in everything the root logger's handlers write (idempotent)."""
    import logging

    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
