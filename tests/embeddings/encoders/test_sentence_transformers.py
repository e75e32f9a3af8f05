"""The embedder factory, its backends and the one-model-per-process cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders import BACKENDS, DEFAULT_BACKEND, Embedder, make_embedder
from embeddings.encoders.names import DEFAULT_MODEL, canonical_model_name, resolve_model_path
from embeddings.encoders.onnx_runtime import OnnxQueryEncoder
from embeddings.encoders.sentence_transformers import SentenceTransformerEmbedder
from embeddings.errors import ConfigError


def test_backend_names() -> None:
    assert set(BACKENDS) == {"torch", "torch-bf16", "onnx", "onnx-int8"}
    assert DEFAULT_BACKEND in BACKENDS


def test_default_model_resolves_to_the_bundled_copy() -> None:
    path = Path(resolve_model_path("default"))
    assert (path / "modules.json").is_file()
    assert canonical_model_name("all-MiniLM-L6-v2") == DEFAULT_MODEL
    assert resolve_model_path("/some/other/model") == "/some/other/model"


def test_factory_builds_each_backend(tmp_path: Path) -> None:
    torch_embedder = make_embedder(DEFAULT_MODEL, "torch", 16)
    assert isinstance(torch_embedder, SentenceTransformerEmbedder) and torch_embedder.batch_size == 16
    assert make_embedder("default", "torch-bf16").precision == "bf16"  # type: ignore[attr-defined]
    onnx = make_embedder("default", "onnx", 8, onnx_dir=tmp_path / "onnx")
    assert isinstance(onnx, OnnxQueryEncoder) and not onnx.quantized
    assert onnx.model_name == DEFAULT_MODEL  # known before any export, for the index manifest check
    assert make_embedder("default", "onnx-int8", onnx_dir=tmp_path / "onnx").quantized  # type: ignore[attr-defined]
    for embedder in (torch_embedder, onnx):
        assert isinstance(embedder, Embedder)


def test_factory_refuses_unknown_backends_and_missing_onnx_dir() -> None:
    with pytest.raises(ConfigError, match="backend must be one of"):
        make_embedder("default", "tensorflow")
    with pytest.raises(ConfigError, match="onnx_dir"):
        make_embedder("default", "onnx")
    with pytest.raises(ConfigError, match="precision"):
        SentenceTransformerEmbedder(precision="fp8")


def test_model_is_loaded_once_per_process(real_embedder: SentenceTransformerEmbedder) -> None:
    other = SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=4)
    assert other._load() is real_embedder._load()
    np.testing.assert_allclose(other.embed(["troops"]), real_embedder.embed(["troops"]), atol=1e-6)


def test_bf16_vectors_are_unit_rows_close_to_fp32(real_embedder: SentenceTransformerEmbedder) -> None:
    texts = ["Crosetto ruled out sending troops.", "Italy is a target of Russian interference."]
    bf16 = make_embedder("default", "torch-bf16").embed(texts)
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert ((bf16 * real_embedder.embed(texts)).sum(axis=1) > 0.999).all()
    assert make_embedder("default", "torch-bf16")._load() is not real_embedder._load()  # type: ignore[attr-defined]


def test_batches_report_progress(real_embedder: SentenceTransformerEmbedder) -> None:
    calls = []
    embedder = SentenceTransformerEmbedder(batch_size=2)
    vectors = embedder.embed(["a", "b", "c"], progress=lambda done, total: calls.append((done, total)))
    assert vectors.shape == (3, 384) and calls == [(2, 3), (3, 3)]
    assert embedder.embed([]).shape == (0, 384)
