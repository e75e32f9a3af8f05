"""The embedded store's search side: FAISS, BM25 postings and the sentence vectors of a loaded index directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from embeddings.index.lexical import BM25
from embeddings.index.metadata import SentenceRows
from embeddings.index.postings import bounded_top_k, scores_at, top_k
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
        if self._overlap:
            nearest = self._workers().submit(self.index.faiss_index.search, query_row, candidates)
            postings = self.bm25.postings(query)
            lexical = dict(bounded_top_k(postings, self.size, candidates, self.bm25.scratch))
            dense_scores, dense_ids = nearest.result()
        else:
            dense_scores, dense_ids = self.index.faiss_index.search(query_row, candidates)
            postings = self.bm25.postings(query)
            lexical = dict(bounded_top_k(postings, self.size, candidates, self.bm25.scratch))
        dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}
        sentence: list[int] = []
        if mode == "hybrid":
            if self._sentence_ranking:
                # Every sentence row belongs to some chunk: one contiguous product, then a gather of scores,
                # reads the vectors once instead of copying them into a gathered matrix first.
                best_sentence = np.maximum.reduceat((self.index.sentence_vectors @ vector)[self._rows], self._starts)
                sentence = [i for i, _ in top_k(best_sentence + 1.0, candidates)]
            else:
                # Past max_sentence_scan a scan of every sentence costs more than the rest of the search (16 of
                # 17 ms at 132k sentences): the best sentence then re-ranks the dense and BM25 candidates only.
                sentence = self._best_sentence_ranking(sorted(dense.keys() | lexical.keys()), vector)
        # Every candidate's BM25 score, read from the postings for these rows only.
        rows = np.fromiter(sorted(dense.keys() | lexical.keys() | set(sentence)), dtype=np.int64)
        lexical_scores = dict(zip(rows.tolist(), scores_at(postings, rows).tolist(), strict=True))
        return SearchInputs(dense, lexical, sentence, lexical_scores, self.index.sentence_rows)

    def hit_parts(self, positions: Sequence[int], vector: np.ndarray, found: SearchInputs) -> list[HitParts]:
        """Read each kept chunk and its source, and score its sentences against the query."""
        parts = []
        for position in positions:
            chunk = self.index.chunks[position]
            rows = list(self.index.sentence_rows[position])
            sentence_scores = self.index.sentence_vectors[rows] @ vector if rows else np.zeros(0)
            dense = None if position in found.dense else float(self.index.chunk_vectors[position] @ vector)
            parts.append(HitParts(chunk, self.index.source(chunk.source_id),
                                  tuple(float(s) for s in sentence_scores), dense))
        return parts
