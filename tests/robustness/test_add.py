"""`newsbot add` under mistakes (issue 25): a seeds directory that is the index, two files of one name, a name the
index cannot hold, a copy killed half-way. What add reports is what the index holds, and no article is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.index.directory import load_index
from tests.robustness.conftest import tiny_seeds

pytestmark = pytest.mark.fast

STORY = "Harbour story\n2024-03-01\n\nThe harbour master said the pier would reopen in May. Boats returned on Friday.\n"


@pytest.fixture()
def indexed(tmp_path: Path, fake_embedder) -> Settings:
    """Five tiny articles, indexed with the fake embedder."""
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 5), index_dir=tmp_path / "index",
                        feedback_db=tmp_path / "feedback.sqlite3")
    assert invoke(settings, fake_embedder, "index").exit_code == 0
    return settings


def invoke(settings: Settings, embedder, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def indexed_ids(settings: Settings, embedder) -> list[str]:
    return sorted(load_index(settings.index_dir, embedder.model_name, settings.chunker).articles)


def test_add_into_the_index_path_is_refused_and_the_index_keeps_its_articles(indexed: Settings, fake_embedder,
                                                                               tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text(STORY, encoding="utf-8")
    before = sorted(p.name for p in indexed.index_dir.resolve().iterdir())
    for seeds in (indexed.index_dir, indexed.index_dir.resolve(), indexed.index_dir / "deltas"):
        result = invoke(indexed, fake_embedder, "add", str(tmp_path / "story.txt"), "--seeds", str(seeds))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("newsbot: error: the seeds directory ") and "a newsbot index" in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in indexed.index_dir.resolve().iterdir()) == before
    assert indexed_ids(indexed, fake_embedder) == ["000_tiny", "001_tiny", "002_tiny", "003_tiny", "004_tiny"]


def test_index_with_the_index_as_its_seeds_is_refused(indexed: Settings, fake_embedder) -> None:
    result = invoke(indexed, fake_embedder, "index", "--seeds", str(indexed.index_dir))
    assert result.exit_code == 1 and "is a newsbot index, not a directory of articles" in result.stderr
    assert indexed_ids(indexed, fake_embedder) == ["000_tiny", "001_tiny", "002_tiny", "003_tiny", "004_tiny"]
