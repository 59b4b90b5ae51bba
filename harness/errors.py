"""The few exceptions the harness raises on purpose, and how a console script ends on them.

Expected outcomes of a trial (no code in a reply, failing tests, a timeout) are not exceptions: they are statuses
on the trial record. These classes are for input the user must fix and for providers that stay down.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable, Optional

BAD_INPUT_EXIT = 2  # every console script, on input it cannot use: one line, nothing written
INTERRUPTED_EXIT = 130  # Ctrl-C, as a shell reports a process ended by SIGINT


class HarnessError(Exception):
    """Base class: an error with a message meant for the user, printed as one line without a traceback."""


class ConfigError(HarnessError):
    """The configuration names something that does not exist or is incomplete (unknown spec, missing key, ...)."""


class SpecError(ConfigError):
    """A spec folder is missing a part or its manifest is malformed."""


class ProviderError(HarnessError):
    """A model provider kept failing after every retry; the trial is recorded as `infra_error`."""

    def __init__(self, message: str, error_class: str):
        super().__init__(message)
        self.error_class = error_class


class ContextExceeded(HarnessError):
    """The conversation no longer fits the model's context: the model's limit, recorded as `context_full` and
    counted against it."""


class RequestRejected(ProviderError):
    """The provider refused one request as malformed (HTTP 400, 413 or 422: retrying it cannot help). Whose fault
    that is depends on who wrote the request: a request the harness made is infra, like any ProviderError; one an
    agent under test made is the agent's failure, answered to it (harness/models/endpoint.py)."""

    def __init__(self, message: str, error_class: str, status: int):
        super().__init__(message, error_class)
        self.status = status


def command(prog: str, interrupted: str = "") -> Callable[[Callable[..., Optional[int]]], Callable[..., None]]:
    """Decorate a console script's `main(argv=None)`: a HarnessError ends it with one line (`prog: error: ...`)
    and exit 2, Ctrl-C with one line and exit 130 (`interrupted` says what the user should know then).
    argparse's own usage errors already exit 2."""
    def wrap(main: Callable[..., Optional[int]]) -> Callable[..., None]:
        @functools.wraps(main)
        def run(argv: Optional[list[str]] = None) -> None:
            try:
                code = main(argv)
            except HarnessError as exc:
                print(f"{prog}: error: {_one_line(str(exc))}", file=sys.stderr)
                raise SystemExit(BAD_INPUT_EXIT) from None
            except KeyboardInterrupt:
                print(f"{prog}: interrupted" + (f"; {interrupted}" if interrupted else ""), file=sys.stderr)
                raise SystemExit(INTERRUPTED_EXIT) from None
            if code:
                raise SystemExit(code)
        return run
    return wrap


def _one_line(text: str) -> str:
    """A message folded onto one line (a path or a provider's message may hold newlines)."""
    return " ".join(text.split())
