#!/usr/bin/env python3
"""wordfreq: count word frequencies in files or standard input.

Reference implementation for specs/wordfreq/spec.md.
"""
import argparse
import json
import re
import sys

PROG = "wordfreq"
WORD_RE = re.compile(rb"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")
COUNT_RE = re.compile(r"[0-9]+")


def count_arg(text):
    """Argument type for --top and --min-length: one or more ASCII digits."""
    if not COUNT_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description="Count word frequencies.")
    parser.add_argument("--top", type=count_arg, default=10, metavar="N",
                        help="print at most N words; 0 prints all (default 10)")
    parser.add_argument("--min-length", type=count_arg, default=1, metavar="N",
                        help="ignore words shorter than N characters (default 1)")
    parser.add_argument("--ignore-case", dest="fold", action="store_true", default=True,
                        help="fold words to lower case (default)")
    parser.add_argument("--case-sensitive", dest="fold", action="store_false",
                        help="keep words as written")
    parser.add_argument("--stopwords", metavar="FILE", help="file of words to ignore")
    parser.add_argument("--format", choices=["text", "json", "csv"], default="text",
                        help="output format (default text)")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="input files; '-' or none means standard input")
    return parser


def read_file(path):
    """Return the bytes of the file at path, or None if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def extract_words(data, fold):
    if fold:
        data = data.lower()
    return [match.decode("ascii") for match in WORD_RE.findall(data)]


def render(rows, fmt):
    if fmt == "json":
        return json.dumps([{"word": word, "count": count} for word, count in rows]) + "\n"
    if fmt == "csv":
        return "".join(f"{word},{count}\n" for word, count in [("word", "count")] + rows)
    if not rows:
        return ""
    width = max(len(str(count)) for _, count in rows)
    return "".join(f"{count:>{width}} {word}\n" for word, count in rows)


def main(argv=None):
    args = build_parser().parse_args(argv)

    stopwords = set()
    if args.stopwords is not None:
        data = read_file(args.stopwords)
        if data is None:
            sys.stderr.write(f"{PROG}: cannot read {args.stopwords}\n")
            return 2
        stopwords = set(extract_words(data, args.fold))

    counts = {}
    status = 0
    for path in args.files or ["-"]:
        data = sys.stdin.buffer.read() if path == "-" else read_file(path)
        if data is None:
            sys.stderr.write(f"{PROG}: cannot read {path}\n")
            status = 1
            continue
        for word in extract_words(data, args.fold):
            if len(word) < args.min_length or word in stopwords:
                continue
            counts[word] = counts.get(word, 0) + 1

    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if args.top > 0:
        rows = rows[:args.top]
    sys.stdout.write(render(rows, args.format))
    return status


if __name__ == "__main__":
    sys.exit(main())
