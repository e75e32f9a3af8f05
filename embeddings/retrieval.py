"""Rank passages for a query: dense FAISS search fused with BM25, with per-sentence similarity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.encoders import Embedder
from embeddings.index import NewsIndex
from embeddings.lexical import BM25, top_k
from embeddings.records import Hit
from embeddings.store import SentenceRows

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class RetrievalConfig:
    """How rankings are made and fused."""

    mode: str = "hybrid"
    candidates: int = 50
    rrf_k: int = 60
    lexical_weight: float = 1.0
    sentence_weight: float = 1.0
    max_sentence_scan: int = 20_000


def limit_search_threads(threads: int) -> None:
    """Run FAISS (OpenMP) and numpy (BLAS) on at most `threads` threads in this process; 0 keeps their defaults.

    A question is one query: splitting its small products over threads costs more in wake-ups than it saves, and on
    a busy machine a thread that waits for a core stalls the whole product (7.7 ms instead of 0.47 ms for one
    product over 100k sentence vectors). The onnxruntime encoder has its own pool and is not affected.
    """
    if threads <= 0:
        return
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def fuse_rankings(rankings: Sequence[Sequence[int]], weights: Sequence[float], rrf_k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each ranking adds weight / (rrf_k + rank) to its items."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def _diverse(
    ranked: list[tuple[int, float]], sentence_rows: Sequence[tuple[int, ...]], k: int
) -> list[tuple[int, float]]:
    """Drop a chunk when at least half its sentences are already in better-ranked chunks (window overlap)."""
    seen: set[int] = set()
    kept: list[tuple[int, float]] = []
    for position, score in ranked:
        rows = sentence_rows[position]
        if kept and rows and sum(1 for r in rows if r in seen) * 2 >= len(rows):
            continue
        kept.append((position, score))
        seen.update(rows)
        if len(kept) == k:
            break
    return kept


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, index: NewsIndex, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        # Persisted with the index (format 2); built from the chunk texts only for an index made in memory.
        self.bm25 = index.bm25 if index.bm25 is not None else BM25(chunk.text for chunk in index.chunks)
        self._sentence_ranking = 0 < len(index.sentence_vectors) <= self.config.max_sentence_scan
        # Chunk -> its sentence rows, flattened, so a chunk's best sentence is one vectorized reduce.
        rows = index.sentence_rows
        self._sentence_rows = rows if isinstance(rows, SentenceRows) else SentenceRows.from_lists(list(rows))
        if self._sentence_ranking:
            self._rows = np.asarray(self._sentence_rows.rows, dtype=np.int64)
            self._starts = np.asarray(self._sentence_rows.offsets[:-1], dtype=np.int64)

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Return the corpus's stemmed terms (BM25's vocabulary): what the articles mention at all."""
        return self.bm25.vocabulary

    def idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency (a term no passage has gets the highest)."""
        return self.bm25.term_idf(term)

    def chunks_with(self, terms: Sequence[str]) -> list[int]:
        """Return the rows of the chunks that hold every one of some stemmed terms."""
        postings = [self.bm25.documents_with(term) for term in dict.fromkeys(terms)]
        if not postings:
            return []
        rows = postings[0]
        for other in postings[1:]:
            rows = np.intersect1d(rows, other, assume_unique=True)
        return [int(r) for r in rows]

    @property
    def scans_every_sentence(self) -> bool:
        """True when hybrid search ranks every sentence; past max_sentence_scan only the candidates' sentences."""
        return self._sentence_ranking

    def _best_sentence_ranking(self, positions: list[int], vector: np.ndarray) -> list[int]:
        """Rank some chunks by their best sentence's similarity to the query."""
        if not positions:
            return []
        chosen = np.asarray(positions, dtype=np.int64)
        starts, ends = self._sentence_rows.offsets[chosen], self._sentence_rows.offsets[chosen + 1]
        lengths = np.maximum(ends - starts, 0)
        # The chosen chunks' sentence rows, gathered in one go: each chunk's run of the flat row array.
        firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        flat = np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))
        scores = self.index.sentence_vectors[np.asarray(self._sentence_rows.rows[flat], dtype=np.int64)] @ vector
        best = np.full(len(chosen), -1.0, dtype=np.float32)
        has = lengths > 0
        if has.any():
            best[has] = np.maximum.reduceat(scores, firsts[has])
        order = np.lexsort((chosen, -best))
        return [int(chosen[i]) for i in order]

    def embed_query(self, query: str) -> np.ndarray:
        """Return the query's unit vector."""
        return np.asarray(self.embedder.embed([query]), dtype=np.float32)[0]

    def search(self, query: str, k: int = 5, query_vector: np.ndarray | None = None) -> list[Hit]:
        """Return the k best passages for a query, best first."""
        size = len(self.index.chunks)
        if size == 0 or k <= 0:
            return []
        vector = self.embed_query(query) if query_vector is None else query_vector
        candidates = min(max(self.config.candidates, k), size)
        dense_scores, dense_ids = self.index.faiss_index.search(vector.reshape(1, -1), candidates)
        dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}
        lexical_all = self.bm25.scores(query)
        lexical = dict(top_k(lexical_all, candidates))
        mode = self.config.mode
        if mode == "dense":
            ranked = sorted(dense.items(), key=lambda pair: (-pair[1], pair[0]))
        elif mode == "lexical":
            ranked = sorted(lexical.items(), key=lambda pair: (-pair[1], pair[0]))
        else:
            rankings = [list(dense), list(lexical)]
            weights = [1.0, self.config.lexical_weight]
            if self._sentence_ranking:
                # Every sentence row belongs to some chunk: one contiguous product, then a gather of scores,
                # reads the vectors once instead of copying them into a gathered matrix first.
                best_sentence = np.maximum.reduceat((self.index.sentence_vectors @ vector)[self._rows], self._starts)
                rankings.append([i for i, _ in top_k(best_sentence + 1.0, candidates)])
            else:
                # Past max_sentence_scan a scan of every sentence costs more than the rest of the search (16 of
                # 17 ms at 132k sentences): the best sentence then re-ranks the dense and BM25 candidates only.
                rankings.append(self._best_sentence_ranking(sorted(dense.keys() | lexical.keys()), vector))
            weights.append(self.config.sentence_weight)
            ranked = fuse_rankings(rankings, weights, self.config.rrf_k)
        ranked = _diverse(ranked, self.index.sentence_rows, k)
        top = max(max(lexical.values(), default=0.0), 1e-9)  # BM25 scores are never negative
        hits = []
        for rank, (position, score) in enumerate(ranked[:k], start=1):
            chunk = self.index.chunks[position]
            rows = list(self.index.sentence_rows[position])
            sentence_scores = self.index.sentence_vectors[rows] @ vector if rows else np.zeros(0)
            dense_score = dense.get(position)
            if dense_score is None:
                dense_score = float(self.index.chunk_vectors[position] @ vector)
            hits.append(
                Hit(
                    chunk=chunk,
                    score=float(score),
                    source=self.index.source(chunk.source_id),
                    rank=rank,
                    dense_score=dense_score,
                    lexical_score=float(lexical_all[position]) / top,
                    sentence_scores=tuple(float(s) for s in sentence_scores),
                )
            )
        return hits
