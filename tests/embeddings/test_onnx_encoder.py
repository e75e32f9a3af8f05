"""The ONNX encoder gives sentence-transformers' vectors without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.service import NewsService
from embeddings.errors import ModelLoadError
from embeddings.onnx_encoder import (
    EXPORT_INFO,
    ONNX_MODEL,
    TOKENIZER,
    OnnxQueryEncoder,
    ensure_onnx,
    export_onnx,
    is_exported,
    read_export_info,
    read_pipeline,
)
from embeddings.vectors import DEFAULT_MODEL, resolve_model_path

ROOT = Path(__file__).resolve().parents[2]
DEV_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
OWN_QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"


def twenty_questions() -> list[str]:
    """The dev questions, topped up from the project's own questions to twenty."""
    rows = []
    for path in (DEV_QUESTIONS, OWN_QUESTIONS):
        if path.is_file():
            rows += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 20
    return rows[:20]


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model exported once for the session."""
    return export_onnx("default", tmp_path_factory.mktemp("onnx") / "encoder")


@pytest.fixture(scope="session")
def onnx_encoder(onnx_dir: Path) -> OnnxQueryEncoder:
    """The fp32 ONNX encoder over the session's export."""
    return OnnxQueryEncoder(onnx_dir)


def test_export_writes_model_tokenizer_and_pipeline(onnx_dir: Path) -> None:
    for name in (ONNX_MODEL, TOKENIZER, EXPORT_INFO, "modules.json", "sentence_bert_config.json",
                 "1_Pooling/config.json"):
        assert (onnx_dir / name).is_file(), name
    info = read_export_info(onnx_dir)
    assert info["model"] == DEFAULT_MODEL
    assert info["pooling"] == "mean" and info["normalize"] is True
    assert info["max_seq_length"] == 256 and info["dimension"] == 384
    assert is_exported(onnx_dir)


def test_pipeline_is_read_from_the_bundled_model_files() -> None:
    pipeline = read_pipeline(Path(resolve_model_path("default")))
    assert pipeline == {"max_seq_length": 256, "do_lower_case": False, "pooling": "mean", "normalize": True,
                        "dimension": 384}


def test_same_vectors_as_sentence_transformers_on_every_chunk(service: NewsService, real_embedder,
                                                              onnx_encoder: OnnxQueryEncoder) -> None:
    index = service.index
    sentences = sorted({text for chunk in index.chunks for text in chunk.sentence_texts()})
    # Past max_seq_length (truncation), surrounding whitespace, accents and an empty text.
    edge = ["word " * 400, "  padded text \n", "Ünïcödé façade — “quoted”", ""]
    texts = [chunk.text for chunk in index.chunks] + sentences + twenty_questions() + edge
    got = onnx_encoder.embed(texts)
    want = real_embedder.embed(texts)
    assert got.dtype == np.float32 and got.shape == want.shape
    cosine = (got * want).sum(axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cosine.min() >= 0.99999, texts[int(cosine.argmin())]
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_identical_top5_faiss_results(service: NewsService, real_embedder, onnx_encoder: OnnxQueryEncoder) -> None:
    import faiss

    index = service.index
    questions = twenty_questions()
    onnx_chunks = onnx_encoder.embed([chunk.text for chunk in index.chunks])
    flat = faiss.IndexFlatIP(onnx_chunks.shape[1])
    flat.add(onnx_chunks)
    torch_ids = index.faiss_index.search(real_embedder.embed(questions), 5)[1]
    assert (index.faiss_index.search(onnx_encoder.embed(questions), 5)[1] == torch_ids).all()
    assert (flat.search(onnx_encoder.embed(questions), 5)[1] == torch_ids).all()


def test_service_on_onnx_answers_like_torch(service: NewsService, settings, onnx_encoder: OnnxQueryEncoder) -> None:
    onnx_service = NewsService(settings, onnx_encoder)
    for question in twenty_questions()[:5]:
        assert [h.chunk.chunk_id for h in onnx_service.search(question)] == \
            [h.chunk.chunk_id for h in service.search(question)]
    assert onnx_service.ask("What did Crosetto say about troops?").answered


def test_batch_order_and_size_do_not_change_vectors(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder) -> None:
    texts = ["short", "a much longer text about troops and Ukraine and Italy", "middle length text"]
    one_by_one = np.vstack([onnx_encoder.embed([t]) for t in texts])
    small_batches = OnnxQueryEncoder(onnx_dir, batch_size=2).embed(texts)
    np.testing.assert_allclose(small_batches, one_by_one, atol=1e-5)
    assert onnx_encoder.embed([]).shape == (0, 384)


def test_progress_is_reported_per_batch(onnx_dir: Path) -> None:
    calls = []
    OnnxQueryEncoder(onnx_dir, batch_size=2).embed(["a", "b", "c"], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 3), (3, 3)]


def test_sessions_are_shared_within_a_process(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder) -> None:
    assert OnnxQueryEncoder(onnx_dir)._session() is onnx_encoder._session()


def test_missing_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no ONNX encoder"):
        OnnxQueryEncoder(tmp_path / "nowhere")


def test_export_refuses_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        export_onnx(tmp_path, tmp_path / "out")


def test_int8_stays_close_to_fp32(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder) -> None:
    int8 = OnnxQueryEncoder(onnx_dir, quantized=True)
    texts = twenty_questions()
    cosine = (int8.embed(texts) * onnx_encoder.embed(texts)).sum(axis=1)
    assert (onnx_dir / "model_int8.onnx").is_file()
    assert cosine.min() > 0.95


def test_serving_imports_neither_torch_nor_sentence_transformers(onnx_dir: Path) -> None:
    code = (
        "import sys\n"
        "from embeddings.onnx_encoder import OnnxQueryEncoder\n"
        f"vectors = OnnxQueryEncoder({str(onnx_dir)!r}).embed(['troops'])\n"
        "assert vectors.shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_ensure_keeps_a_current_export_and_copies_a_previous_one(onnx_dir: Path, tmp_path: Path) -> None:
    stamp = (onnx_dir / ONNX_MODEL).stat().st_mtime_ns
    assert ensure_onnx("default", onnx_dir) == onnx_dir
    assert (onnx_dir / ONNX_MODEL).stat().st_mtime_ns == stamp  # not exported again
    copy = ensure_onnx("default", tmp_path / "generation" / "onnx", reuse_from=onnx_dir)
    assert read_export_info(copy) == read_export_info(onnx_dir)
    assert not [p for p in (tmp_path / "generation").iterdir() if p.name.startswith(".")]
    assert OnnxQueryEncoder(copy)._session() is OnnxQueryEncoder(onnx_dir)._session()  # same content, one session
