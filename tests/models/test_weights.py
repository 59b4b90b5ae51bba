"""A local model's GGUF header, read for the context it was trained for: on hand-built headers of every value
type, on the pinned SmolLM2 file (held to what llama.cpp's own server reports), and as the preflight's check."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from harness.config.schema import LocalParams, ModelConfig
from harness.errors import ConfigError
from harness.models import local, weights
from harness.sweep.preflight import check_context, preflight
from tests.models.test_local import _downloads


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_header(pairs: list[tuple[str, int, bytes]], version: int = 3) -> bytes:
    """A GGUF file's header: magic, version, no tensors, then (key, value type, packed value) pairs."""
    out = b"GGUF" + struct.pack("<IQQ", version, 0, len(pairs))
    for key, kind, value in pairs:
        out += _string(key) + struct.pack("<I", kind) + value
    return out


def write_gguf(path: Path, context: int = 512, arch: str = "llama") -> Path:
    """A header as llama.cpp's converters lay it out: the architecture first, fields of several types and arrays
    (strings, ints) before the context length, which follows them."""
    path.write_bytes(gguf_header([
        ("general.architecture", 8, _string(arch)),
        ("general.name", 8, _string("tiny")),
        ("general.file_type", 4, struct.pack("<I", 3)),
        ("general.flag", 7, struct.pack("<?", True)),
        ("general.scale", 12, struct.pack("<d", 0.5)),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + _string("a") + _string("bb") + _string("ccc")),
        ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, 1, 1)),
        ("other.context_length", 4, struct.pack("<I", 99)),  # another architecture's key: not ours
        (f"{arch}.context_length", 4, struct.pack("<I", context)),
    ]) + b"\0" * 64)
    return path


def test_the_context_length_is_read_past_fields_and_arrays_of_every_kind(tmp_path):
    assert weights.context_length(write_gguf(tmp_path / "a.gguf", 512)) == 512
    assert weights.context_length(write_gguf(tmp_path / "b.gguf", 131072, arch="qwen2")) == 131072


NESTED = gguf_header([("general.architecture", 8, _string("llama")),
                     ("deep", 9, struct.pack("<IQ", 9, 1) * 5000)])  # arrays of arrays, 5,000 deep


@pytest.mark.parametrize("content", [b"", b"not a gguf file at all, just text" * 4, b"GGUF\x03\0\0\0",
                                     b"GGUF" + struct.pack("<IQQ", 1, 0, 1), NESTED])
def test_a_file_that_is_no_readable_gguf_says_nothing(tmp_path, content):
    (tmp_path / "x.gguf").write_bytes(content)
    assert weights.context_length(tmp_path / "x.gguf") is None


def test_a_header_cut_short_or_without_the_key_says_nothing(tmp_path):
    whole = write_gguf(tmp_path / "a.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(whole[:len(whole) // 2])
    assert weights.context_length(tmp_path / "cut.gguf") is None
    (tmp_path / "none.gguf").write_bytes(gguf_header([("general.architecture", 8, _string("llama"))]))
    assert weights.context_length(tmp_path / "none.gguf") is None


def test_the_pinned_weights_say_what_the_real_server_reports(tmp_path):
    """The header's context is the n_ctx_train llama.cpp's server reports for the same file (its /v1/models)."""
    model = ModelConfig(name="smollm2", litellm_model="openai/smollm2", local=LocalParams(n_ctx=4096, n_parallel=2))
    server = local.serve(model, _downloads(), tmp_path / "server")
    [entry] = local.get_json(server.address + "/v1/models")["data"]
    gguf = weights.path(model.local, _downloads())
    assert weights.context_length(gguf) == entry["meta"]["n_ctx_train"] == 8192


def test_a_context_past_the_trained_one_is_refused_before_anything_is_written(tmp_path):
    gguf = write_gguf(tmp_path / "tiny.gguf", context=512)
    check_context(LocalParams(n_ctx=512, gguf=str(gguf)), gguf)  # the trained context itself is fine
    argv = [f"runs_dir={tmp_path / 'runs'}", "model=smollm2", f"model.local.gguf={gguf}", "model.local.n_ctx=1024"]
    with pytest.raises(ConfigError, match=r"model.local.n_ctx=1024 is past the 512 tokens tiny.gguf was trained"):
        preflight(argv)
    assert not (tmp_path / "runs").exists()
