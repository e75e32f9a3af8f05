"""BM25 and top-k: the pieces of keyword ranking that do not need an index."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import sparse

from embeddings.index.lexical import BM25, BM25Builder
from embeddings.index.postings import top_k
from embeddings.terms import tokenize

pytestmark = pytest.mark.fast


def reference_bm25_scores(texts: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 as newsbot computed it before the postings were persisted: one document at a time, scipy sums."""
    vocabulary: dict[str, int] = {}
    counts_per_doc = [Counter(tokenize(text)) for text in texts]
    lengths = np.array([sum(c.values()) for c in counts_per_doc], dtype=np.float32)
    for counts in counts_per_doc:
        for term in counts:
            vocabulary.setdefault(term, len(vocabulary))
    frequency = np.zeros(len(vocabulary), dtype=np.float32)
    for counts in counts_per_doc:
        for term in counts:
            frequency[vocabulary[term]] += 1
    idf = np.log(1 + (len(texts) - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
    average = float(lengths.mean())
    rows, cols, values = [], [], []
    for doc, counts in enumerate(counts_per_doc):
        norm = k1 * (1 - b + b * lengths[doc] / max(average, 1e-9))
        for term, tf in counts.items():
            rows.append(doc)
            cols.append(vocabulary[term])
            values.append(idf[vocabulary[term]] * tf * (k1 + 1) / (tf + norm))
    weights = sparse.csc_matrix((values, (rows, cols)), shape=(len(texts), len(vocabulary)), dtype=np.float32)
    columns = [vocabulary[t] for t in sorted(set(tokenize(query))) if t in vocabulary]
    if not columns:
        return np.zeros(len(texts), dtype=np.float32)
    return np.asarray(weights[:, columns].sum(axis=1)).ravel()


def test_top_k_keeps_the_best_positive_scores_and_breaks_ties_by_position() -> None:
    scores = np.array([1.0, 3.0, 3.0, 0.0, 3.0, 2.0, -1.0, np.nan], dtype=np.float32)
    assert top_k(scores, 2) == [(1, 3.0), (2, 3.0)]
    assert top_k(scores, 4) == [(1, 3.0), (2, 3.0), (4, 3.0), (5, 2.0)]
    assert top_k(scores, 100) == [(1, 3.0), (2, 3.0), (4, 3.0), (5, 2.0), (0, 1.0)]
    assert top_k(scores, 0) == [] and top_k(np.zeros(5, dtype=np.float32), 3) == []


def test_top_k_equals_a_full_sort_on_many_ties() -> None:
    scores = np.random.default_rng(3).integers(0, 6, size=5000).astype(np.float32)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    assert [i for i, _ in top_k(scores, 50)] == [i for i in order if scores[i] > 0][:50]


def test_repeated_documents_score_as_if_each_were_tokenized() -> None:
    texts = ["Troops were sent to the border.", "The border stayed closed.", "Troops were sent to the border.",
             "Nothing about it."] * 3
    built = BM25Builder()
    for text in texts:
        built.add(text)
    bm25 = BM25(arrays=built.finish())
    for query in ("troops border", "closed", "nothing", "absent"):
        np.testing.assert_array_equal(bm25.scores(query), reference_bm25_scores(texts, query))
    assert bm25.document_frequency.tolist()[bm25.vocabulary["border"]] == 9
