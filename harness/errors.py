"""The few exceptions the harness raises on purpose.

Expected outcomes of a trial (no code in a reply, failing tests, a timeout) are not exceptions: they are statuses
on the trial record. These classes are for input the user must fix and for providers that stay down.
"""


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
