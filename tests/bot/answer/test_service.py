"""The answering service: settings in, a loaded index and retriever out."""

from __future__ import annotations

import pytest

from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.errors import ConfigError


def test_a_serving_process_searches_on_the_configured_number_of_threads(service: NewsService) -> None:
    import faiss
    from threadpoolctl import threadpool_info

    from embeddings.retrieval import limit_search_threads

    assert service.settings.search_threads == 1
    assert faiss.omp_get_max_threads() == 1
    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    limit_search_threads(0)  # 0 leaves the libraries as they are
    assert faiss.omp_get_max_threads() == 1
    assert Settings.from_mapping({"NEWSBOT_SEARCH_THREADS": "2"}).search_threads == 2
    with pytest.raises(ConfigError):
        Settings.from_mapping({"NEWSBOT_SEARCH_THREADS": "-1"})


def test_past_the_sentence_scan_sentences_rerank_the_candidates_with_the_same_results(service: NewsService) -> None:
    from dataclasses import replace

    from embeddings.retrieval import Retriever

    scanning = service.retriever
    reranking = Retriever(service.index, service.embedder, replace(scanning.config, max_sentence_scan=0))
    assert scanning._sentence_ranking and not reranking._sentence_ranking
    # On the seeds the candidates are every chunk, so both ways must rank alike.
    for question in ("What did Crosetto say about troops?", "How many people has Ukraine lost?",
                     "Which newspaper interviewed Crosetto in March?"):
        vector = scanning.embed_query(question)
        assert ([h.chunk.chunk_id for h in scanning.search(question, 5, query_vector=vector)]
                == [h.chunk.chunk_id for h in reranking.search(question, 5, query_vector=vector)])


def test_words_compared_for_synonyms_are_embedded_once_per_process(service: NewsService, counting_embedder) -> None:
    service = NewsService(service.settings, counting_embedder)  # the session's index, a fresh process's caches
    question = "Has Crosetto warned that Russia could use nuclear weapons?"  # "nuclear": checked against passages
    first = service.ask(question)
    after_first = counting_embedder.embedded
    second = service.ask(question)
    assert not first.answered and first.answer == second.answer
    # The second time only the question itself is embedded: its passages' words are known.
    assert counting_embedder.embedded - after_first == 1
