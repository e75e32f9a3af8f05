"""Delta segments: articles added to a large index are written beside its base and read back as one index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.index import deltas as segments
from embeddings.index.deltas import RowStack
from embeddings.index.directory import MANIFEST, build_index, load_index
from embeddings.ingest import corpus as corpus_module
from embeddings.ingest.corpus import read_corpus
from embeddings.records import ChunkerConfig
from embeddings.search.retrieval import Retriever
from tests.conftest import SEEDS
from tests.fakes import HashingEmbedder

pytestmark = pytest.mark.fast


class Counting(HashingEmbedder):
    """The hashing embedder, counting the texts it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts, progress=None):
        self.texts.extend(texts)
        return super().embed(texts, progress)


@pytest.fixture()
def appendable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any index is large enough to take a delta, and deltas may be as large as the base."""
    monkeypatch.setattr(segments, "MIN_BASE_CHUNKS", 0)
    monkeypatch.setattr(segments, "MAX_DELTA_SHARE", 10.0)


def split_seeds(tmp_path: Path, held_out: int = 2) -> tuple[Path, list[Path]]:
    """A copy of the seeds without its last `held_out` articles, and those articles' files."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    later = sorted(seeds.glob("*.txt"))[-held_out:]
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in later:
        shutil.move(path, aside / path.name)
    return seeds, sorted(aside.iterdir())


def test_added_articles_become_a_delta_that_reads_as_one_index(tmp_path: Path, appendable: None) -> None:
    seeds, later = split_seeds(tmp_path)
    chunker, embedder = ChunkerConfig(), Counting()
    index_dir = tmp_path / "index"
    build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)
    base = index_dir.resolve()
    for path in later:
        shutil.copy(path, seeds / path.name)
    embedder.texts.clear()
    report = build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)

    manifest = json.loads((index_dir / MANIFEST).read_text())
    assert [d["dir"] for d in manifest["deltas"]] == ["deltas/0001"]
    assert report.added == tuple(p.stem for p in later) and not report.changed
    added_text = "\n".join(p.read_text() for p in later)
    assert embedder.texts and all(text in added_text for text in embedder.texts)  # only the new articles
    # The base's files are the previous generation's, linked, not written again.
    assert (index_dir.resolve() / "chunk_vectors.npy").stat().st_ino == (base / "chunk_vectors.npy").stat().st_ino

    joined = load_index(index_dir, embedder.model_name, chunker)
    whole_dir = tmp_path / "whole"
    build_index(read_corpus(seeds).articles, HashingEmbedder(), chunker, whole_dir, rebuild=True)
    whole = load_index(whole_dir, embedder.model_name, chunker)
    assert len(joined.chunks) == len(whole.chunks) == report.chunks
    assert sorted(joined.articles) == sorted(whole.articles) and len(joined.articles) == len(whole.articles)
    assert [s.source_id for s in joined.sources()] == [s.source_id for s in whole.sources()]
    assert joined.date_range() == whole.date_range()
    for source_id in (p.stem for p in later):
        rows = joined.rows_of(source_id)
        assert [joined.chunks[r].text for r in rows] == [c.text for c in whole.chunks_of(source_id)]
        assert joined.sources_of_rows(rows) == dict.fromkeys(rows, source_id)
        assert [c.chunk_id for c in joined.chunks_of(source_id)] == [c.chunk_id for c in whole.chunks_of(source_id)]
    assert sorted(joined.sentence_texts()) == sorted(whole.sentence_texts())
    # A search's hits read in one query per segment, in the order asked, across the base and the delta.
    rows = [len(joined.chunks) - 1, 0, *range(len(joined.chunks) - 3, len(joined.chunks)), 1, 0]
    assert joined.cited_chunks(rows) == [(joined.chunks[r], joined.source(joined.chunks[r].source_id)) for r in rows]

    # The same passages found for every query: dense search over the joined FAISS index, BM25 with the corpus IDF.
    queries = ["troops to Ukraine", "counteroffensive", "Crosetto said", "peace talks between Russia and Ukraine"]
    for query in queries:
        found = [h.chunk.text for h in Retriever(joined, embedder).search(query, 5)]
        expected = [h.chunk.text for h in Retriever(whole, embedder).search(query, 5)]
        assert set(found) == set(expected), query
        lexical = Retriever(joined, embedder).bm25.scores(query)
        assert lexical.shape == (len(joined.chunks),) and (lexical > 0).any()


def test_a_change_or_removal_merges_the_deltas_into_one_index(tmp_path: Path, appendable: None) -> None:
    seeds, later = split_seeds(tmp_path)
    chunker, embedder = ChunkerConfig(), Counting()
    index_dir = tmp_path / "index"
    build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)
    shutil.copy(later[0], seeds / later[0].name)
    build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)
    shutil.copy(later[1], seeds / later[1].name)
    build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)
    assert len(json.loads((index_dir / MANIFEST).read_text())["deltas"]) == 2
    first = sorted(seeds.glob("*.txt"))[0]
    first.write_text(first.read_text() + "\nA sentence added later to the article changes it.\n")
    embedder.texts.clear()
    report = build_index(read_corpus(seeds).articles, embedder, chunker, index_dir)
    assert report.changed == (first.stem,)
    assert json.loads((index_dir / MANIFEST).read_text())["deltas"] == []
    assert embedder.texts == ["A sentence added later to the article changes it."]  # the rest is reused
    assert len(load_index(index_dir, embedder.model_name, chunker).articles) == len(list(seeds.glob("*.txt")))


def test_a_small_index_is_rewritten_whole(tmp_path: Path) -> None:
    seeds, later = split_seeds(tmp_path, held_out=1)
    index_dir = tmp_path / "index"
    build_index(read_corpus(seeds).articles, HashingEmbedder(), ChunkerConfig(), index_dir)
    shutil.copy(later[0], seeds / later[0].name)
    build_index(read_corpus(seeds).articles, HashingEmbedder(), ChunkerConfig(), index_dir)
    assert json.loads((index_dir / MANIFEST).read_text())["deltas"] == []


def test_unchanged_seeds_are_hashed_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               appendable: None) -> None:
    seeds, later = split_seeds(tmp_path, held_out=1)
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", model=HashingEmbedder.model_name)
    service = NewsService(settings, HashingEmbedder())
    service.reindex()
    parsed: list[str] = []
    original = corpus_module.parse_article
    monkeypatch.setattr(corpus_module, "parse_article",
                        lambda source_id, *args: parsed.append(source_id) or original(source_id, *args))
    shutil.copy(later[0], seeds / later[0].name)
    phases: list[str] = []
    report = service.reindex(progress=lambda phase, done, total, unit: phases.append(phase))
    assert parsed == [later[0].stem] and report.added == (later[0].stem,)
    assert list(dict.fromkeys(phases)) == ["read", "clean", "split", "embed", "write"]
    # A whole rewrite takes the unchanged articles from the index it replaces.
    report = service.reindex(rebuild=True)
    assert len(report.added) == len(list(seeds.glob("*.txt")))
    assert service.search("Crosetto", 3)


def test_row_stack_reads_as_the_concatenated_rows() -> None:
    parts = [np.arange(12, dtype=np.float32).reshape(4, 3), np.zeros((0, 3), np.float32),
             np.arange(12, 18, dtype=np.float32).reshape(2, 3)]
    stack, joined = RowStack(parts), np.concatenate(parts)
    assert stack.shape == joined.shape and len(stack) == 6
    assert np.array_equal(stack[5], joined[5]) and np.array_equal(stack[-1], joined[-1])
    assert np.array_equal(stack[[5, 0, 3, 4]], joined[[5, 0, 3, 4]])
    assert np.array_equal(stack[np.array([1, 4])], joined[[1, 4]])
    vector = np.array([1.0, -1.0, 0.5], dtype=np.float32)
    assert np.allclose(stack @ vector, joined @ vector)
    assert np.array_equal(np.asarray(stack), joined)
