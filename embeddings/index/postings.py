"""BM25 scoring over a query's postings, pure: every document's score, some documents' scores, and the exact top k
found in work proportional to the postings rather than to the index."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Sample size for the floor under the top k of a large score array.
_TOP_K_SAMPLE = 16_384
# Postings up to 1/SUM_SHARE of the index are summed and read back at their own positions; past it, a pass over
# an array of every document is cheaper (measured at 1M chunks: docs/performance.md).
SUM_SHARE = 10


@dataclass(frozen=True, eq=False)
class Postings:
    """One query term's postings in one segment: document positions ascending (before `offset`) and their weights
    (before `scale`, a segment's IDF correction)."""

    documents: np.ndarray
    weights: np.ndarray
    offset: int = 0
    scale: np.float32 | None = None

    def scaled(self, weights: np.ndarray) -> np.ndarray:
        """Return weights of this list as the scores add them (the segment's IDF correction applied)."""
        return weights if self.scale is None else weights * self.scale

    def __len__(self) -> int:
        return len(self.documents)


def dense_scores(postings: Sequence[Postings], size: int) -> np.ndarray:
    """Return the score of every document: each list added in order, in float32, as a sparse product adds them."""
    scores = np.zeros(size, dtype=np.float32)
    for part in postings:
        np.add.at(scores, _rows(part), part.scaled(part.weights))
    return scores


def scores_at(postings: Sequence[Postings], rows: np.ndarray) -> np.ndarray:
    """Return the scores of some documents, in the order given: the same float32 sums as dense_scores."""
    rows = np.asarray(rows, dtype=np.int64)
    scores = np.zeros(len(rows), dtype=np.float32)
    for part in postings:
        if not len(part) or not len(rows):
            continue
        # In the postings' own dtype: searchsorted would otherwise copy the whole list to the wider one first.
        local = (rows - part.offset).astype(part.documents.dtype, copy=False)
        found = np.searchsorted(part.documents, local)
        inside = found < len(part)
        hit = np.zeros(len(rows), dtype=bool)
        hit[inside] = part.documents[found[inside]] == local[inside]
        if hit.any():
            scores[hit] += part.scaled(np.asarray(part.weights[found[hit]], dtype=np.float32))
    return scores


def bounded_top_k(postings: Sequence[Postings], size: int, k: int,
                  scratch: Scratch | None = None) -> list[tuple[int, float]]:
    """Return the same (position, score) list as top_k(dense_scores(...), k); while the postings are few against
    the index, without a pass over every document (work in proportion to the postings)."""
    lists = [part for part in postings if len(part)]
    if k <= 0 or not lists:
        return []
    total = sum(len(part) for part in lists)
    if total <= 4 * k:
        return _top_of(lists, _documents(lists), k)
    if total * SUM_SHARE <= size:
        return _summed_top_k(lists, size, k, scratch or Scratch())
    return top_k(dense_scores(lists, size), k)


def _summed_top_k(lists: Sequence[Postings], size: int, k: int, scratch: Scratch) -> list[tuple[int, float]]:
    """The top k of the documents the lists hold, summed into a scratch array and read back at their positions:
    work in proportion to the postings, not to the index."""
    lists = [part for part in lists if len(part)]
    if k <= 0 or not lists:
        return []
    sums = scratch.array(size)
    touched = np.concatenate([_rows(part) for part in lists])
    try:
        for part, rows in zip(lists, np.split(touched, np.cumsum([len(part) for part in lists[:-1]])), strict=True):
            np.add.at(sums, rows, part.scaled(np.asarray(part.weights)))
        values = sums[touched]
        # A document is held by at most len(lists) lists: the (k * len(lists))-th best value among the postings is
        # reached by at least k distinct documents, so it is a floor under the k-th best document.
        many = k * len(lists)
        chosen = touched if len(values) <= many else touched[values >= np.partition(values, len(values) - many)[
            len(values) - many]]
        rows = np.unique(chosen)
        return [(int(rows[i]), score) for i, score in top_k(sums[rows], k)]
    finally:
        sums[touched] = 0.0


class ScoresPostings:
    """What a keyword index answers from its postings (BM25 and a segmented BM25 supply `postings`, `size` and
    `scratch`)."""

    size: int
    scratch: Scratch

    def postings(self, query: str) -> list[Postings]:
        """Return the postings of a query's terms, in term order."""
        raise NotImplementedError

    def scores(self, query: str) -> np.ndarray:
        """Return the BM25 score of every document for a query."""
        return dense_scores(self.postings(query), self.size)

    def scores_of(self, query: str, rows: np.ndarray) -> np.ndarray:
        """Return the BM25 score of some documents, in the order given (the same sums as scores)."""
        return scores_at(self.postings(query), rows)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Return the k best (position, score), the same as top_k(scores(query), k)."""
        return bounded_top_k(self.postings(query), self.size, k, self.scratch)


class Scratch:
    """One zeroed score array per thread, reused by bounded_top_k: summing into it costs the postings, not a
    pass over every document; it is zeroed again where it was written."""

    def __init__(self) -> None:
        self._local = threading.local()

    def array(self, size: int) -> np.ndarray:
        """Return this thread's zeroed array of `size` scores."""
        sums = getattr(self._local, "sums", None)
        if sums is None or len(sums) != size:
            sums = self._local.sums = np.zeros(size, dtype=np.float32)
        return sums


def _rows(part: Postings) -> np.ndarray:
    """Return a list's document positions in the whole index (the list's own array when it needs no offset)."""
    return part.documents if part.offset == 0 else part.documents.astype(np.int64) + part.offset


def _documents(lists: Sequence[Postings]) -> np.ndarray:
    """Return the distinct positions of some lists' documents, ascending."""
    return np.unique(np.concatenate([part.documents.astype(np.int64) + part.offset for part in lists]))


def _top_of(lists: Sequence[Postings], rows: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Return the top k of some documents (ascending positions), ties to the earliest as top_k breaks them."""
    return [(int(rows[i]), score) for i, score in top_k(scores_at(lists, rows), k)]


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Return the (position, score) of the k best positive scores, best first; equal scores by position."""
    if k <= 0:
        return []
    floor = 0.0
    if len(scores) > 4 * _TOP_K_SAMPLE:
        # The k-th best of an evenly spaced sample is at most the k-th best of all: only scores at or above it
        # can be in the top k, and over a large index they are a small share.
        sample = scores[:: len(scores) // _TOP_K_SAMPLE]
        if len(sample) > k:
            floor = max(float(np.partition(sample, len(sample) - k)[len(sample) - k]), 0.0)
    positions = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    values = scores[positions]
    if len(positions) > k:
        # Ties at the k-th score go to the earliest positions, so equal inputs always rank the same.
        kth = np.partition(values, len(values) - k)[len(values) - k]
        above = np.flatnonzero(values > kth)
        ties = np.flatnonzero(values == kth)[: k - len(above)]
        keep = np.sort(np.concatenate([above, ties]))
        positions, values = positions[keep], values[keep]
    order = np.argsort(-values, kind="stable")
    return [(int(positions[i]), float(values[i])) for i in order]
