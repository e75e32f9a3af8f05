"""The ONNX encoder gives sentence-transformers' vectors without importing torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embeddings.encoders.onnx_export as onnx_export_module
from bot.answer.service import NewsService
from embeddings.encoders.names import DEFAULT_MODEL, resolve_model_path
from embeddings.encoders.onnx_export import ensure_onnx, export_onnx
from embeddings.encoders.onnx_runtime import (
    EXPORT_INFO,
    ONNX_MODEL,
    ONNX_MODEL_FUSED,
    TOKENIZER,
    OnnxQueryEncoder,
    is_exported,
    pad_encodings,
    read_export_info,
    read_pipeline,
)
from embeddings.errors import ModelLoadError

ROOT = Path(__file__).resolve().parents[3]
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
    for name in (ONNX_MODEL, ONNX_MODEL_FUSED, TOKENIZER, EXPORT_INFO, "modules.json", "sentence_bert_config.json",
                 "1_Pooling/config.json"):
        assert (onnx_dir / name).is_file(), name
    info = read_export_info(onnx_dir)
    assert info["model"] == DEFAULT_MODEL
    assert info["pooling"] == "mean" and info["normalize"] is True
    assert info["max_seq_length"] == 256 and info["dimension"] == 384
    assert set(info["files"]) == {ONNX_MODEL, ONNX_MODEL_FUSED, TOKENIZER}
    assert is_exported(onnx_dir)
    assert not [p.name for p in onnx_dir.iterdir() if p.name.startswith(".")]


def test_fused_model_has_onnxruntime_bert_operators(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder) -> None:
    import onnx

    operators = read_export_info(onnx_dir)["fused"]["operators"]
    assert operators["Attention"] == 6 and operators["SkipLayerNormalization"] == 12 and operators["BiasGelu"] == 6
    kinds = {node.op_type for node in onnx.load(str(onnx_dir / ONNX_MODEL_FUSED)).graph.node}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= kinds and "Softmax" not in kinds
    # The encoder runs it for queries and for ingestion: every equality test below is on the fused model.
    assert onnx_encoder.model_file.name == ONNX_MODEL_FUSED


def test_fused_and_plain_models_give_the_same_token_embeddings(onnx_dir: Path, articles) -> None:
    import onnxruntime as ort

    from benchmarks.common import long_chunks, token_counter

    # Ingestion-sized passages (what the fused model is for), a text past 256 tokens, and short texts, in
    # batches of other sizes than the export's checks.
    passages = long_chunks(articles, count_tokens=token_counter(onnx_dir))
    encoder = OnnxQueryEncoder(onnx_dir)
    tokenizer = encoder._tokenizer()
    sessions = [ort.InferenceSession(str(onnx_dir / name), providers=["CPUExecutionProvider"])
                for name in (ONNX_MODEL, ONNX_MODEL_FUSED)]
    for texts in (passages[:16], [*passages[16:19], "word " * 400, "short", ""], ["troops"]):
        feeds = pad_encodings(tokenizer.encode_batch(texts), encoder._pad_id())
        mask = feeds["attention_mask"]
        plain, fused = (s.run(None, feeds)[0] for s in sessions)
        np.testing.assert_allclose(fused * mask[..., None], plain * mask[..., None], atol=1e-4)


def test_exports_without_a_fused_model_still_serve(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder,
                                                   tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(onnx_dir, copy)
    (copy / ONNX_MODEL_FUSED).unlink()
    info = read_export_info(copy)
    del info["files"][ONNX_MODEL_FUSED]
    (copy / EXPORT_INFO).write_text(json.dumps(info), encoding="utf-8")
    plain = OnnxQueryEncoder(copy)
    assert plain.model_file.name == ONNX_MODEL
    texts = twenty_questions()
    np.testing.assert_allclose(plain.embed(texts), onnx_encoder.embed(texts), atol=1e-5)


def test_a_failed_fusion_keeps_the_plain_export(onnx_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import onnxruntime.transformers.optimizer as optimizer
    from transformers import AutoModel, AutoTokenizer

    def broken(*args, **kwargs):
        raise RuntimeError("no fusion today")

    monkeypatch.setattr(optimizer, "optimize_model", broken)
    source = Path(resolve_model_path("default"))
    model = AutoModel.from_pretrained(str(source)).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    result = onnx_export_module._export_fused(source, tmp_path, model, AutoTokenizer.from_pretrained(str(source)),
                                               names)
    assert result == {"skipped": "RuntimeError: no fusion today"}
    assert list(tmp_path.iterdir()) == []


def test_an_export_of_an_older_format_is_made_again(onnx_dir: Path, tmp_path: Path, monkeypatch) -> None:
    old = tmp_path / "old"
    shutil.copytree(onnx_dir, old)
    info = read_export_info(old)
    del info["format"]
    (old / EXPORT_INFO).write_text(json.dumps(info), encoding="utf-8")
    exported = []
    monkeypatch.setattr(onnx_export_module, "export_onnx", lambda model, target: exported.append(Path(target)))
    monkeypatch.setattr(onnx_export_module, "_EXPORTS", {})
    ensure_onnx("default", old)
    assert exported == [old]
    # Nor is it copied into a new generation.
    ensure_onnx("default", tmp_path / "generation", reuse_from=old)
    assert exported == [old, tmp_path / "generation"]


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

    from embeddings.index.vectors import passage_vectors

    index = service.index
    questions = twenty_questions()
    # The index's passages are the mean of their sentences' vectors: made the same way from ONNX's sentences.
    onnx_chunks = passage_vectors(onnx_encoder.embed(index.sentence_texts()), list(index.sentence_rows))
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


def test_long_batches_run_in_parts_with_the_same_vectors(onnx_dir: Path, onnx_encoder: OnnxQueryEncoder,
                                                         articles, monkeypatch) -> None:
    from benchmarks.common import long_chunks, token_counter

    # 20 passages of ~210 tokens in one batch of 32: three runs of at most RUN_TOKENS (2048) tokens.
    passages = [*long_chunks(articles, count_tokens=token_counter(onnx_dir))[:20], "short", ""]
    runs = []
    session = onnx_encoder._session()

    class Counting:
        def __getattr__(self, name):
            return getattr(session, name)

        def run(self, outputs, feeds):
            runs.append(feeds["input_ids"].shape)
            return session.run(outputs, feeds)

    monkeypatch.setattr(onnx_encoder, "_session", Counting)
    together = onnx_encoder.embed(passages)
    assert len(runs) >= 3 and all(rows * width <= 2048 for rows, width in runs)
    assert sum(rows for rows, _ in runs) == len(passages)
    monkeypatch.undo()
    one_by_one = np.vstack([onnx_encoder.embed([text]) for text in passages])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_progress_is_reported_per_run_in_characters(onnx_dir: Path) -> None:
    calls = []
    encoder = OnnxQueryEncoder(onnx_dir)
    encoder.run_tokens = 8  # runs of at most 8 padded tokens: one or two texts each
    texts = ["a b c", "d", "e f", "a much longer text than the others"]
    encoder.embed(texts, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 3 and calls[-1] == (sum(map(len, texts)), sum(map(len, texts)))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert encoder.tokens_embedded <= encoder.padded_tokens


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
        "from embeddings.encoders.onnx_runtime import OnnxQueryEncoder\n"
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
