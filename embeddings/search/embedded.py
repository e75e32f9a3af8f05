"""The embedded store's search side: FAISS, BM25 postings and the sentence vectors of a loaded index directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embeddings.index.lexical import BM25
from embeddings.index.metadata import SentenceRows
from embeddings.index.postings import Postings, bounded_top_k, scores_at, top_k
from embeddings.search.interface import HitParts, SearchInputs

if TYPE_CHECKING:
    from embeddings.index.directory import NewsIndex

# From this many chunks on, FAISS's scan of the inverted lists and BM25's summation of the postings each take
# milliseconds (3.9 and 2.3 ms at 1M, docs/performance.md): FAISS then runs in a worker thread while BM25 runs in
# the caller's (FAISS releases the GIL), with the same results. Below it the hand-off costs more than it saves.
OVERLAP_MIN_CHUNKS = 200_000


def _same_omp_threads(threads: int) -> None:
    """Give a worker thread the OpenMP thread count of the thread that made it (the count is per thread)."""
    import faiss

    faiss.omp_set_num_threads(threads)


class EmbeddedSearch:
    """The rankings of one loaded index directory, computed in this process."""

    def __init__(self, index: NewsIndex, max_sentence_scan: int, overlap_min_chunks: int = OVERLAP_MIN_CHUNKS) -> None:
        self.index = index
        self._overlap = len(index.chunks) >= overlap_min_chunks
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Persisted with the index (format 2); built from the chunk texts only for an index made in memory.
        self.bm25 = index.bm25 if index.bm25 is not None else BM25(chunk.text for chunk in index.chunks)
        self._sentence_ranking = 0 < len(index.sentence_vectors) <= max_sentence_scan
        # Chunk -> its sentence rows, flattened, so a chunk's best sentence is one vectorized reduce.
        rows = index.sentence_rows
        self._sentence_rows = rows if isinstance(rows, SentenceRows) else SentenceRows.from_lists(list(rows))
        if self._sentence_ranking:
            self._rows = np.asarray(self._sentence_rows.rows, dtype=np.int64)
            self._starts = np.asarray(self._sentence_rows.offsets[:-1], dtype=np.int64)

    @property
    def size(self) -> int:
        """Return the number of chunks."""
        return len(self.index.chunks)

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Return the corpus's stemmed terms (BM25's vocabulary)."""
        return self.bm25.vocabulary

    def idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency (a term no passage has gets the highest)."""
        return self.bm25.term_idf(term)

    def keyword_scores(self, text: str, rows: Sequence[int]) -> np.ndarray:
        """Return the BM25 score of a text against some chunks, in the order given."""
        return self.bm25.scores_of(text, np.asarray(rows, dtype=np.int64))

    def documents_with(self, term: str) -> np.ndarray:
        """Return the rows of the chunks that hold a stemmed term, ascending (its postings)."""
        return self.bm25.documents_with(term)

    @property
    def scans_every_sentence(self) -> bool:
        """True when hybrid search ranks every sentence; past max_sentence_scan only the candidates' sentences."""
        return self._sentence_ranking

    def _best_sentences(self, chosen: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Return each chosen chunk's best sentence similarity to the query (-1 for a chunk without sentences)."""
        starts, ends = self._sentence_rows.offsets[chosen], self._sentence_rows.offsets[chosen + 1]
        lengths = np.maximum(ends - starts, 0)
        # The chosen chunks' sentence rows, gathered in one go: each chunk's run of the flat row array.
        firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        flat = np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))
        best = np.full(len(chosen), -1.0, dtype=np.float32)
        has = lengths > 0
        if has.any():
            scores = self.index.sentence_vectors[np.asarray(self._sentence_rows.rows[flat], dtype=np.int64)] @ vector
            best[has] = np.maximum.reduceat(scores, firsts[has])
        return best

    def _side(self, ranking: dict[int, float], vector: np.ndarray, postings: Sequence[Postings] | None,
              rerank: bool) -> _Side:
        """What one ranking's candidates need besides: their best sentences (to re-rank them) and, given the
        postings, their BM25 scores."""
        rows = np.fromiter(ranking, dtype=np.int64, count=len(ranking))
        best = self._best_sentences(rows, vector) if rerank and len(rows) else np.zeros(0, dtype=np.float32)
        keyword = scores_at(postings, rows) if postings is not None else np.zeros(0, dtype=np.float32)
        return _Side(ranking, rows.tolist(), best.tolist(), keyword.tolist())

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                import faiss

                self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="newsbot-faiss",
                                                initializer=_same_omp_threads,
                                                initargs=(faiss.omp_get_max_threads(),))
            return self._pool

    def inputs(self, query: str, vector: np.ndarray, candidates: int, mode: str) -> SearchInputs:
        """FAISS's nearest passages, BM25's best, and (hybrid) the chunks with the most similar sentences."""
        query_row = vector.reshape(1, -1)
        # Past max_sentence_scan the best sentence re-ranks the dense and BM25 candidates only (a scan of every
        # sentence costs more than the rest of the search: 16 of 17 ms at 132k sentences); each side scores its own
        # candidates' sentences, and the dense side their BM25 scores, so that work runs beside the other side's.
        rerank = mode == "hybrid" and not self._sentence_ranking

        looked_up: Future[list[Postings]] = Future()

        def dense_side() -> _Side:
            scores, ids = self.index.faiss_index.search(query_row, candidates)
            ranking = {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}
            # The caller looks the postings up while FAISS searches: they are there by now.
            return self._side(ranking, vector, looked_up.result(), rerank)

        nearest = self._workers().submit(dense_side) if self._overlap else None
        try:
            postings = self.bm25.postings(query)
        except BaseException as error:
            looked_up.set_exception(error)  # the worker is never left waiting
            raise
        looked_up.set_result(postings)
        lexical = self._side(dict(bounded_top_k(postings, self.size, candidates, self.bm25.scratch)), vector, None,
                             rerank)
        dense = dense_side() if nearest is None else nearest.result()
        # BM25's own candidates carry their scores; the dense side's were read from the postings (the same sums).
        lexical_scores = dict(zip(dense.rows, dense.keyword, strict=True))
        lexical_scores.update(lexical.ranking)
        sentence: list[int] = []
        if rerank:
            best = dict(zip(dense.rows, dense.best, strict=True))
            best.update(zip(lexical.rows, lexical.best, strict=True))
            sentence = sorted(best, key=lambda row: (-best[row], row))
        elif mode == "hybrid":
            # Every sentence row belongs to some chunk: one contiguous product, then a gather of scores, reads the
            # vectors once instead of copying them into a gathered matrix first.
            best_sentence = np.maximum.reduceat((self.index.sentence_vectors @ vector)[self._rows], self._starts)
            sentence = [i for i, _ in top_k(best_sentence + 1.0, candidates)]
            rest = np.fromiter(sorted(set(sentence) - lexical_scores.keys()), dtype=np.int64)
            lexical_scores.update(zip(rest.tolist(), scores_at(postings, rest).tolist(), strict=True))
        return SearchInputs(dense.ranking, lexical.ranking, sentence, lexical_scores, self.index.sentence_rows)

    def hit_parts(self, positions: Sequence[int], vector: np.ndarray, found: SearchInputs) -> list[HitParts]:
        """Read the kept chunks and their sources (one query), and score their sentences against the query."""
        parts = []
        for position, (chunk, source) in zip(positions, self.index.cited_chunks(positions), strict=True):
            rows = list(self.index.sentence_rows[position])
            # One product per chunk: a product's last bits depend on its row count, and a hit's scores should not
            # depend on the other hits.
            sentence_scores = self.index.sentence_vectors[rows] @ vector if rows else np.zeros(0)
            dense = None if position in found.dense else float(self.index.chunk_vectors[position] @ vector)
            parts.append(HitParts(chunk, source, tuple(float(s) for s in sentence_scores), dense))
        return parts


@dataclass(frozen=True)
class _Side:
    """One ranking's candidates (row -> score) with their rows in that order, best sentences and BM25 scores."""

    ranking: dict[int, float]
    rows: list[int]
    best: list[float]
    keyword: list[float]
