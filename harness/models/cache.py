"""Content-addressed response cache for model calls, in our hands rather than litellm's.

litellm's own disk cache ignores api_base, counts cost on hits and imports proxy modules on a hit, so the key and
the storage are ours. The key is the sha256 of everything that defines the answer: the provider-resolved model and
endpoint, every message, the tools, every sampling parameter, and the trial's sample index (so N samples at
temperature > 0 stay N entries). One file per entry, written atomically, so parallel workers and shared
filesystems see either nothing or a whole entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from harness.errors import HarnessError
from harness.records.atomic import quarantine, write_json_atomic
from harness.seams import Reply, ToolCall

log = logging.getLogger(__name__)

# Request fields that never change the answer, or must never be stored.
NOT_IN_KEY = {"api_key", "timeout", "max_retries", "drop_params"}
REJECTED = "rejected"  # the key of an entry that holds the provider's refusal of the request, not a reply


class CacheMode(str, Enum):
    off = "off"  # neither read nor write
    use = "use"  # read on a hit, call and write on a miss (the default)
    record = "record"  # always call, and (over)write
    replay = "replay"  # read only: a miss is an error and no provider is called


class CacheMiss(HarnessError):
    """Strict replay met a request that was never recorded."""


def request_key(request: dict[str, Any], sample: int) -> str:
    """The cache key of one request (see the module docstring for what goes in)."""
    material = {k: v for k, v in request.items() if k not in NOT_IN_KEY}
    material["sample"] = sample
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, root: Path, mode: CacheMode):
        self.root = Path(root)
        self.mode = mode

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, describe: str) -> Optional[dict]:
        """The stored entry, or None; in replay mode a miss raises CacheMiss naming the request."""
        if self.mode in (CacheMode.off, CacheMode.record):
            return None
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
            if not fits(entry):
                raise ValueError("not an entry")
            return entry
        except (ValueError, UnicodeDecodeError, RecursionError):  # torn or edited: moved aside, then a miss
            aside = quarantine(self.path(key))
            if aside is not None:
                log.warning("cache entry %s is corrupt; moved to %s", self.path(key), aside)
            return self.get(key, describe)
        except FileNotFoundError:
            if self.mode is CacheMode.replay:
                raise CacheMiss(f"replay: no recorded response for {describe} (cache key {key[:16]}) "
                                f"in {self.root}") from None
            return None

    def put(self, key: str, entry: dict) -> None:
        if self.mode in (CacheMode.off, CacheMode.replay):
            return
        write_json_atomic(self.path(key), entry)


def entry_of(reply: Reply, paid_by: Optional[str]) -> dict:
    """What the cache stores of a reply, with the trial that paid for the call."""
    return {"content": reply.content, "tool_calls": [c.__dict__ for c in reply.tool_calls],
            "finish_reason": reply.finish_reason, "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens, "cost_usd": reply.cost_usd,
            "ground_truth": reply.ground_truth, "paid_by": paid_by}


def reply_of(entry: dict, trial: Optional[str]) -> Reply:
    """A cached answer. One paid for by this same trial (an attempt killed after the call, before its record) is
    the trial's own call recovered: it keeps its cost and is no cache hit, so a resumed sweep's table equals an
    uninterrupted one. Any other hit costs nothing here: someone else paid."""
    own = trial is not None and entry.get("paid_by") == trial
    return Reply(content=entry["content"], tool_calls=tuple(ToolCall(**c) for c in entry["tool_calls"]),
                 finish_reason=entry["finish_reason"], prompt_tokens=entry["prompt_tokens"],
                 completion_tokens=entry["completion_tokens"], cost_usd=entry.get("cost_usd") if own else 0.0,
                 latency_s=0.0, attempts=0, ground_truth=entry.get("ground_truth"), cached=not own)


def fits(entry: Any) -> bool:
    """Whether `entry` is what `put` stores: a reply (`entry_of`) or a provider's refusal of the
    request (harness/models/gateway.py), with the types they are read back with."""
    if not isinstance(entry, dict):
        return False
    refusal = entry.get(REJECTED)
    if refusal is not None:
        return (isinstance(refusal, dict) and set(refusal) == {"message", "error_class", "status"}
                and isinstance(refusal["message"], str) and isinstance(refusal["error_class"], str)
                and type(refusal["status"]) is int)
    calls = entry.get("tool_calls")
    return (isinstance(entry.get("content"), (str, type(None))) and isinstance(entry.get("finish_reason"), str)
            and all(type(entry.get(k)) is int for k in ("prompt_tokens", "completion_tokens"))
            and isinstance(entry.get("cost_usd"), (int, float, type(None)))
            and isinstance(entry.get("ground_truth"), (str, type(None)))
            and isinstance(calls, list) and all(isinstance(c, dict) and set(c) == {"id", "name", "arguments"}
                                                and all(isinstance(v, str) for v in c.values()) for c in calls))
