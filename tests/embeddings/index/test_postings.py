"""The bounded BM25 pass returns exactly the exhaustive pass's top k: random lists, real text, segmented indexes."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.index.deltas import SegmentedBM25
from embeddings.index.lexical import BM25
from embeddings.index.postings import (
    Postings,
    Scratch,
    _summed_top_k,
    bounded_top_k,
    dense_scores,
    scores_at,
    top_k,
)

ROOT = Path(__file__).resolve().parents[3]
QUESTION_SETS = [*sorted((ROOT / "training" / "data").glob("questions_*.jsonl")),
                 *sorted((ROOT / "tests" / "data").glob("questions*.jsonl")),
                 ROOT / "tests" / "data" / "offtopic_train.jsonl",
                 ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"]


def random_lists(rng: np.random.Generator, size: int) -> list[Postings]:
    lists = []
    for _ in range(int(rng.integers(1, 7))):
        count = int(rng.integers(1, size // int(rng.choice([2, 10, 200])) + 2))
        documents = np.sort(rng.choice(size, size=count, replace=False)).astype(np.int32)
        # Few distinct weights, so that ties at the k-th score are common.
        weights = rng.choice(np.linspace(0.5, 4.0, 8), size=count).astype(np.float32)
        lists.append(Postings(documents, weights))
    return lists


@pytest.mark.fast
def test_bounded_top_k_equals_the_exhaustive_top_k_on_random_lists() -> None:
    rng = np.random.default_rng(20)
    for _ in range(400):
        size = int(rng.integers(1, 3000))
        lists = random_lists(rng, size)
        for k in (1, 5, 50, 400):
            expected = top_k(dense_scores(lists, size), k)
            assert bounded_top_k(lists, size, k) == expected
            assert _summed_top_k(lists, size, k, Scratch()) == expected


@pytest.mark.fast
def test_scores_at_gives_the_same_sums_as_every_document_scored() -> None:
    rng = np.random.default_rng(7)
    lists = random_lists(rng, 500)
    rows = rng.permutation(500)
    np.testing.assert_array_equal(scores_at(lists, rows), dense_scores(lists, 500)[rows])
    assert bounded_top_k([], 10, 5) == [] and bounded_top_k(lists, 500, 0) == []


def real_sentences() -> list[str]:
    texts: dict[str, None] = {}
    for path in sorted((ROOT / "training" / "data").glob("questions_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for key in ("answers", "supports", "lures"):
                texts.update(dict.fromkeys(record.get(key) or []))
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        texts.update(dict.fromkeys(p for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()))
    return list(texts)


def questions() -> list[str]:
    found: list[str] = []
    for path in QUESTION_SETS:
        if path.exists():
            found += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip()]
    return found


def test_bounded_search_equals_the_exhaustive_pass_on_every_question_of_the_sets() -> None:
    texts = real_sentences()
    whole = BM25(texts)
    cut = [0, len(texts) // 2, len(texts) * 7 // 8, len(texts)]
    segmented = SegmentedBM25([BM25(texts[a:b]) for a, b in itertools.pairwise(cut)])
    asked = questions()
    assert len(texts) > 10_000 and len(asked) > 11_000
    for query in asked:
        for bm25 in (whole, segmented):
            postings = bm25.postings(query)
            scores = dense_scores(postings, bm25.size)
            # 50 is retrieval's candidate count; every way, the scratch reused and left zeroed.
            assert bounded_top_k(postings, bm25.size, 50, bm25.scratch) == top_k(scores, 50), query
            assert _summed_top_k(postings, bm25.size, 50, bm25.scratch) == top_k(scores, 50), query
            assert not bm25.scratch.array(bm25.size).any()
        rows = np.arange(0, whole.size, 97)
        np.testing.assert_array_equal(scores_at(postings, rows), scores[rows])
    for bm25 in (whole, segmented):
        np.testing.assert_array_equal(bm25.scores(asked[0]), dense_scores(bm25.postings(asked[0]), bm25.size))
        assert bm25.top(asked[0], 5) == top_k(bm25.scores(asked[0]), 5)
        np.testing.assert_array_equal(bm25.scores_of(asked[0], np.arange(3)), bm25.scores(asked[0])[:3])
