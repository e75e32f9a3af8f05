"""Rank passages for a query: dense search fused with BM25 and the best sentence, with per-sentence similarity.

The rankings come from the store (embeddings/search/interface.py): computed in this process for the index directory, in
the database for PostgreSQL; their fusion, the overlap filter and the hits are the same code for both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.encoders import Embedder
from embeddings.index.directory import NewsIndex
from embeddings.index.lexical import BM25
from embeddings.records import Hit
from embeddings.search.embedded import EmbeddedSearch
from embeddings.search.interface import RowsOf, SearchSource, ServingIndex

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


def _diverse(ranked: list[tuple[int, float]], sentence_rows: RowsOf, k: int) -> list[tuple[int, float]]:
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


def search_side(index: ServingIndex, max_sentence_scan: int) -> SearchSource:
    """The index's own search side (the PostgreSQL store's runs in the database), else the embedded one."""
    own = index.searcher(max_sentence_scan)
    if own is not None:
        return own
    if not isinstance(index, NewsIndex):
        raise TypeError(f"{type(index).__name__} has no search side")
    return EmbeddedSearch(index, max_sentence_scan)


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, index: ServingIndex, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self.source = search_side(index, self.config.max_sentence_scan)

    @property
    def bm25(self) -> BM25 | None:
        """Return the embedded store's BM25 (None for a store that ranks keywords itself)."""
        return self.source.bm25 if isinstance(self.source, EmbeddedSearch) else None

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Return the corpus's stemmed terms (BM25's vocabulary): what the articles mention at all."""
        return self.source.vocabulary

    def idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency (a term no passage has gets the highest)."""
        return self.source.idf(term)

    def chunks_with(self, terms: Sequence[str]) -> list[int]:
        """Return the rows of the chunks that hold every one of some stemmed terms."""
        postings = [self.source.documents_with(term) for term in dict.fromkeys(terms)]
        if not postings:
            return []
        rows = postings[0]
        for other in postings[1:]:
            rows = np.intersect1d(rows, other, assume_unique=True)
        return [int(r) for r in rows]

    def keyword_scores(self, text: str, rows: Sequence[int]) -> np.ndarray:
        """Return the BM25 score of a text against some chunks, in the order given."""
        return self.source.keyword_scores(text, rows)

    @property
    def scans_every_sentence(self) -> bool:
        """True when hybrid search ranks every sentence; past max_sentence_scan only the candidates' sentences."""
        return self.source.scans_every_sentence

    def embed_query(self, query: str) -> np.ndarray:
        """Return the query's unit vector."""
        return np.asarray(self.embedder.embed([query]), dtype=np.float32)[0]

    def search(self, query: str, k: int = 5, query_vector: np.ndarray | None = None) -> list[Hit]:
        """Return the k best passages for a query, best first."""
        size = self.source.size
        if size == 0 or k <= 0:
            return []
        vector = self.embed_query(query) if query_vector is None else query_vector
        candidates = min(max(self.config.candidates, k), size)
        mode = self.config.mode
        found = self.source.inputs(query, vector, candidates, mode)
        dense, lexical = found.dense, found.lexical
        if mode == "dense":
            ranked = sorted(dense.items(), key=lambda pair: (-pair[1], pair[0]))
        elif mode == "lexical":
            ranked = sorted(lexical.items(), key=lambda pair: (-pair[1], pair[0]))
        else:
            rankings = [list(dense), list(lexical), found.sentence]
            weights = [1.0, self.config.lexical_weight, self.config.sentence_weight]
            ranked = fuse_rankings(rankings, weights, self.config.rrf_k)
        ranked = _diverse(ranked, found.sentence_rows, k)[:k]
        top = max(max(lexical.values(), default=0.0), 1e-9)  # BM25 scores are never negative
        parts = self.source.hit_parts([position for position, _ in ranked], vector, found)
        return [
            Hit(
                chunk=part.chunk,
                score=float(score),
                source=part.source,
                rank=rank,
                dense_score=dense[position] if part.dense_score is None else part.dense_score,
                lexical_score=float(found.lexical_scores.get(position, 0.0)) / top,
                sentence_scores=part.sentence_scores,
            )
            for rank, ((position, score), part) in enumerate(zip(ranked, parts, strict=True), start=1)
        ]
