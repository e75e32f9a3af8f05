"""The embedded store's search side: FAISS beside BM25 in a worker thread gives the same rankings."""

from __future__ import annotations

import itertools
import threading

import faiss
import pytest

from embeddings.search.embedded import EmbeddedSearch
from embeddings.search.retrieval import Retriever

QUESTIONS = ("What did Crosetto say about troops?", "How many people has Ukraine lost?",
             "Which newspaper interviewed Crosetto in March?", "peace talks", "zzz unknown words")


@pytest.mark.fast
def test_faiss_beside_bm25_gives_the_sequential_search_s_inputs_and_hits(fake_service) -> None:
    index, embedder = fake_service.index, fake_service.embedder
    sequential = Retriever(index, embedder)
    overlapped = Retriever(index, embedder)
    overlapped.source = EmbeddedSearch(index, overlapped.config.max_sentence_scan, overlap_min_chunks=0)
    assert not sequential.source._overlap and overlapped.source._overlap
    for question in QUESTIONS:
        vector = sequential.embed_query(question)
        for mode in ("hybrid", "dense", "lexical"):
            ours = overlapped.source.inputs(question, vector, 10, mode)
            theirs = sequential.source.inputs(question, vector, 10, mode)
            assert (ours.dense, ours.lexical, ours.sentence) == (theirs.dense, theirs.lexical, theirs.sentence)
        assert ([(h.chunk.chunk_id, h.score) for h in overlapped.search(question, 5, query_vector=vector)]
                == [(h.chunk.chunk_id, h.score) for h in sequential.search(question, 5, query_vector=vector)])


@pytest.mark.fast
@pytest.mark.parametrize("overlap", [False, True])
def test_reranked_candidates_are_ranked_by_their_best_sentence_and_carry_their_bm25_scores(fake_service,
                                                                                          overlap: bool) -> None:
    index, embedder = fake_service.index, fake_service.embedder
    search = EmbeddedSearch(index, max_sentence_scan=0, overlap_min_chunks=0 if overlap else 10**9)
    assert not search.scans_every_sentence
    for question in QUESTIONS:
        vector = embedder.embed([question])[0]
        found = search.inputs(question, vector, 10, "hybrid")
        candidates = sorted(found.dense.keys() | found.lexical.keys())
        best = {row: max((float(index.sentence_vectors[s] @ vector) for s in index.sentence_rows[row]), default=-1.0)
                for row in candidates}
        assert sorted(found.sentence) == candidates
        assert all(best[a] >= best[b] - 1e-6 for a, b in itertools.pairwise(found.sentence))
        keyword = search.keyword_scores(question, candidates).tolist()
        assert found.lexical_scores == dict(zip(candidates, keyword, strict=True))
        assert all(found.lexical_scores[row] == score for row, score in found.lexical.items())


@pytest.mark.fast
def test_the_worker_threads_keep_the_serving_thread_count_and_are_made_once(fake_service) -> None:
    search = EmbeddedSearch(fake_service.index, 20_000, overlap_min_chunks=0)
    counts: list[int] = []
    pool = search._workers()
    assert search._workers() is pool
    assert pool.submit(lambda: (counts.append(faiss.omp_get_max_threads()), threading.current_thread().name)
                       ).result()[1].startswith("newsbot-faiss")
    assert counts == [faiss.omp_get_max_threads()]


@pytest.mark.fast
def test_an_error_looking_up_the_postings_reaches_the_caller_and_frees_the_worker(fake_service, monkeypatch) -> None:
    search = EmbeddedSearch(fake_service.index, 20_000, overlap_min_chunks=0)
    vector = fake_service.embedder.embed(["peace talks"])[0]

    def broken(query: str):
        raise RuntimeError("postings unreadable")

    monkeypatch.setattr(search.bm25, "postings", broken)
    with pytest.raises(RuntimeError, match="postings unreadable"):
        search.inputs("peace talks", vector, 10, "hybrid")
    # Every worker is free again: as many tasks as workers meet at a barrier.
    workers = search._workers()._max_workers
    barrier = threading.Barrier(workers, timeout=10)
    assert all(future.result(timeout=20) is not None for future in
               [search._workers().submit(barrier.wait) for _ in range(workers)])
