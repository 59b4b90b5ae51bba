"""How much of one implementation's code is in another: winnowed fingerprints of normalised Python tokens.

This tells a copied child (similarity near 1) from one written again (well below): MOSS's method (Schleimer,
Wilkerson and Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003) on tokens that
forget names, literals, comments and layout. Written here rather than taken from a package: the one packaged
implementation we found (copydetect) has not been released since early 2024 and brings a report generator with
it, while the method is twenty lines over the standard library's tokenizer.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from pathlib import Path

from harness.sandbox.untrusted import read_tree
from harness.sandbox.walk import OWN_TREES

K = 12  # tokens per k-gram: shorter matches are noise (every loop looks like every other)
WINDOW = 8  # k-grams per window: any match of K + WINDOW - 1 tokens is guaranteed to be found


def tokens(source: str) -> list[str]:
    """Python tokens with what renaming and reformatting change taken out: identifiers become `N`, strings `S`,
    numbers `0`; comments, blank lines and indentation widths are dropped. Text that does not tokenize falls
    back to its whitespace-separated words."""
    kept: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                kept.append(token.string if keyword.iskeyword(token.string) else "N")
            elif token.type == tokenize.STRING:
                kept.append("S")
            elif token.type == tokenize.NUMBER:
                kept.append("0")
            elif token.type in (tokenize.OP, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE):
                kept.append(token.string if token.type == tokenize.OP else tokenize.tok_name[token.type])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source.split()
    return kept


def fingerprints(source: str) -> set[int]:
    """The winnowed fingerprint set: in every window of WINDOW consecutive k-gram hashes, the smallest (the
    rightmost on a tie), each kept once."""
    words = tokens(source)
    hashes = [int.from_bytes(hashlib.blake2b(" ".join(words[i:i + K]).encode(), digest_size=8).digest(), "big")
              for i in range(max(len(words) - K + 1, 0))]
    if len(hashes) <= WINDOW:
        return set(hashes)
    chosen = set()
    for start in range(len(hashes) - WINDOW + 1):
        window = hashes[start:start + WINDOW]
        low = min(window)
        chosen.add((start + WINDOW - 1 - window[::-1].index(low), low))
    return {value for _, value in chosen}


def similarity(left: str, right: str) -> float:
    """Jaccard similarity of the two fingerprint sets, in [0, 1]: 1 for the same code under other names and
    layout, near 0 for code that shares no run of K + WINDOW - 1 tokens. Two empty sources count as equal."""
    a, b = fingerprints(left), fingerprints(right)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def source_of(impl_dir: Path) -> str:
    """An implementation's Python files, in path order, as one text (untrusted code is only read, never run, and
    read as any tree a child wrote is: harness/sandbox/untrusted.py)."""
    files = read_tree(impl_dir, OWN_TREES).files
    return "\n".join(text for rel, text in files.items() if rel.endswith(".py"))
