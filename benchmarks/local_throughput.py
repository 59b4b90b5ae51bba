"""Benchmark: the local model's generation throughput at 1, 2 and 4 server slots (llama.cpp decodes the requests
of its slots together), and a real-model sweep's throughput beside the server's best.

    python benchmarks/local_throughput.py [--slots 1,2,4] [--threads 1] [--max-tokens 256] [--rounds 2]
                                          [--prompt short|semver]
    python benchmarks/local_throughput.py --slots 2 --prompt semver --max-tokens 512 --sweep [--concurrency 0]

Each setting starts its own server (harness/models/local.py) and keeps every slot busy with `rounds` waves of
requests at once (a one-line request, or a spec's one-shot prompt; temperature 0.7, a seed each, `max_tokens`
each). It prints
completion tokens per second of wall time, and per second of the server's CPU time: the machine is shared, and
the second says how well the server used the CPU it got, whatever the load. `--sweep` then runs
`experiment=real-demo` from an empty cache in a temporary runs dir, in this process as the `harness` command
would, and prints its completion tokens per second of model time (first request to last reply) and per second of
its server's CPU time, and their ratios to the best setting's (give the sweep's prompts and `max_tokens`, as in
the second line above, for a like-for-like comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.config.schema import LocalParams, ModelConfig  # noqa: E402
from harness.generation.oneshot import OUTPUT_CONTRACT  # noqa: E402
from harness.models import local  # noqa: E402
from harness.specs.loading import load_spec  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SHORT = "Write a Python module semver.py that parses, compares and bumps semantic versions."


def prompt(spec: str) -> list[dict]:
    """The semver spec's one-shot prompt (1,830 tokens), or a one-line request (`short`: decoding, not prompts)."""
    if spec == "short":
        return [{"role": "user", "content": SHORT}]
    loaded = load_spec(ROOT / "specs", spec)
    text = loaded.text + OUTPUT_CONTRACT.format(example=loaded.entry_files[0],
                                                entry_files=", ".join(loaded.entry_files))
    return [{"role": "system", "content": "You are an expert Python programmer."}, {"role": "user", "content": text}]


def ask(base: str, seed: int, max_tokens: int, spec: str, out: list) -> None:
    body = {"model": "smollm2", "messages": prompt(spec), "temperature": 0.7, "seed": seed, "max_tokens": max_tokens}
    request = urllib.request.Request(base + "/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as response:
        out.append(json.loads(response.read())["usage"]["completion_tokens"])


def measure(slots: int, threads: int, max_tokens: int, rounds: int, spec: str, log_dir: Path) -> dict:
    """Start a server with `slots` slots, keep them all busy for `rounds` waves, and stop it."""
    model = ModelConfig(name="smollm2", litellm_model="openai/smollm2",
                        local=LocalParams(n_ctx=4096, n_parallel=slots, threads=threads))
    key = local.server_key(model, Path(os.environ.get("HARNESS_DOWNLOADS", Path.home() / ".cache/bootstrap-harness")))
    server = local.LocalServer(key, log_dir / f"bench-{slots}.log", 300).start()
    try:
        tokens: list[int] = []
        cpu0, wall0 = cpu_seconds(server.proc.pid), time.monotonic()
        workers = [threading.Thread(target=ask, args=(server.address + "/v1", seed, max_tokens, spec, tokens))
                   for seed in range(slots * rounds)]
        for i in range(0, len(workers), slots):  # a wave fills every slot at once
            for w in workers[i:i + slots]:
                w.start()
            for w in workers[i:i + slots]:
                w.join()
        wall, cpu = time.monotonic() - wall0, cpu_seconds(server.proc.pid) - cpu0
    finally:
        server.stop()
    total = sum(tokens)
    return {"slots": slots, "threads": key.threads, "tokens": total, "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "tok_per_s": round(total / wall, 1), "tok_per_cpu_s": round(total / cpu, 1)}


def sweep(runs: Path, concurrency: int) -> dict:
    """experiment=real-demo from an empty cache; tokens per second of the time the model was working."""
    from tests.conftest import sweep as run_sweep  # the command's own planning and pool, in this process

    overrides = [f"runs_dir={runs}", "experiment=real-demo"]
    if concurrency:
        overrides.append(f"launch.concurrency={concurrency}")
    wall0 = time.monotonic()
    run_sweep(*overrides)
    wall = time.monotonic() - wall0
    cpu = sum(cpu_seconds(s.proc.pid) for s in local.running())  # the sweep's own server, started for it
    events = [json.loads(line) for t in (runs / "real-demo" / "trials").glob("*/transcript.jsonl")
              for line in t.read_text().splitlines()]
    done = [e for e in events if e.get("event") == "completion" and e.get("cache") == "miss"]
    tokens = sum(e["usage"][1] for e in done)
    span = max(e["at"] for e in done) - min(e["at"] - e["latency_s"] for e in done)
    local.stop_all()
    return {"calls": len(done), "tokens": tokens, "model_s": round(span, 1), "sweep_wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "tok_per_s": round(tokens / span, 1), "tok_per_cpu_s": round(tokens / cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", default="1,2,4")
    parser.add_argument("--threads", type=int, default=1, help="0: the usable cores")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompt", default="short", help="short, or a spec's one-shot prompt (semver)")
    parser.add_argument("--sweep", action="store_true", help="also run experiment=real-demo and compare")
    parser.add_argument("--concurrency", type=int, default=0, help="the sweep's launch.concurrency; 0: preset's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        results = [measure(int(s), args.threads, args.max_tokens, args.rounds, args.prompt,
                           Path(tmp)) for s in args.slots.split(",")]
        for r in results:
            print(json.dumps(r), flush=True)
        if args.sweep:  # compare with the same prompts and max_tokens: --prompt semver --max-tokens 512
            best = max(results, key=lambda r: r["tok_per_s"])
            result = sweep(Path(tmp) / "runs", args.concurrency)
            print(json.dumps({"sweep": result, "server_best": best,
                              "ratio": round(result["tok_per_s"] / best["tok_per_s"], 2),
                              "ratio_per_cpu_s": round(result["tok_per_cpu_s"] / best["tok_per_cpu_s"], 2)}))


if __name__ == "__main__":
    main()
