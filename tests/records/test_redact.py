from __future__ import annotations

import logging

from harness.records.redact import MASK, RedactingFilter, known_secrets, redact


def test_secrets_are_values_of_credential_like_variables():
    env = {"OPENAI_API_KEY": "sk-aaaaaaaaaaaa", "GH_TOKEN": "ghp_bbbbbbbbbb", "PATH": "/usr/bin:/bin",
           "SHORT_KEY": "abc"}
    assert set(known_secrets(env)) == {"sk-aaaaaaaaaaaa", "ghp_bbbbbbbbbb"}


def test_redact_walks_nested_data():
    data = {"a": ["x sk-aaaaaaaaaaaa y", {"sk-aaaaaaaaaaaa": 1}], "n": 3}
    assert redact(data, ["sk-aaaaaaaaaaaa"]) == {"a": [f"x {MASK} y", {MASK: 1}], "n": 3}


def test_log_records_are_redacted(monkeypatch, caplog):
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "sk-secret-value-424242")
    caplog.handler.addFilter(RedactingFilter())
    logging.getLogger("harness.test").warning("calling with %s", "sk-secret-value-424242")
    assert "sk-secret-value-424242" not in caplog.text and MASK in caplog.text
