"""What is counted: lines, words (runs of non-whitespace bytes) and bytes, on standard input."""
import pytest


def ok(res, expected):
    assert (res.code, res.err, res.out) == (0, "", expected), res


def test_default_prints_lines_words_bytes(run):
    ok(run(stdin="hello world\n"), "1 2 12\n")


def test_a_last_line_without_newline_is_not_a_line(run):
    ok(run(stdin="a\nb"), "1 2 3\n")


def test_empty_input(run):
    ok(run(stdin=""), "0 0 0\n")


def test_only_whitespace_has_no_words(run):
    ok(run(stdin=" \t\n\v\f\r \n"), "2 0 8\n")


@pytest.mark.parametrize("space", [b" ", b"\t", b"\n", b"\v", b"\f", b"\r", b"  \t\r\n "])
def test_each_whitespace_byte_separates_words(run, space):
    data = b"one" + space + b"two" + space + b"three"
    lines = data.count(b"\n")
    ok(run(stdin=data), f"{lines} 3 {len(data)}\n")


@pytest.mark.parametrize("data, words", [
    (b"caf\xc3\xa9 na\xefve", 2),  # bytes of 0x80 and above are word bytes
    (b"a\xc2\xa0b", 1),  # a no-break space (UTF-8) is not one of the six
    (b"a\xe2\x80\x83b \xe3\x80\x80", 2),  # nor an em space or an ideographic space
    (b"\x00 \x00\x00", 2),  # nor NUL
    (b"\x1c\x1d\x1e\x1f", 1),  # nor the ASCII separators that str.split would take
    (b"\xff\xfe\x85", 1),  # undecodable bytes, 0x85 (NEL) among them
    (b"well-known snake_case don't x,y", 4),  # punctuation is part of a word
])
def test_every_other_byte_is_part_of_a_word(run, data, words):
    ok(run(stdin=data), f"0 {words} {len(data)}\n")


def test_crlf_lines(run):
    ok(run(stdin=b"a\r\nb\r\n"), "2 2 6\n")


def test_leading_and_trailing_whitespace(run):
    ok(run(stdin="\n\n  x  \n"), "3 1 8\n")


def test_a_large_input(run):
    data = b"word " * 50_000 + b"\n" * 20_000 + b"x"
    ok(run(stdin=data), f"20000 50001 {len(data)}\n")
