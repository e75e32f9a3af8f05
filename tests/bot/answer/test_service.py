"""The answering service: settings in, a loaded index and retriever out."""

from __future__ import annotations

import re

import pytest

from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.errors import ConfigError


def test_a_serving_process_searches_on_the_configured_number_of_threads(service: NewsService) -> None:
    import faiss
    from threadpoolctl import threadpool_info

    from embeddings.search.retrieval import limit_search_threads

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

    from embeddings.search.retrieval import Retriever

    scanning = service.retriever
    reranking = Retriever(service.index, service.embedder, replace(scanning.config, max_sentence_scan=0))
    assert scanning.scans_every_sentence and not reranking.scans_every_sentence
    # On the seeds the candidates are every chunk, so both ways must rank alike.
    for question in ("What did Crosetto say about troops?", "How many people has Ukraine lost?",
                     "Which newspaper interviewed Crosetto in March?"):
        vector = scanning.embed_query(question)
        assert ([h.chunk.chunk_id for h in scanning.search(question, 5, query_vector=vector)]
                == [h.chunk.chunk_id for h in reranking.search(question, 5, query_vector=vector)])


def test_words_compared_for_synonyms_are_embedded_once_per_process(service: NewsService, counting_embedder) -> None:
    service = NewsService(service.settings, counting_embedder)  # the session's index, a fresh process's caches
    question = "How many tanks has Italy sent to Ukraine?"  # "tanks": checked against the passages' words
    first = service.ask(question)
    after_first = counting_embedder.embedded
    second = service.ask(question)
    assert not first.answered and first.answer == second.answer
    # The second time only the question itself is embedded: its passages' words are known.
    assert counting_embedder.embedded - after_first == 1


# ------------------------------------------------------------------ the fast tier: the whole flow on a fake embedder


@pytest.mark.fast
def test_fast_an_answer_quotes_its_sources_verbatim(fake_service) -> None:
    answer = fake_service.ask("What did Crosetto say about troops?")
    assert answer.answered and answer.citations
    for citation in answer.citations:
        text = fake_service.index.articles[citation.source_id].text
        assert text[citation.start : citation.end] == citation.quote


@pytest.mark.fast
def test_fast_a_question_about_what_no_article_mentions_is_declined_with_why(fake_service) -> None:
    answer = fake_service.ask("What did Crosetto say about Gaza?")
    assert not answer.answered and "“Gaza”" in answer.answer and answer.leads


@pytest.mark.fast
def test_fast_sources_source_and_search(fake_service) -> None:
    infos = fake_service.sources()
    assert [i.date for i in infos] == sorted((i.date for i in infos), reverse=True)
    view = fake_service.source(infos[0].source_id)
    assert view.chunks and all(view.article.text[c.start : c.end] == c.text for c in view.chunks)
    assert len(fake_service.search("troops", 3)) == 3


@pytest.mark.fast
def test_a_missing_or_malformed_answer_model_is_one_line_naming_its_refit(tmp_path) -> None:
    from bot.answer.model import REFIT, load_model

    with pytest.raises(ConfigError, match=re.escape(REFIT)):
        load_model(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{\"rank\": {}}", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(REFIT)) as caught:
        load_model(broken)
    assert "\n" not in str(caught.value)
