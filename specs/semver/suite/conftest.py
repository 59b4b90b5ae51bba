"""Put the implementation under test ($HARNESS_IMPL_DIR) first on sys.path so `import semver` finds it."""
import os
import sys

_impl = os.environ.get("HARNESS_IMPL_DIR")
if not _impl:
    raise RuntimeError("HARNESS_IMPL_DIR is not set")
_impl = os.path.abspath(_impl)
if sys.path[:1] != [_impl]:
    sys.path.insert(0, _impl)
sys.modules.pop("semver", None)
