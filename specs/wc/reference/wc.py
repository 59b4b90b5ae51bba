"""wc: the reference implementation of specs/wc/spec.md."""

import sys


def counts(data):
    """(lines, words, bytes) of one input; bytes.split() splits on exactly the spec's six whitespace bytes."""
    return data.count(b"\n"), len(data.split()), len(data)


def parse(args):
    """(selected count indexes, operands), or None for a usage error."""
    chosen, operands = set(), []
    for arg in args:
        if arg == "-" or not arg.startswith("-"):
            operands.append(arg)
        elif set(arg[1:]) <= set("lwc"):
            chosen.update("lwc".index(letter) for letter in arg[1:])
        else:
            return None
    return sorted(chosen) or [0, 1, 2], operands


def read(operand):
    if operand == "-":
        return sys.stdin.buffer.read()
    with open(operand, "rb") as handle:
        return handle.read()


def line(values, chosen, name):
    return " ".join([str(values[i]) for i in chosen] + ([name] if name is not None else [])) + "\n"


def main(args):
    parsed = parse(args)
    if parsed is None:
        sys.stderr.write("usage: wc.py [-lwc] [FILE ...]\n")
        return 2
    chosen, operands = parsed
    total, status = [0, 0, 0], 0
    for operand in operands or ["-"]:  # no operand: standard input, and no name on its line
        try:
            values = counts(read(operand))
        except OSError:
            sys.stderr.write(f"wc: {operand}: cannot read\n")
            status = 1
            continue
        total = [t + v for t, v in zip(total, values)]
        sys.stdout.write(line(values, chosen, operand if operands else None))
    if len(operands) > 1:
        sys.stdout.write(line(total, chosen, "total"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
