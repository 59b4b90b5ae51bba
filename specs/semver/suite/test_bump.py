"""bump_major / bump_minor / bump_patch."""
import pytest

from semver import Version, parse

CASES = [
    # text, major, minor, patch
    ("0.0.0", "1.0.0", "0.1.0", "0.0.1"),
    ("1.2.3", "2.0.0", "1.3.0", "1.2.4"),
    ("9.9.9", "10.0.0", "9.10.0", "9.9.10"),
    ("1.2.3-rc.1", "2.0.0", "1.3.0", "1.2.4"),
    ("1.2.3+build.7", "2.0.0", "1.3.0", "1.2.4"),
    ("0.5.0-alpha+exp", "1.0.0", "0.6.0", "0.5.1"),
]


@pytest.mark.parametrize("text, major, minor, patch", CASES)
def test_bumps(text, major, minor, patch):
    v = parse(text)
    results = [v.bump_major(), v.bump_minor(), v.bump_patch()]
    assert [str(r) for r in results] == [major, minor, patch]
    for r in results:
        assert isinstance(r, Version)
        assert r.prerelease == () and r.build == ()


def test_bump_leaves_original_unchanged():
    v = parse("1.2.3-rc.1+b")
    v.bump_major()
    v.bump_minor()
    v.bump_patch()
    assert str(v) == "1.2.3-rc.1+b"
    assert (v.major, v.minor, v.patch, v.prerelease, v.build) == (1, 2, 3, ("rc", "1"), ("b",))


def test_bumped_value_fields():
    r = Version(3, 4, 5, ("x",)).bump_minor()
    assert (r.major, r.minor, r.patch) == (3, 5, 0)
    r = Version(3, 4, 5).bump_major()
    assert (r.major, r.minor, r.patch) == (4, 0, 0)
    r = Version(3, 4, 5).bump_patch()
    assert (r.major, r.minor, r.patch) == (3, 4, 6)
