"""The local model's server process: llama.cpp's OpenAI-compatible HTTP server (the `xllamacpp` wheel), alone
in a process the harness starts (harness/models/local.py) and can therefore kill.

    python -m harness.models.llama_server MODEL.gguf --alias smollm2 --ctx 4096 --parallel 2 --threads 2

It binds a port the kernel picks on 127.0.0.1 only, prints one JSON line on stdout once the model is loaded and
the server listens ({"address": "http://127.0.0.1:PORT"}), then serves until its stdin reaches end of file. The
harness holds the other end of that pipe and never writes to it: when the harness process ends for any reason,
SIGKILL included, the kernel closes the pipe and this process exits. Nothing else is needed for it never to be
orphaned, and it does not depend on which thread of the harness started it (a parent-death signal would).
llama.cpp's log goes to stderr, which the harness sends to a file in the experiment folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="llama_server", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the GGUF file to serve")
    parser.add_argument("--alias", required=True, help="the model name requests give")
    parser.add_argument("--ctx", type=int, required=True, help="context of each slot, in tokens")
    parser.add_argument("--parallel", type=int, required=True, help="slots: requests decoded together")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads for decoding and prompts")
    parser.add_argument("--port", type=int, default=0, help="0: a free port the kernel picks")
    return parser.parse_args(argv)


# Our settings of llama.cpp's that change what it answers: part of a local model's identity (local.describe), in
# every trial id and cached reply of it, so replies made under other settings are never taken for these.
# No prompt cache: a request whose prompt a slot still held was decoded from it and, at temperature 0, replied
# otherwise than the same request from scratch (wordfreq's one-shot prompt: 4 runs of 4; semver's: 1 of 1), so
# a trial's reply hung on the server's state. Reproducible replies cost each trial its prompt again (wordfreq's
# 1,472 tokens: about 8 s more at load average 3 to 5).
# No context shift: a full context ends the reply (finish_reason "length") rather than dropping its start.
ANSWERING = {"cache_prompt": False, "ctx_shift": False}


def params(args: argparse.Namespace):
    """llama.cpp's server settings. The context is given per slot: llama.cpp splits its total among the slots."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.model_alias = {args.alias}
    p.n_parallel = args.parallel
    p.n_ctx = args.ctx * args.parallel
    p.port = args.port
    p.hostnames = ["127.0.0.1"]
    p.use_jinja = True  # the GGUF's own chat template, which is what makes tool calls parseable where a model has them
    for cpu in (p.cpuparams, p.cpuparams_batch):
        cpu.n_threads = args.threads
        cpu.poll = 0  # no busy-waiting between batches: the sandboxed suites share these cores
    p.warmup = False  # a warm-up decode costs seconds under load and changes no answer
    for name, value in ANSWERING.items():
        setattr(p, name, value)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    import xllamacpp

    server = xllamacpp.Server(params(args))  # returns once the model is loaded and the port listens
    print(json.dumps({"address": server.listening_address, "version": xllamacpp.__version__}), flush=True)
    sys.stdin.buffer.read()  # blocks until the harness closes its end, or dies
    os._exit(0)  # at once: llama.cpp's own shutdown waits for replies in flight, which nobody will read


if __name__ == "__main__":
    main()
