"""Index format 2: metadata read from SQLite on demand, vectors and BM25 postings memory-mapped."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.answer.service import NewsService
from embeddings.errors import IndexCorruptError, IndexMismatchError, NewsbotError
from embeddings.index import metadata
from embeddings.index.directory import DATA_FILES, MANIFEST, METADATA, build_index, load_index, write_index
from embeddings.index.lexical import BM25
from embeddings.index.manifest import FORMAT_VERSION
from embeddings.ingest.chunking import chunk_article
from embeddings.ingest.corpus import read_corpus
from embeddings.records import SourceInfo
from embeddings.search.retrieval import Retriever
from tests.conftest import DEV_QUESTIONS, OWN_QUESTIONS
from tests.embeddings.index.test_lexical import reference_bm25_scores
from tests.robustness.conftest import copy_index


def questions() -> list[str]:
    files = [path for path in (DEV_QUESTIONS, OWN_QUESTIONS) if path.is_file()]
    return [json.loads(line)["question"] for path in files for line in path.read_text().splitlines() if line.strip()]


def expected_corpus(settings):
    """What the index was built from, computed afresh: articles by id, chunks and sentence rows in row order."""
    articles = sorted(read_corpus(settings.seeds_dir).articles, key=lambda a: a.source_id)
    chunks = [chunk for article in articles for chunk in chunk_article(article, settings.chunker)]
    content = {a.source_id: a.content_hash for a in articles}
    keys: dict[tuple[str, int, int], int] = {}
    rows = [tuple(keys.setdefault((content[c.source_id], s, e), len(keys)) for s, e in c.sentences) for c in chunks]
    return {a.source_id: a for a in articles}, chunks, rows


def test_lazy_articles_chunks_and_sentence_rows_equal_the_eager_values(service: NewsService, settings) -> None:
    index = service.index
    articles, chunks, rows = expected_corpus(settings)

    assert len(index.articles) == len(articles) and list(index.articles) == sorted(articles)
    assert dict(index.articles.items()) == articles and list(index.articles.values()) == list(articles.values())
    for source_id, article in articles.items():
        assert source_id in index.articles and index.articles[source_id] == article
        assert index.source(source_id) == SourceInfo(source_id, article.title, article.date, article.outlet)
        assert index.chunks_of(source_id) == [c for c in chunks if c.source_id == source_id]
    assert "no_such_article" not in index.articles and 7 not in index.articles
    with pytest.raises(KeyError):
        index.articles["no_such_article"]

    assert len(index.chunks) == len(chunks) and list(index.chunks) == chunks
    assert [index.chunks[i] for i in range(len(chunks))] == chunks
    assert index.chunks[-1] == chunks[-1] and index.chunks[3:9] == chunks[3:9] and index.chunks[::7] == chunks[::7]
    with pytest.raises(IndexError):
        index.chunks[len(chunks)]

    assert len(index.sentence_rows) == len(rows) and list(index.sentence_rows) == rows
    assert [index.sentence_rows[i] for i in range(len(rows))] == rows
    assert len(index.sentence_vectors) == 1 + max(max(r) for r in rows)

    dates = sorted(a.date for a in articles.values() if a.date)
    assert index.date_range() == (dates[0], dates[-1])
    assert sorted(index.sources(), key=lambda s: s.source_id) == [index.source(k) for k in sorted(articles)]


def test_a_search_s_hits_are_read_with_their_sources_in_one_query(service: NewsService, settings,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    index = service.index
    _, chunks, _ = expected_corpus(settings)
    rows = [len(chunks) - 1, 0, 3, 3, 1]
    calls = []
    index.store._connection.set_trace_callback(calls.append)
    try:
        cited = index.cited_chunks(rows)
    finally:
        index.store._connection.set_trace_callback(None)
    assert len(calls) == 1
    assert cited == [(chunks[r], index.source(chunks[r].source_id)) for r in rows]
    assert cited[2][0] is cited[3][0] is index.chunks[3]  # kept as the recently read chunk
    assert index.cited_chunks([]) == []
    monkeypatch.setattr(metadata, "BOUND_ROWS", 3)  # more rows than a page of bound parameters
    assert [chunk for chunk, _ in index.cited_chunks(rows * 2)] == [chunks[r] for r in rows * 2]
    with pytest.raises(IndexError):
        index.cited_chunks([0, len(chunks)])


def test_worker_threads_read_the_same_chunks_and_articles(service: NewsService) -> None:
    index = service.index
    rows = list(range(len(index.chunks))) * 4
    sequential = [(index.chunks[i], index.articles[index.chunks[i].source_id].title) for i in rows]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda i: (index.chunks[i], index.articles[index.chunks[i].source_id].title), rows))
    assert threaded == sequential


def test_an_articles_chunks_are_found_through_an_index_not_a_scan(service: NewsService) -> None:
    uri = f"{(service.index.path.resolve() / METADATA).as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
        plan = " ".join(str(row[-1]) for row in connection.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM chunks WHERE source_id = ? ORDER BY row", ("x",)))
    assert "USING INDEX chunks_by_source" in plan and "TEMP B-TREE" not in plan


def test_vectors_and_postings_are_memory_mapped_read_only(service: NewsService) -> None:
    index = service.index
    postings = index.bm25.arrays
    for array in (index.chunk_vectors, index.sentence_vectors, index.sentence_rows.rows, index.sentence_rows.offsets,
                  postings.data, postings.indices, postings.indptr, postings.idf, postings.lengths):
        assert isinstance(array.base, np.memmap) and not array.flags.writeable
    assert index.chunk_vectors.shape == (len(index.chunks), 384) and index.chunk_vectors.dtype == np.float32


def test_persisted_bm25_scores_equal_a_fresh_bm25_and_the_reference(service: NewsService) -> None:
    persisted = service.index.bm25
    texts = [chunk.text for chunk in service.index.chunks]
    fresh = BM25(texts)
    assert persisted.vocabulary == fresh.vocabulary and persisted.size == fresh.size == len(texts)
    for key in ("data", "indices", "indptr", "idf", "lengths"):
        np.testing.assert_array_equal(getattr(persisted.arrays, key), getattr(fresh.arrays, key))
    asked = [*questions(), "troops", "Crosetto Crosetto troops 2024", "nothing known zzzz", ""]
    for question in asked:
        scores = persisted.scores(question)
        np.testing.assert_array_equal(scores, fresh.scores(question))
        np.testing.assert_array_equal(scores, reference_bm25_scores(texts, question))
    assert persisted.term_idf("troop") == fresh.term_idf("troop")
    assert math.isclose(persisted.term_idf("zzzz"), fresh.term_idf("zzzz"))


def test_the_retriever_ranks_the_same_with_persisted_or_rebuilt_bm25(service: NewsService) -> None:
    persisted = Retriever(service.index, service.embedder)
    rebuilt = Retriever(replace(service.index, bm25=None), service.embedder)
    assert rebuilt.bm25 is not service.index.bm25
    for question in questions():
        vector = persisted.embed_query(question)
        assert persisted.search(question, 8, query_vector=vector) == rebuilt.search(question, 8, query_vector=vector)


def test_every_data_file_is_checksummed(service: NewsService, tmp_path: Path) -> None:
    manifest = json.loads((service.index.path / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION and set(manifest["files"]) == set(DATA_FILES)
    for n, name in enumerate(DATA_FILES):
        copy = copy_index(service.index.path, tmp_path / str(n))
        path = copy.resolve() / name
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(IndexCorruptError) as caught:
            load_index(copy, service.embedder.model_name, service.settings.chunker)
        message = str(caught.value)
        assert name in message and "run `newsbot index" in message and "\n" not in message


def test_a_version_1_index_is_refused_then_rebuilt(service: NewsService, settings, tmp_path: Path,
                                                   counting_embedder) -> None:
    old = copy_index(service.index.path, tmp_path)
    generation = old.resolve()
    manifest = json.loads((generation / MANIFEST).read_text())
    # What a format 1 index held: JSON metadata, no SQLite, no persisted BM25.
    for name in DATA_FILES:
        if name not in ("chunk_vectors.npy", "sentence_vectors.npy", "chunks.faiss"):
            (generation / name).unlink()
    (generation / "chunks.jsonl").write_text("{}\n", encoding="utf-8")
    (generation / "articles.json").write_text("[]", encoding="utf-8")
    manifest["format_version"] = 1
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(IndexMismatchError, match=r"format_version=1.*run `newsbot index`"):
        load_index(old, service.embedder.model_name, settings.chunker)
    v1_settings = settings.with_overrides(index_dir=old)
    with pytest.raises(NewsbotError, match="run `newsbot index`"):
        NewsService(v1_settings, service.embedder).ask("What did Crosetto say about troops?")

    report = build_index(read_corpus(settings.seeds_dir).articles, counting_embedder, settings.chunker, old)
    assert not report.up_to_date and counting_embedder.embedded == report.embedded > 0
    rebuilt = load_index(old, service.embedder.model_name, settings.chunker)
    assert list(rebuilt.chunks) == list(service.index.chunks)
    np.testing.assert_allclose(rebuilt.chunk_vectors, service.index.chunk_vectors, atol=1e-5)


def test_write_index_takes_precomputed_vectors_and_generators(service: NewsService, tmp_path: Path) -> None:
    index = service.index
    target = tmp_path / "written"
    write_index(target, list(index.articles.values()), (c for c in index.chunks), (r for r in index.sentence_rows),
                np.array(index.chunk_vectors), np.array(index.sentence_vectors),
                model=index.model, chunker=service.settings.chunker)
    assert target.is_symlink()
    written = load_index(target, index.model, service.settings.chunker)
    assert list(written.chunks) == list(index.chunks) and dict(written.articles.items()) == dict(index.articles.items())
    assert list(written.sentence_rows) == list(index.sentence_rows)
    np.testing.assert_array_equal(written.chunk_vectors, index.chunk_vectors)
    np.testing.assert_array_equal(written.sentence_vectors, index.sentence_vectors)
    np.testing.assert_array_equal(written.bm25.arrays.data, index.bm25.arrays.data)
    question = "What did Crosetto say about troops?"
    vector = service.retriever.embed_query(question)
    ours = Retriever(written, service.embedder).search(question, 5, query_vector=vector)
    assert [h.chunk for h in ours] == [h.chunk for h in service.retriever.search(question, 5, query_vector=vector)]

    with pytest.raises(ValueError, match="chunk vectors"):
        write_index(tmp_path / "short", list(index.articles.values()), list(index.chunks), list(index.sentence_rows),
                    np.array(index.chunk_vectors[:-1]), np.array(index.sentence_vectors), model=index.model,
                    chunker=service.settings.chunker)
    assert not (tmp_path / "short").exists() and not list(tmp_path.glob(".short-*"))
