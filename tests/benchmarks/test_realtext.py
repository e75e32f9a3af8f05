"""The real-text corpora of the scale benchmarks: chunks cut by newsbot's windows over the sentences the articles
were made of, sentence rows numbered as a build numbers them."""

from __future__ import annotations

import pytest

from benchmarks.realscale import RealCorpus
from benchmarks.realtext import Pool, sentences_of
from embeddings.index.vectors import sentence_plan
from embeddings.ingest.chunking import chunk_article
from embeddings.records import ChunkerConfig
from tests.conftest import SEEDS

pytestmark = pytest.mark.fast


def seed_pool() -> Pool:
    return Pool(tuple(("news", path.stem, sentences_of(path.stem, path.read_text(encoding="utf-8")))
                      for path in sorted(SEEDS.glob("*.txt"))))


def test_recombined_chunks_and_sentence_rows_are_what_the_build_makes() -> None:
    chunker = ChunkerConfig()
    corpus = RealCorpus.build(seed_pool(), chunker, 300, words=["alpha", "bravo", "charlie"], seed=3)
    chunks = list(corpus.chunks())
    assert len(chunks) == corpus.chunk_count >= 300
    texts = {a.source_id: a.text for a in corpus.articles}
    for chunk in chunks:
        assert texts[chunk.source_id][chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= chunker.max_chars or len(chunk.sentences) == 1
    # Re-split, the text gives nearly the same chunks (Punkt joins a few pairs of sentences the pool had apart).
    resplit = {(c.source_id, c.start, c.end) for a in corpus.articles for c in chunk_article(a, chunker)}
    assert len(resplit & {(c.source_id, c.start, c.end) for c in chunks}) >= 0.9 * len(chunks)
    _, rows = sentence_plan(corpus.articles, chunks)
    assert list(corpus.sentence_rows()) == rows
    assert corpus.sentence_count == max(max(r) for r in rows if r) + 1
    # Past the first pass over the pool, names are real words of the list.
    assert any(word in article.text for article in corpus.articles for word in ("Alpha", "Bravo", "Charlie"))
