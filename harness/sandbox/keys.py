"""Provider keys and the process backend: code under `process` shares the harness's process tree, uid and /proc.

It can read the harness's environment as the kernel shows it (/proc/<pid>/environ: the block the process started
with, which unsetenv does not erase) and, as the same user, its memory. No scrubbing inside the harness can keep a
key from it, so the process backend refuses to start while one is there: export keys only where bwrap runs.
"""

from __future__ import annotations

import os
from typing import Iterable

from harness.errors import ConfigError

# Variables named like this hold a secret (OPENAI_API_KEY, HF_TOKEN, AWS_SECRET_ACCESS_KEY, ...).
SECRET_SUFFIXES = ("API_KEY", "APIKEY", "_TOKEN", "_SECRET", "SECRET_KEY", "_ACCESS_KEY", "_PASSWORD")


def provider_keys(also: Iterable[str] = ()) -> list[str]:
    """Names of the variables holding a secret (by SECRET_SUFFIXES, or named in `also`) that are set, with a
    value, in this process's environment: os.environ or the block /proc/self/environ shows."""
    names = {name for name, value in os.environ.items() if value}
    try:
        with open("/proc/self/environ", "rb") as block:
            names |= {os.fsdecode(item.partition(b"=")[0]) for item in block.read().split(b"\0")
                      if item.partition(b"=")[2]}
    except OSError:
        pass
    wanted = set(filter(None, also))
    return sorted(name for name in names if name in wanted or name.upper().endswith(SECRET_SUFFIXES))


def refuse_keys(also: Iterable[str] = ()) -> None:
    """Raise ConfigError, naming them, while provider keys are in this process's environment."""
    found = provider_keys(also)
    if found:
        raise ConfigError(f"sandbox=process would run untrusted code beside {', '.join(found)}: it could read "
                          "them from this process's environment (/proc/<pid>/environ); use sandbox=bwrap, or "
                          "unset them (start the harness without them) for an offline run")
