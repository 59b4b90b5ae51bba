"""Semantic versions: parsing, precedence, bumping and constraint matching (reference implementation)."""
import re

class InvalidVersion(ValueError):
    """A version string or Version component is malformed."""


class InvalidConstraint(ValueError):
    """A constraint string is malformed."""


_NUMBER = re.compile(r"0|[1-9][0-9]*")
_IDENT = re.compile(r"[0-9A-Za-z-]+")


def _check_ident(ident, numeric_no_leading_zero):
    if not _IDENT.fullmatch(ident):
        raise InvalidVersion(f"invalid identifier: {ident!r}")
    if numeric_no_leading_zero and ident.isdigit() and not _NUMBER.fullmatch(ident):
        raise InvalidVersion(f"numeric prerelease identifier with leading zero: {ident!r}")
    return ident


def _cmp_prerelease(a, b):
    if a == b:
        return 0
    if not a:
        return 1
    if not b:
        return -1
    for x, y in zip(a, b):
        if x == y:
            continue
        x_num, y_num = x.isdigit(), y.isdigit()
        if x_num and y_num:
            return -1 if int(x) < int(y) else 1
        if x_num:
            return -1
        if y_num:
            return 1
        return -1 if x < y else 1
    return -1 if len(a) < len(b) else 1


class Version:
    def __init__(self, major, minor, patch, prerelease=(), build=()):
        for n in (major, minor, patch):
            if n < 0:
                raise InvalidVersion(f"invalid version number: {n!r}")
        self.major, self.minor, self.patch = major, minor, patch
        self.prerelease = tuple(_check_ident(i, True) for i in prerelease)
        self.build = tuple(_check_ident(i, False) for i in build)

    def __str__(self):
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def _cmp(self, other):
        mine = (self.major, self.minor, self.patch)
        theirs = (other.major, other.minor, other.patch)
        if mine != theirs:
            return -1 if mine < theirs else 1
        return _cmp_prerelease(self.prerelease, other.prerelease)

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) == 0

    def __lt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) < 0

    def __le__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) <= 0

    def __gt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) > 0

    def __ge__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) >= 0

    def __hash__(self):
        return hash((self.major, self.minor, self.patch, self.prerelease))

    def bump_major(self):
        return Version(self.major + 1, 0, 0)

    def bump_minor(self):
        return Version(self.major, self.minor + 1, 0)

    def bump_patch(self):
        return Version(self.major, self.minor, self.patch + 1)


def parse(text):
    rest, has_build, build = text.partition("+")
    core, has_pre, pre = rest.partition("-")
    numbers = core.split(".")
    if len(numbers) != 3 or not all(_NUMBER.fullmatch(n) for n in numbers):
        raise InvalidVersion(f"invalid version: {text!r}")
    prerelease = pre.split(".") if has_pre else ()
    build_ids = build.split(".") if has_build else ()
    try:
        return Version(*(int(n) for n in numbers), prerelease, build_ids)
    except InvalidVersion:
        raise InvalidVersion(f"invalid version: {text!r}") from None


def _coerce(value):
    return value if isinstance(value, Version) else parse(value)


def compare(a, b):
    return _coerce(a)._cmp(_coerce(b))


_OPERATORS = {
    ">=": lambda c: c >= 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    "<": lambda c: c < 0,
    "=": lambda c: c == 0,
}
_WILD_MAJOR = re.compile(r"(0|[1-9][0-9]*)\.x")
_WILD_MINOR = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.x")


def _constraint_version(text, term):
    try:
        return parse(text)
    except InvalidVersion:
        raise InvalidConstraint(f"invalid term: {term!r}") from None


def _parse_term(term):
    # One term becomes a list of (operator, Version) comparators that must all hold.
    if term == "*":
        return []
    m = _WILD_MINOR.fullmatch(term)
    if m:
        major, minor = int(m.group(1)), int(m.group(2))
        return [(">=", Version(major, minor, 0)), ("<", Version(major, minor + 1, 0))]
    m = _WILD_MAJOR.fullmatch(term)
    if m:
        major = int(m.group(1))
        return [(">=", Version(major, 0, 0)), ("<", Version(major + 1, 0, 0))]
    if term.startswith("^"):
        v = _constraint_version(term[1:], term)
        if v.major > 0:
            upper = Version(v.major + 1, 0, 0)
        elif v.minor > 0:
            upper = Version(0, v.minor + 1, 0)
        else:
            upper = Version(0, 0, v.patch + 1)
        return [(">=", v), ("<", upper)]
    if term.startswith("~"):
        v = _constraint_version(term[1:], term)
        return [(">=", v), ("<", Version(v.major, v.minor + 1, 0))]
    for op in (">=", "<=", ">", "<", "="):
        if term.startswith(op):
            return [(op, _constraint_version(term[len(op):], term))]
    return [("=", _constraint_version(term, term))]


def _parse_constraint(constraint):
    alternatives = []
    for part in constraint.split("||"):
        terms = part.split()
        if not terms:
            raise InvalidConstraint(f"empty alternative in {constraint!r}")
        alternatives.append([c for term in terms for c in _parse_term(term)])
    return alternatives


def satisfies(version, constraint):
    v = _coerce(version)
    alternatives = _parse_constraint(constraint)
    return any(all(_OPERATORS[op](v._cmp(bound)) for op, bound in alt) for alt in alternatives)
