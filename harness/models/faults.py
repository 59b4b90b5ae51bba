"""How the gateway reads an exception from a provider: the model's context outgrown, the request refused as
written, a fault of the transport or provider worth retrying, or a final failure."""

from __future__ import annotations

from enum import Enum
from typing import Optional

# A provider's answer that the request itself is wrong (bad request, too large, unprocessable): never retried,
# and whose fault it is depends on who wrote the request (harness/models/endpoint.py). An exception litellm raises
# with no HTTP status, before anything is sent (a message it cannot translate), is taken as a 400. A prompt past
# the model's context is a 400 too, but it is the model's limit and is read first.
REJECTED_STATUS = (400, 413, 422)


class Fault(str, Enum):
    context = "context"  # the conversation outgrew the model's context: the model's limit
    rejected = "rejected"  # the request as written was refused
    transient = "transient"  # connection, timeout, 408, 429, 5xx: retried with back-off
    final = "final"  # anything else: the provider failed, and retrying will not help


def classify(litellm, exc: Exception) -> Fault:
    """Which Fault `exc` (one of litellm's exception classes, or what it let through) is."""
    # llama.cpp says a prompt is too long with a 400 whose type litellm does not map, hence the text
    if isinstance(exc, litellm.ContextWindowExceededError) or "exceed_context_size" in str(exc):
        return Fault.context
    status = getattr(exc, "status_code", None)
    # litellm.Timeout derives from openai's connection error, not litellm's, so it is named on its own
    transient = (isinstance(exc, (litellm.RateLimitError, litellm.InternalServerError,
                                  litellm.ServiceUnavailableError, litellm.BadGatewayError,
                                  litellm.APIConnectionError, litellm.Timeout))
                 or (isinstance(status, int) and (status in (408, 429) or status >= 500)))
    if status in REJECTED_STATUS or (status is None and not transient):
        return Fault.rejected
    return Fault.transient if transient else Fault.final


def retry_after(exc: Exception) -> Optional[float]:
    """The seconds a provider asked us to wait (its Retry-After header), if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
