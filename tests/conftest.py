"""Shared fixtures: one real model, one real index over the real seeds, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.encoders.sentence_transformers import SentenceTransformerEmbedder
from embeddings.ingest.corpus import read_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
OWN_QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"
HELDOUT_QUESTIONS = ROOT / "tests" / "data" / "questions_heldout.jsonl"


class CountingEmbedder:
    """Wraps a real embedder and counts the texts it embeds."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.embedded = 0

    def embed(self, texts, progress=None):
        self.embedded += len(texts)
        return self.inner.embed(texts, progress=progress)


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The bundled model, loaded once for the whole session."""
    return SentenceTransformerEmbedder()


@pytest.fixture()
def counting_embedder(real_embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    """The real model behind a counter of embedded texts."""
    return CountingEmbedder(real_embedder)


@pytest.fixture(scope="session")
def articles():
    """The real seed articles."""
    return read_corpus(SEEDS).articles


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory holding a copy of the seeds and the session's index."""
    base = tmp_path_factory.mktemp("newsbot")
    shutil.copytree(SEEDS, base / "seeds")
    return base


@pytest.fixture(scope="session")
def settings(session_dir: Path) -> Settings:
    """Settings pointing at the session's seeds copy and index."""
    return Settings(seeds_dir=session_dir / "seeds", index_dir=session_dir / "index",
                    feedback_db=session_dir / "feedback.sqlite3", cooldown_seconds=0.0)


@pytest.fixture(scope="session")
def service(settings: Settings, real_embedder: SentenceTransformerEmbedder) -> NewsService:
    """A service over a real index of the real seeds, built once."""
    svc = NewsService(settings, real_embedder)
    svc.reindex()
    svc.load()
    return svc


@pytest.fixture()
def seeds_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the seeds for tests that change the corpus."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture()
def bot_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The session settings with a private feedback database."""
    return settings.with_overrides(feedback_db=tmp_path / "feedback.sqlite3")


@pytest.fixture()
def simcord_bot(bot_settings: Settings, service: NewsService):
    """The Discord bot under test (simcord drives it offline), over the shared real service (no second model)."""
    from bot.discord_bot.client import create_bot

    return create_bot(bot_settings, service=service)


@pytest.fixture(scope="session")
def fake_embedder():
    """The fast tier's embedder: deterministic hashed word vectors, no model."""
    from tests.fakes import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture(scope="session")
def fake_service(tmp_path_factory: pytest.TempPathFactory, fake_embedder) -> NewsService:
    """A service over an index of the real seeds built with the fake embedder: the whole flow in a second."""
    base = tmp_path_factory.mktemp("fast")
    shutil.copytree(SEEDS, base / "seeds")
    fast = Settings(seeds_dir=base / "seeds", index_dir=base / "index", feedback_db=base / "feedback.sqlite3",
                    cooldown_seconds=0.0)
    svc = NewsService(fast, fake_embedder)
    svc.reindex()
    svc.load()
    return svc


# --------------------------------------------------------------------------- PostgreSQL (the shared store)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL with pgvector on 127.0.0.1, started by `newsbot postgres start` and stopped at the end."""
    from tests.postgres import PgServer

    server = PgServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def pg_url(pg_server) -> str:
    """The URL of a fresh, empty database on the session's server (dropped afterwards)."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)
