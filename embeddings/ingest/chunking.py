"""Cut an article's body into sentence-aware, overlapping chunks (sentences from embeddings.ingest.sentences)."""

from __future__ import annotations

from collections.abc import Sequence

from embeddings.ingest.sentences import split_sentences
from embeddings.progress import Progress, silent
from embeddings.records import Article, Chunk, ChunkerConfig, Span


def chunk_article(article: Article, config: ChunkerConfig) -> tuple[Chunk, ...]:
    """Cut each clean segment of an article into windows of whole sentences with overlap."""
    chunks: list[Chunk] = []
    for segment_start, segment_end in article.segments:
        sentences = split_sentences(article.text, segment_start, segment_end)
        for first, last in _windows(sentences, config):
            start, end = sentences[first][0], sentences[last][1]
            chunks.append(
                Chunk(
                    chunk_id=f"{article.source_id}#{len(chunks)}",
                    source_id=article.source_id,
                    start=start,
                    end=end,
                    text=article.text[start:end],
                    sentences=tuple(sentences[first : last + 1]),
                )
            )
    return tuple(chunks)


def chunk_articles(articles: Sequence[Article], config: ChunkerConfig, progress: Progress = silent) -> list[Chunk]:
    """Every article's chunks in order, reporting the split phase."""
    chunks: list[Chunk] = []
    for number, article in enumerate(articles, start=1):
        chunks.extend(chunk_article(article, config))
        if number % 50 == 0 or number == len(articles):
            progress("split", number, len(articles), "articles")
    return chunks


def _windows(sentences: list[Span], config: ChunkerConfig) -> list[tuple[int, int]]:
    """Greedy windows of sentences up to max_chars, each starting `overlap` sentences back."""
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(sentences):
        last = first
        while last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= config.max_chars:
            last += 1
        windows.append((first, last))
        if last == len(sentences) - 1:
            break
        first = max(last + 1 - config.overlap_sentences, first + 1)
    return windows
