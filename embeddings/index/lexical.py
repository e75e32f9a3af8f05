"""Keyword ranking: Okapi BM25 over a sparse term matrix (tokens from embeddings/terms.py)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from embeddings.index.postings import Postings, ScoresPostings, Scratch
from embeddings.terms import tokenize

# Identical passages (syndicated copies, repeated boilerplate) are tokenized once while building.
_TEXT_CACHE = 65_536


@dataclass(frozen=True)
class BM25Arrays:
    """BM25 as plain arrays: column-compressed weights (one column per term), IDF and document lengths."""

    terms: tuple[str, ...]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    idf: np.ndarray
    lengths: np.ndarray


class BM25Builder:
    """Collects documents one at a time, so that a large corpus never needs its texts in one list."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.vocabulary: dict[str, int] = {}
        self._columns: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._lengths: list[int] = []
        self._seen: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}

    def add(self, text: str) -> None:
        """Add the next document."""
        entry = self._seen.get(text)
        if entry is None:
            counts = Counter(tokenize(text))
            columns = np.fromiter((self.vocabulary.setdefault(t, len(self.vocabulary)) for t in counts),
                                  dtype=np.int32, count=len(counts))
            entry = (columns, np.fromiter(counts.values(), dtype=np.float32, count=len(counts)),
                     sum(counts.values()))
            if len(self._seen) >= _TEXT_CACHE:
                self._seen.clear()
            self._seen[text] = entry
        self._columns.append(entry[0])
        self._counts.append(entry[1])
        self._lengths.append(entry[2])

    def finish(self) -> BM25Arrays:
        """Return the weights of every (document, term) pair, grouped by term."""
        k1, b = self.k1, self.b
        n_docs, n_terms = len(self._lengths), len(self.vocabulary)
        lengths = np.asarray(self._lengths, dtype=np.float32)
        average = float(lengths.mean()) if n_docs else 1.0
        sizes = np.fromiter((len(c) for c in self._columns), dtype=np.int64, count=n_docs)
        rows = np.repeat(np.arange(n_docs, dtype=np.int32), sizes)
        columns = np.concatenate(self._columns) if n_docs else np.zeros(0, dtype=np.int32)
        tf = np.concatenate(self._counts) if n_docs else np.zeros(0, dtype=np.float32)
        frequency = np.bincount(columns, minlength=n_terms).astype(np.float32)
        n = max(n_docs, 1)
        # The same float32 operations, in the same order, as one document at a time: identical weights.
        idf = np.log(1 + (n - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        norm = k1 * (1 - b + b * lengths / max(average, 1e-9))
        values = idf[columns] * tf * (k1 + 1) / (tf + norm[rows])
        order = np.argsort(columns, kind="stable")
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=n_terms), out=indptr[1:])
        return BM25Arrays(tuple(self.vocabulary), values[order].astype(np.float32, copy=False), rows[order], indptr,
                          idf, lengths)


class BM25(ScoresPostings):
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, documents: Iterable[str] = (), k1: float = 1.2, b: float = 0.75,
                 arrays: BM25Arrays | None = None) -> None:
        if arrays is None:
            builder = BM25Builder(k1, b)
            for text in documents:
                builder.add(text)
            arrays = builder.finish()
        # Plain arrays over the memory maps: slicing a np.memmap runs Python code for every slice.
        self.arrays = replace(arrays, indices=np.asarray(arrays.indices), data=np.asarray(arrays.data))
        self.vocabulary: dict[str, int] = {term: column for column, term in enumerate(arrays.terms)}
        self.idf = arrays.idf
        self.size = len(arrays.lengths)
        self._bounds = arrays.indptr
        self.scratch = Scratch()

    @property
    def document_frequency(self) -> np.ndarray:
        """Return how many documents hold each term."""
        return np.diff(self.arrays.indptr).astype(np.float32)

    def postings(self, query: str) -> list[Postings]:
        """Return the postings of a query's terms, in term order."""
        return self.term_postings(sorted(set(tokenize(query))))

    def term_postings(self, terms: Iterable[str], idf: dict[str, float] | None = None,
                      offset: int = 0) -> list[Postings]:
        """Return some stemmed terms' postings in the order given; `idf` weighs them by a larger corpus's IDF."""
        lists = []
        for term in terms:
            column = self.vocabulary.get(term)
            if column is None:
                continue
            start, end = int(self._bounds[column]), int(self._bounds[column + 1])
            factor = None if idf is None else np.float32(idf[term] / max(float(self.idf[column]), 1e-9))
            lists.append(Postings(self.arrays.indices[start:end], self.arrays.data[start:end], offset, factor))
        return lists

    def documents_with(self, term: str) -> np.ndarray:
        """Return the positions of the documents that hold a stemmed term, ascending (its postings)."""
        column = self.vocabulary.get(term)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        start, end = int(self._bounds[column]), int(self._bounds[column + 1])
        return np.sort(np.asarray(self.arrays.indices[start:end], dtype=np.int64))

    def term_idf(self, term: str) -> float:
        """Return a term's inverse document frequency; a term no document has gets the highest."""
        column = self.vocabulary.get(term)
        return idf_weight(0.0, self.size) if column is None else float(self.idf[column])


def idf_weight(frequency: float, size: int) -> float:
    """Return the BM25 inverse document frequency of a term."""
    return math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))
