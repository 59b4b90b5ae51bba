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


def fits(entry: Any) -> bool:
    """Whether `entry` is what `put` stores: a reply (`harness.seams.Reply.entry`) or a provider's refusal of the
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
