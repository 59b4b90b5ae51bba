"""Pinned downloads against a real HTTP server on loopback, and the upstream-text option end to end."""

from __future__ import annotations

import hashlib
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from harness.errors import ConfigError
from harness.records.tables import build_tables
from harness.specs.pins import Pin, cached_path, fetch
from harness.trial.front_door import run_trials
from tests.conftest import ROOT, config


class FileServer:
    """Serves one body at every path and counts the requests."""

    def __init__(self, body: bytes):
        self.body, self.hits = body, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/spec.md"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_fetch_verifies_caches_and_then_works_offline(tmp_path):
    body = b"# upstream text\n"
    server = FileServer(body)
    pin = Pin(server.url, hashlib.sha256(body).hexdigest())
    assert fetch(pin, tmp_path).read_bytes() == body
    assert fetch(pin, tmp_path).read_bytes() == body and server.hits == 1  # second use: from the cache
    server.close()
    assert fetch(pin, tmp_path).read_bytes() == body  # offline now


def test_mismatch_is_refused_and_nothing_is_cached(tmp_path):
    server = FileServer(b"tampered\n")
    pin = Pin(server.url, "0" * 64)
    with pytest.raises(ConfigError, match="sha256 .* but the pin says 0000"):
        fetch(pin, tmp_path)
    server.close()
    assert not cached_path(pin, tmp_path).exists()


def test_a_corrupted_cache_entry_is_fetched_again(tmp_path):
    body = b"good\n"
    server = FileServer(body)
    pin = Pin(server.url, hashlib.sha256(body).hexdigest())
    cached_path(pin, tmp_path).parent.mkdir(parents=True)
    cached_path(pin, tmp_path).write_bytes(b"bad")
    assert fetch(pin, tmp_path).read_bytes() == body and server.hits == 1
    server.close()


def test_unreachable_and_uncached_is_a_clear_error(tmp_path):
    pin = Pin("http://127.0.0.1:9/nothing-listens-here", "1" * 64)
    with pytest.raises(ConfigError, match="not cached"):
        fetch(pin, tmp_path)


def test_the_harness_runs_on_an_upstream_text(tmp_path):
    """`spec.text=upstream`: the model sees the pinned text, and the record carries that text's hash."""
    upstream = b"# wordfreq, as the original authors wrote it\n\nCount words. (A stand-in upstream text.)\n"
    server = FileServer(upstream)
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "wordfreq", specs / "wordfreq")
    with (specs / "wordfreq" / "manifest.yaml").open("a") as manifest:
        manifest.write(f"upstream:\n  url: {server.url}\n  sha256: {hashlib.sha256(upstream).hexdigest()}\n")
    args = [f"specs_dir={specs}", f"runs_dir={tmp_path / 'runs'}", f"downloads_dir={tmp_path / 'downloads'}",
            "spec=wordfreq", "spec.text=upstream", "temperature=0.0", "seed=0", "experiment.name=upstream"]
    [first] = run_trials(config(*args))  # in-process: the command line is not what is tested here
    server.close()
    assert first.record["status"] == "scored", first.record["detail"]
    build_tables(tmp_path / "runs" / "upstream")
    row = pd.read_parquet(tmp_path / "runs" / "upstream" / "results.parquet").iloc[0]
    assert row["spec_sha256"] == hashlib.sha256(upstream).hexdigest()
    transcript = next((tmp_path / "runs" / "upstream" / "trials").glob("*/transcript.jsonl")).read_text()
    assert "as the original authors wrote it" in transcript
    [offline] = run_trials(config(*args, "seed=1"))  # the server is gone: the cached copy must serve
    assert offline.record["status"] == "scored" and offline.record["spec_sha256"] == row["spec_sha256"]


def test_import_from_a_pin_scores_the_fetched_file(tmp_path):
    body = (ROOT / "specs" / "wordfreq" / "reference" / "wordfreq.py").read_bytes()
    server = FileServer(body)
    args = [f"runs_dir={tmp_path / 'runs'}", f"downloads_dir={tmp_path / 'downloads'}", "spec=wordfreq",
            "experiment.name=imported", "generator=import",
            f"generator.import_url={server.url.replace('spec.md', 'published.py')}",
            f"generator.import_sha256={hashlib.sha256(body).hexdigest()}"]
    run_trials(config(*args))  # in-process: the command line is not what is tested here
    server.close()
    build_tables(tmp_path / "runs" / "imported")
    row = pd.read_parquet(tmp_path / "runs" / "imported" / "results.parquet").iloc[0]
    assert row["status"] == "scored" and row["passed_all"] and "imported" in row["detail"]
