"""The PostgreSQL store against a real server on loopback: the same answers as the index directory, generations
switched in one transaction, builds serialized, manifests checked, and every input bound as a parameter."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest

from bot.answer.service import NewsService
from embeddings.errors import IndexBusyError, IndexMismatchError, IndexMissingError, SourceNotFoundError
from embeddings.index.manifest import chunker_fields
from embeddings.postgres import PostgresBackend
from embeddings.postgres.schema import BUILD_LOCK
from embeddings.records import ChunkerConfig
from tests.conftest import DEV_QUESTIONS, HELDOUT_QUESTIONS, OWN_QUESTIONS, SEEDS


def questions() -> list[str]:
    found = []
    for path in (DEV_QUESTIONS, OWN_QUESTIONS, HELDOUT_QUESTIONS):
        if path.is_file():
            found += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip()]
    return found


def pg_service(url: str, like: NewsService, embedder, seeds: Path | None = None) -> NewsService:
    settings = like.settings.with_overrides(database_url=url, seeds_dir=seeds)
    service = NewsService(settings, embedder)
    service.reindex()
    service.load()
    return service


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                  "WHERE table_schema LIKE 'newsbot%'").fetchall()
    return {row[0] for row in rows}


def test_search_and_answers_are_the_embedded_stores(pg_url, fake_service, fake_embedder) -> None:
    pg = pg_service(pg_url, fake_service, fake_embedder)
    assert len(pg.index.chunks) == len(fake_service.index.chunks)
    for question in questions():
        ours, theirs = pg.search(question, 5), fake_service.search(question, 5)
        assert [h.chunk.chunk_id for h in ours] == [h.chunk.chunk_id for h in theirs], question
        for a, b in zip(ours, theirs, strict=True):
            assert a.chunk == b.chunk and a.source == b.source
            assert a.score == pytest.approx(b.score) and a.dense_score == pytest.approx(b.dense_score, abs=1e-5)
            assert a.lexical_score == pytest.approx(b.lexical_score, rel=1e-6)
            assert a.sentence_scores == pytest.approx(b.sentence_scores, abs=1e-6)
        ours_answer, theirs_answer = pg.ask(question), fake_service.ask(question)
        assert (ours_answer.answer, ours_answer.citations) == (theirs_answer.answer, theirs_answer.citations)


def test_bm25_read_from_the_top_of_the_postings_is_the_exact_ranking(pg_url, fake_service, fake_embedder,
                                                                    monkeypatch) -> None:
    from embeddings.postgres import serving
    from embeddings.search.retrieval import RetrievalConfig, Retriever

    pg = pg_service(pg_url, fake_service, fake_embedder)
    # Lists cut after a handful of postings: the threshold check fails and the search reads deeper, as at scale.
    monkeypatch.setattr(serving, "POSTINGS_DEPTH", 1)
    monkeypatch.setattr(serving, "DEPTH_PER_CANDIDATE", 1)
    config = RetrievalConfig(mode="lexical", candidates=3)
    ours, theirs = Retriever(pg.index, fake_embedder, config), Retriever(fake_service.index, fake_embedder, config)
    for question in questions():
        vector = theirs.embed_query(question)
        found = ours.source.inputs(question, vector, 3, "lexical")
        expected = theirs.source.inputs(question, vector, 3, "lexical")
        assert list(found.lexical) == list(expected.lexical), question
        assert list(found.lexical.values()) == pytest.approx(list(expected.lexical.values()), rel=1e-6)
        for position, score in found.lexical_scores.items():
            assert score == pytest.approx(expected.lexical_scores[position], rel=1e-6, abs=1e-7)
    assert ours.source.deeper > 0  # some searches fell back to summing whole lists


def test_the_real_model_gives_the_same_answers(pg_url, service, real_embedder) -> None:
    pg = pg_service(pg_url, service, real_embedder)
    assert pg.retriever.scans_every_sentence
    for question in questions()[:30]:
        assert [h.chunk.chunk_id for h in pg.search(question)] == [h.chunk.chunk_id for h in service.search(question)]
        assert pg.ask(question).answer == service.ask(question).answer


def test_source_sources_about_and_the_manifest(pg_url, fake_service, fake_embedder) -> None:
    pg = pg_service(pg_url, fake_service, fake_embedder)
    assert pg.sources() == fake_service.sources()
    some = fake_service.sources()[0].source_id
    ours, theirs = pg.source(some), fake_service.source(some)
    assert ours == theirs
    assert pg.index.date_range() == fake_service.index.date_range()
    about = pg.about()
    assert about["passages"] == len(fake_service.index.chunks) and about["articles"] == len(fake_service.index.articles)
    manifest = pg.backend.read_manifest()
    assert manifest["model"] == fake_embedder.model_name and manifest["dimension"] == fake_embedder.dimension
    assert manifest["chunker"] == chunker_fields(fake_service.settings.chunker) and manifest["store"] == "postgresql"
    assert manifest["articles"] == fake_service.index.manifest["articles"]
    assert manifest["corpus_hash"] == fake_service.index.manifest["corpus_hash"]
    assert [a.source_id for a in pg.index.articles.values()] == sorted(fake_service.index.articles)


def test_an_update_embeds_only_what_changed_and_a_second_is_up_to_date(pg_url, fake_service, counting_embedder,
                                                                       tmp_path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    pg = pg_service(pg_url, fake_service, counting_embedder, seeds)
    first = counting_embedder.embedded
    assert pg.reindex().up_to_date and counting_embedder.embedded == first
    (seeds / "900_pg_update.txt").write_text("Harbour works resume\n2024-05-01\n\nThe harbour master said the "
                                             "repairs would resume on Monday after the storm.\n", encoding="utf-8")
    report = pg.reindex()
    assert report.added == ("900_pg_update",) and not report.changed
    assert counting_embedder.embedded - first == 1  # one new sentence; every other vector reused
    assert pg.search("harbour master repairs storm", 1)[0].chunk.source_id == "900_pg_update"


def test_a_mismatched_manifest_is_refused_with_the_command_that_fixes_it(pg_url, fake_service, fake_embedder) -> None:
    pg_service(pg_url, fake_service, fake_embedder)
    backend = PostgresBackend(pg_url)
    with pytest.raises(IndexMismatchError, match=r"model=.*run `newsbot index`"):
        backend.load("another/model", fake_service.settings.chunker)
    with pytest.raises(IndexMismatchError, match=r"chunker=.*run `newsbot index`"):
        backend.load(fake_embedder.model_name, ChunkerConfig(max_chars=300))
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("UPDATE newsbot.generations SET manifest = jsonb_set(manifest, '{store_version}', '0')")
    with pytest.raises(IndexMismatchError, match=r"store_version=0.*`newsbot index --rebuild`"):
        backend.load(fake_embedder.model_name, fake_service.settings.chunker)
    backend.close()


def test_an_empty_database_says_how_to_build_the_index(pg_url, fake_service, fake_embedder) -> None:
    service = NewsService(fake_service.settings.with_overrides(database_url=pg_url), fake_embedder)
    with pytest.raises(IndexMissingError, match=r"no index in the database at postgresql://.*run `newsbot index`"):
        service.ask("What did the council decide?")


def test_the_staleness_check_works_as_for_the_directory(pg_url, fake_service, fake_embedder, tmp_path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    pg_service(pg_url, fake_service, fake_embedder, seeds)
    (seeds / "901_pg_stale.txt").write_text("A late article\n2024-06-01\n\nSomething happened.\n", encoding="utf-8")
    fresh = NewsService(fake_service.settings.with_overrides(database_url=pg_url, seeds_dir=seeds), fake_embedder)
    with pytest.raises(IndexMismatchError, match=r"older than the seeds .*901_pg_stale.*run `newsbot index`"):
        fresh.load()


def test_a_reader_keeps_its_generation_until_it_sees_the_switch(pg_url, fake_service, fake_embedder, tmp_path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    builder = pg_service(pg_url, fake_service, fake_embedder, seeds)
    reader = NewsService(builder.settings, fake_embedder)
    old = reader.index
    before = len(old.chunks)
    (seeds / "902_pg_switch.txt").write_text("Bridge opens\n2024-07-01\n\nThe new bridge over the river opened "
                                             "to traffic on Tuesday.\n", encoding="utf-8")
    builder.reindex()
    # The pinned generation still reads whole and alone: none of the new rows show up in it.
    assert len(old.chunks) == before and "902_pg_switch" not in old.articles
    assert all(h.chunk.source_id != "902_pg_switch" for h in old.searcher(20_000).hit_parts(
        range(before), np.zeros(fake_embedder.dimension, np.float32), replace_inputs()))
    reader.backend._checked = None  # as if the once-a-second check were due
    assert not reader.backend.is_current(old)
    assert reader.search("new bridge river traffic", 1)[0].chunk.source_id == "902_pg_switch"
    assert reader.index.generation == old.generation + 1
    # Two more builds: the reader's first generation is dropped, the previous one is kept for late readers.
    (seeds / "903_pg_more.txt").write_text("More news\n2024-07-02\n\nThe school reopened.\n", encoding="utf-8")
    builder.reindex(rebuild=True)
    builder.reindex(rebuild=True)
    schemas = {name.split(".")[0] for name in tables(pg_url)}
    assert f"newsbot_g{old.generation}" not in schemas
    assert {f"newsbot_g{old.generation + 2}", f"newsbot_g{old.generation + 3}"} <= schemas


def replace_inputs():
    from embeddings.search.interface import SearchInputs

    return SearchInputs({}, {}, [], {}, {})


def test_a_failed_build_leaves_nothing_and_the_old_generation_serves(pg_url, fake_service, fake_embedder) -> None:
    pg = pg_service(pg_url, fake_service, fake_embedder)
    before = tables(pg_url)
    backend = PostgresBackend(pg_url)
    articles = list(fake_service.index.articles.values())
    chunks = list(fake_service.index.chunks)
    with pytest.raises(ValueError, match="chunk vectors"):
        backend.write(articles, chunks, list(fake_service.index.sentence_rows), np.zeros((3, 96), np.float32),
                      np.zeros((3, 96), np.float32), model=fake_embedder.model_name,
                      chunker=fake_service.settings.chunker)
    assert tables(pg_url) == before
    assert pg.backend.read_manifest()["generation"] == 1 and pg.search("troops")
    backend.close()


def test_two_builds_are_serialized_by_the_advisory_lock(pg_url, fake_service, fake_embedder) -> None:
    pg_service(pg_url, fake_service, fake_embedder)
    reports, errors = [], []

    def build() -> None:
        try:
            service = NewsService(fake_service.settings.with_overrides(database_url=pg_url), fake_embedder)
            reports.append(service.reindex(rebuild=True))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(r.path.rsplit(" ", 1)[1] for r in reports) == ["2", "3"]
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (BUILD_LOCK,))
        backend = PostgresBackend(pg_url)
        with pytest.raises(IndexBusyError, match="another process is building the index"), backend._build_session(0.3):
            pass
        backend.close()


INJECTIONS = ["'; DROP TABLE newsbot.current; --", "\" OR 1=1 --",
              "x') UNION SELECT manifest FROM newsbot.generations --", "$$; DROP SCHEMA newsbot CASCADE; $$",
              "%(v)s %s {g}",
              "newsbot_g1.articles", "\\x00 '\\'"]


def test_sql_injection_through_questions_queries_and_source_ids(pg_url, fake_service, fake_embedder) -> None:
    pg = pg_service(pg_url, fake_service, fake_embedder)
    before = tables(pg_url)
    for text in INJECTIONS:
        pg.search(text, 5)
        pg.search(f"Crosetto troops {text}", 5)
        pg.ask(text)
        with pytest.raises(SourceNotFoundError):
            pg.source(text)
        assert text not in pg.index.articles
        with pytest.raises(KeyError):
            pg.index.source(text)
        assert pg.index.chunks_of(text) == []
    assert tables(pg_url) == before and pg.backend.read_manifest()["generation"] == 1
    expected = [h.chunk.chunk_id for h in fake_service.search("troops", 3)]
    assert [h.chunk.chunk_id for h in pg.search("troops", 3)] == expected


def test_ts_rank_is_available_for_comparison(pg_url, fake_service, fake_embedder) -> None:
    pg_service(pg_url, fake_service, fake_embedder)
    backend = PostgresBackend(pg_url, keyword="ts_rank")
    service = NewsService(replace(fake_service.settings, database_url=pg_url), fake_embedder, backend=backend)
    hits = service.search("Western troops Ukraine", 5)
    assert hits and all(h.lexical_score >= 0 for h in hits)
