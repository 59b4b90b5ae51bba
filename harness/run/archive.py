"""Portable replay: pack a sweep's response cache and trial configs; replay them elsewhere without any API key.

    harness-archive export runs/demo demo.tar.gz
    harness-archive replay demo.tar.gz --runs-dir /tmp/replayed

Replay runs every recorded trial again from its own resolved config, with the cache in strict replay mode: a
request that was never recorded fails its trial (infra_error, CacheMiss) instead of reaching a provider. The
replayed table equals the original but for what a replay cannot keep: created_at, durations, git_sha, and
cost_usd / cache_hits (a replay spends nothing). Each trial logs its verdict as it ends, and the end prints the
summary a sweep prints (harness.sweep.end.end_of_sweep).
"""

from __future__ import annotations

import argparse
import json
import logging
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

from omegaconf.errors import OmegaConfBaseException

from harness.config.schema import PROJECT_ROOT, HarnessConfig, from_plain, validate
from harness.errors import ConfigError, command
from harness.records.store import RecordStore
from harness.sweep.end import end_of_sweep

CONFIGS = "configs.jsonl"


def export(run_dir: Path, archive: Path) -> int:
    """Write the experiment's cache and one config per sweep job into a .tar.gz; returns the job count."""
    records = RecordStore(run_dir).all()
    jobs = {json.dumps(r["config"], sort_keys=True) for r in records if not r.get("parent_trial_id")}
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / CONFIGS
        listing.write_text("".join(sorted(j + "\n" for j in jobs)))
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(listing, arcname=CONFIGS)
            cache = run_dir / "cache"
            if cache.is_dir():
                tar.add(cache, arcname="cache")
    return len(jobs)


def replay(archive: Path, runs_dir: Path, specs_dir: Path) -> Optional[Path]:
    """Re-run every job of the archive against its cache only, each trial logging its verdict as it ends; returns
    the replayed experiment folder (None for an archive of no jobs). Its tables are built by `end_of_sweep`."""
    from harness.trial.front_door import run_trials  # imported late: it pulls in the whole pipeline

    source = runs_dir / ".replay"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(source, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:  # truncated, not gzip, or an unsafe member
        raise ConfigError(f"{archive} is not a readable harness archive ({type(exc).__name__}: {exc})") from exc
    if not (source / CONFIGS).is_file():
        raise ConfigError(f"{archive} holds no {CONFIGS}: make archives with `harness-archive export`")
    run_dir = None
    for line in (source / CONFIGS).read_text().splitlines():
        cfg = _replay_config(line, runs_dir, specs_dir, source / "cache")
        run_trials(cfg)
        run_dir = Path(cfg.runs_dir) / cfg.experiment.name
    return run_dir


def _replay_config(line: str, runs_dir: Path, specs_dir: Path, cache: Path) -> HarnessConfig:
    """One job's config from the archive, pointed at this machine's folders and checked as the command checks
    its own: an archive is input like any other (an experiment name in it must not lead out of runs_dir)."""
    try:
        plain = json.loads(line)
        plain = {**plain, "runs_dir": str(runs_dir), "specs_dir": str(specs_dir),
                 "cache": {"mode": "replay", "dir": str(cache)}}
        cfg = from_plain(plain)
    except (ValueError, TypeError, KeyError, OmegaConfBaseException) as exc:
        raise ConfigError(f"the archive holds a config that cannot be read ({type(exc).__name__}); make archives "
                          "with `harness-archive export`") from None
    validate(cfg)
    return cfg


@command("harness-archive", "what was replayed is recorded; run the same replay again to go on")
def main(argv: list[str] | None = None) -> None:
    """harness-archive export|replay: pack a sweep for replay, or replay a packed sweep without provider access."""
    parser = argparse.ArgumentParser(prog="harness-archive", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="pack runs/<experiment> into an archive")
    ex.add_argument("run_dir", type=Path)
    ex.add_argument("archive", type=Path)
    rp = sub.add_parser("replay", help="replay an archive with no provider access")
    rp.add_argument("archive", type=Path)
    rp.add_argument("--runs-dir", type=Path, required=True)
    rp.add_argument("--specs-dir", type=Path, default=PROJECT_ROOT / "specs")
    args = parser.parse_args(argv)
    if args.command == "export":
        if not (args.run_dir / "trials").is_dir():
            raise ConfigError(f"{args.run_dir} holds no trials/ folder; give runs/<experiment>")
        print(f"{args.archive}: {export(args.run_dir, args.archive)} sweep jobs and their cache")
    else:
        if not args.archive.is_file():
            raise ConfigError(f"no archive at {args.archive}")
        # the trials log their verdicts as a sweep's do; Hydra is not here to set logging up
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
        run_dir = replay(args.archive, args.runs_dir, args.specs_dir)
        if run_dir is not None:
            end_of_sweep(run_dir)  # the same summary a sweep prints
        print(f"replayed into {run_dir}")


if __name__ == "__main__":
    main()
