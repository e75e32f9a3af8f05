"""Builds that would empty an index by mistake (issue 25): a seeds directory with no article, or the wrong one, is
refused with the articles it would remove named; `--allow-shrink` builds it when that is meant."""

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
FIVE = ["000_tiny", "001_tiny", "002_tiny", "003_tiny", "004_tiny"]


@pytest.fixture()
def indexed(tmp_path: Path, fake_embedder) -> Settings:
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 5), index_dir=tmp_path / "index",
                        feedback_db=tmp_path / "feedback.sqlite3")
    assert invoke(settings, fake_embedder, "index").exit_code == 0
    return settings


def invoke(settings: Settings, embedder, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def ids(settings: Settings, embedder) -> list[str]:
    return sorted(load_index(settings.index_dir, embedder.model_name, settings.chunker).articles)


@pytest.mark.parametrize("seeds", ["empty", "/proc", "other"])
def test_a_build_that_would_remove_most_articles_is_refused_naming_them(indexed: Settings, fake_embedder,
                                                                         tmp_path: Path, seeds: str) -> None:
    if seeds == "empty":
        (tmp_path / "empty").mkdir()
        seeds = str(tmp_path / "empty")
    elif seeds == "other":  # another directory with one article: 5 removed, 1 added
        seeds = str(tiny_seeds(tmp_path / "other", 1))
        (Path(seeds) / "000_tiny.txt").rename(Path(seeds) / "elsewhere.txt")
    generation = indexed.index_dir.resolve()
    for args in (["index"], ["index", "--rebuild"], ["index", "--json"]):
        result = invoke(indexed.with_overrides(seeds_dir=Path(seeds)), fake_embedder, *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("newsbot: error: this build would remove 5 of the 5 articles"), result.stderr
        assert "000_tiny, 001_tiny, 002_tiny, 003_tiny, 004_tiny" in result.stderr and "--allow-shrink" in result.stderr
        assert "Traceback" not in result.output
    assert indexed.index_dir.resolve() == generation
    assert ids(indexed, fake_embedder) == FIVE


def test_allow_shrink_builds_it_and_a_small_removal_needs_no_flag(indexed: Settings, fake_embedder) -> None:
    for name in ("000_tiny", "001_tiny"):  # two of five: not most of the index
        (indexed.seeds_dir / f"{name}.txt").unlink()
    result = invoke(indexed, fake_embedder, "index", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed"] == ["000_tiny", "001_tiny"]
    for name in ("002_tiny", "003_tiny"):  # two of three: most
        (indexed.seeds_dir / f"{name}.txt").unlink()
    assert invoke(indexed, fake_embedder, "index").exit_code == 1
    result = invoke(indexed, fake_embedder, "index", "--allow-shrink")
    assert result.exit_code == 0, result.output
    assert ids(indexed, fake_embedder) == ["004_tiny"]


def test_the_service_refuses_it_too(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    from embeddings.errors import CorpusError

    (tmp_path / "empty").mkdir()
    service = NewsService(indexed.with_overrides(seeds_dir=tmp_path / "empty"), fake_embedder)
    with pytest.raises(CorpusError, match="would remove 5 of the 5"):
        service.reindex()
    assert ids(indexed, fake_embedder) == FIVE
