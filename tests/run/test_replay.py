"""Record a sweep against a loopback provider, then replay it strictly: zero provider calls, the same table."""

from __future__ import annotations

import os
import shutil
from unittest import mock

import pandas as pd

from harness.records.tables import build_tables
from harness.report.summary import summarize
from harness.run.archive import main as archive_main
from tests.conftest import ROOT
from tests.conftest import sweep as run_sweep
from tests.openai_server import OpenAIServer, synthetic_responder

# What a replay cannot reproduce: when it ran, how long things took, and what it spent (hits cost nothing).
VOLATILE = ["created_at", "gen_seconds", "score_seconds", "git_sha", "cost_usd", "cache_hits"]
KEY = {"LOOPBACK_KEY": "sk-loopback-replay-key-5566"}


def sweep(runs, url, *extra) -> int:
    """The sweep's four jobs in-process, then its tables rebuilt as the command does; returns the trials recorded.
    The key is in the environment only while the sweep runs: a replay elsewhere has none."""
    with mock.patch.dict(os.environ, KEY):
        outcomes = run_sweep(f"runs_dir={runs}", "model=gpt-4o", "model.litellm_model=openai/loopback",
                             f"model.api_base={url}", "model.api_key_env=LOOPBACK_KEY", "spec=semver",
                             "temperature=0.0,1.0", "seed=0,1", *extra)
    build_tables(runs / "demo")
    return sum(not o.skipped for o in outcomes)


def stable(path) -> pd.DataFrame:
    return pd.read_parquet(path).drop(columns=VOLATILE)


def test_replay_makes_no_provider_call_and_reproduces_the_table(tmp_path):
    runs = tmp_path / "runs"
    with OpenAIServer(responder=synthetic_responder(ROOT / "specs")) as provider:
        assert sweep(runs, provider.base_url) == 4
        recorded = len(provider.requests)
        original = stable(runs / "demo" / "results.parquet")
        assert recorded == 4 and len(original) == 4 and original["ground_truth"].isna().all()
        shutil.rmtree(runs / "demo" / "trials")  # keep only the cache
        assert sweep(runs, provider.base_url, "cache.mode=replay") == 4
        assert len(provider.requests) == recorded
    pd.testing.assert_frame_equal(stable(runs / "demo" / "results.parquet"), original)
    assert (pd.read_parquet(runs / "demo" / "results.parquet")["cache_hits"] == 1).all()


def test_an_exported_archive_replays_elsewhere_without_a_key_and_prints_the_summary(tmp_path, capsys):
    runs = tmp_path / "runs"
    with OpenAIServer(responder=synthetic_responder(ROOT / "specs")) as provider:
        assert sweep(runs, provider.base_url) == 4
    archive = tmp_path / "demo.tar.gz"
    archive_main(["export", str(runs / "demo"), str(archive)])
    elsewhere = tmp_path / "elsewhere"
    capsys.readouterr()
    archive_main(["replay", str(archive), "--runs-dir", str(elsewhere)])  # the provider is gone, and so is the key
    pd.testing.assert_frame_equal(stable(elsewhere / "demo" / "results.parquet"),
                                  stable(runs / "demo" / "results.parquet"))
    printed = capsys.readouterr().out
    assert summarize(pd.read_parquet(elsewhere / "demo" / "results.parquet")) in printed  # as a sweep's end prints
    assert f"tables: {elsewhere / 'demo' / 'results.parquet'} (4 trials)" in printed


def test_a_replay_miss_is_an_infra_error_not_a_provider_call(tmp_path):
    runs = tmp_path / "runs"
    with OpenAIServer(responder=synthetic_responder(ROOT / "specs")) as provider:
        assert sweep(runs, provider.base_url, "cache.mode=replay") == 4 and provider.requests == []
    table = pd.read_parquet(runs / "demo" / "results.parquet")
    assert (table["status"] == "infra_error").all() and table["detail"].str.contains("CacheMiss").all()
