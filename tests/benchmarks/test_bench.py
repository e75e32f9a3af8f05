"""The bench's pieces: parsing, statistics, exact ground truth, passages and one small scale run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.__main__ import bench
from benchmarks.common import (
    StreamingTopK,
    agreement,
    long_chunks,
    parse_sizes,
    read_questions,
    recall_at,
    run_json_child,
    summarize,
    token_counter,
)
from benchmarks.scale import SyntheticCorpus, index_scale
from benchmarks.tables import render
from embeddings.encoders.names import resolve_model_path
from embeddings.encoders.onnx_runtime import ENCODER_DIR
from embeddings.index.ann import mixture_vectors
from embeddings.ingest.chunking import chunk_article
from embeddings.ingest.corpus import SOURCE_ID
from embeddings.records import ChunkerConfig

ROOT = Path(__file__).resolve().parents[2]


def test_parse_sizes() -> None:
    assert parse_sizes("10000,100k,1M") == [10_000, 100_000, 1_000_000]
    assert parse_sizes("") == [] and parse_sizes("0") == []
    with pytest.raises(click.BadParameter):
        parse_sizes("ten")


def test_summarize_in_milliseconds() -> None:
    figures = summarize([0.001] * 19 + [0.1])
    assert figures["n"] == 20 and figures["p50_ms"] == 1.0 and figures["p95_ms"] > 1.0
    assert summarize([])["n"] == 0


def test_streaming_top_k_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((1000, 16)).astype(np.float32)
    queries = rng.standard_normal((7, 16)).astype(np.float32)
    top = StreamingTopK(queries, 10)
    for offset in range(0, 1000, 300):
        top.update(vectors[offset : offset + 300], offset)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    np.testing.assert_array_equal(top.ids, expected)
    assert recall_at(top.ids, expected) == 1.0
    assert recall_at(top.ids[:, ::-1], expected) == 1.0  # recall ignores order


def test_agreement_counts_identical_lists_and_overlap() -> None:
    figures = agreement([[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 6, 7]])
    assert figures == {"identical": 0.5, "overlap": round((1 + 2 / 3) / 2, 4)}


def test_long_chunks_are_about_200_tokens(articles) -> None:
    count = token_counter(Path(resolve_model_path("default")))
    passages = long_chunks(articles, 200, count)
    assert len(passages) >= 30
    tokens = [count(p) for p in passages]
    assert min(tokens) >= 150 and 190 <= float(np.median(tokens)) <= 260


def test_read_questions_takes_json_lines_and_plain_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "What did Crosetto say?"}\n\nplain question\n', encoding="utf-8")
    assert read_questions(path) == ["What did Crosetto say?", "plain question"]


def test_scale_child_reports_recall_latency_and_memory(service, tmp_path: Path) -> None:
    base = np.vstack([service.index.chunk_vectors, service.index.sentence_vectors])
    np.save(tmp_path / "base.npy", base)
    np.save(tmp_path / "queries.npy", np.vstack([base[:5], mixture_vectors(base, 15, seed=9)]))
    result = run_json_child(["-m", "benchmarks.child", "scale", "3000", str(tmp_path / "base.npy"),
                             str(tmp_path / "queries.npy"), "5", "auto"], cwd=ROOT)
    assert result["size"] == 3000 and result["spec"]["kind"] == "flat"
    assert result["recall@10"] == 1.0 and result["recall@10_real_questions"] == 1.0
    assert result["search"]["n"] == 60 and result["peak_rss_mb"] > 0
    assert {"build_s", "estimated_index_mb", "wall_s"} <= result.keys()


def test_synthetic_corpus_repeats_the_seeds_up_to_a_number_of_chunks(articles) -> None:
    corpus = SyntheticCorpus.repeat(articles, ChunkerConfig(), 130)
    chunks, rows = list(corpus.chunks()), list(corpus.sentence_rows())
    seed_texts = {c.text for a in articles for c in chunk_article(a, ChunkerConfig())}
    assert len(chunks) == len(rows) == 130 and {c.text for c in chunks} <= seed_texts
    assert len({c.chunk_id for c in chunks}) == 130 and all(SOURCE_ID.fullmatch(a.source_id) for a in corpus.articles)
    assert len({a.content_hash for a in corpus.articles}) == len(corpus.articles)
    assert {c.source_id for c in chunks} == {a.source_id for a in corpus.articles}
    flat = [r for chunk_rows in rows for r in chunk_rows]
    assert sorted(set(flat)) == list(range(corpus.sentences))
    assert [len(r) for r in rows] == [len(c.sentences) for c in chunks]


def test_index_scale_writes_loads_and_queries_a_whole_index(service, settings, tmp_path: Path) -> None:
    np.save(tmp_path / "base.npy", np.vstack([service.index.chunk_vectors, service.index.sentence_vectors]))
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "What did Crosetto say about troops?"}\nHow much of Ukraine does Russia hold?\n',
                         encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = index_scale(1500, tmp_path / "base.npy", settings.seeds_dir, questions,
                         settings.index_dir / ENCODER_DIR, work, rounds=1)
    written, loaded = result["write"], result["load"]
    assert result["size"] == written["size"] == loaded["chunks"] == 1500
    assert loaded["articles"] == written["articles"] > 1 and loaded["sentences"] == written["sentences"]
    assert loaded["search"]["n"] == loaded["ask"]["n"] == 2 and loaded["load_s"] > 0
    assert loaded["peak_rss_mb"] >= loaded["peak_rss_after_load_mb"] > 0 and written["disk_mb"] > 0
    assert list(work.iterdir()) == []  # the index, its generation and its lock are gone


def test_child_failure_is_a_click_error(tmp_path: Path) -> None:
    with pytest.raises(click.ClickException, match="failed"):
        run_json_child(["-c", "import sys; sys.exit(3)"])
    assert run_json_child(["-c", "print('{\"ok\": 1}')"])["ok"] == 1


def test_render_shows_every_section() -> None:
    search = {"n": 1, "p50_ms": 1.0, "p95_ms": 2.0, "mean_ms": 1.5}
    report = {
        "machine": {"cpus": 2, "load_before": 0.1}, "chunks": 47, "questions": 17,
        "cold_start": {"cli": {"first_answer_s": 5.0, "peak_rss_mb": 700.0, "heavy_imports": None}},
        "warm": {"onnx": {"embed_query": search, "search": search, "ask": search}},
        "backends": {"onnx": {"passages_per_s": 30.0, "cosine_min": 1.0, "dense_top5": {"identical": 1.0},
                              "hybrid_top5": {"identical": 1.0}}},
        "default_backend": "onnx", "index_build": {"onnx_s": 3.0},
        "quality": {"onnx": {"hit@5": 1.0, "mrr@10": 0.9, "answer_accuracy": 0.9}},
        "scale": [{"size": 10_000, "spec": {"factory": "Flat", "ef_search": 0}, "build_s": 0.1, "recall@10": 1.0,
                   "search": search, "peak_rss_mb": 100.0}],
        "index_scale": [{"size": 100_000, "write": {"write_s": 30.0, "disk_mb": 570.0},
                         "load": {"load_s": 0.6, "peak_rss_mb": 600.0, "search": search, "ask": search}}],
        "peer": {"build_s": 2.0, "search": search}, "ratios": {"search p50": 1.0},
        "bench_peak_rss_mb": 900.0, "total_s": 60.0,
    }
    text = render(report)
    for fragment in ("cold start", "warm latency", "ingestion", "index build", "ANN at scale", "peer", "10,000",
                     "whole index at scale", "100,000"):
        assert fragment in text


def test_bench_command_options() -> None:
    result = CliRunner().invoke(bench, ["--help"])
    assert result.exit_code == 0
    for option in ("--json", "--sizes", "--index-sizes", "--skip-peer", "--questions"):
        assert option in result.output


def test_importing_the_bench_loads_neither_torch_nor_langchain() -> None:
    code = ("import sys, benchmarks.__main__\n"
            "print([m for m in ('torch', 'sentence_transformers', 'langchain_community') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_exact_top_by_blocks_equals_one_full_product(tmp_path) -> None:
    from benchmarks.probes import exact_top

    rng = np.random.default_rng(3)
    vectors, queries = rng.standard_normal((1_000, 8)).astype(np.float32), rng.standard_normal((4, 8)).astype(
        np.float32)
    np.save(tmp_path / "v.npy", vectors)
    full = vectors @ queries.T
    expected = [set(np.argsort(-full[:, j])[:50].tolist()) for j in range(4)]
    assert exact_top(tmp_path / "v.npy", queries, 50, block=128) == expected
