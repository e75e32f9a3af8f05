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
from tests.robustness.conftest import run_limited, tiny_seeds

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


def test_two_files_of_one_name_are_not_both_reported_added(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    for folder, place in (("a", "pier"), ("b", "library")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(STORY.replace("pier", place), encoding="utf-8")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "story.txt").write_text(STORY.replace("pier", "pier"), encoding="utf-8")
    result = invoke(indexed, fake_embedder, "add", *(str(tmp_path / f / "story.txt") for f in "abc"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["copied"] == [{"file": "story.txt", "articles": 1}]
    assert f"{tmp_path / 'b' / 'story.txt'}: another file of the same name as {tmp_path / 'a' / 'story.txt'}, given " \
           "before it, not added (rename one to add both)" in payload["warnings"]
    assert f"{tmp_path / 'c' / 'story.txt'}: the same file as {tmp_path / 'a' / 'story.txt'}, given before it, " \
           "not added" in payload["warnings"]
    assert "pier" in (indexed.seeds_dir / "story.txt").read_text(encoding="utf-8")  # a's, not replaced by b's
    assert "story" in indexed_ids(indexed, fake_embedder)


def test_a_file_the_index_cannot_hold_is_not_reported_added(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    (tmp_path / "Harbour report.txt").write_text(STORY, encoding="utf-8")
    result = invoke(indexed, fake_embedder, "add", str(tmp_path / "Harbour report.txt"))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("newsbot: error: nothing added: Harbour report.txt: file name is not a valid "
                                    "source id"), result.stderr
    assert not (indexed.seeds_dir / "Harbour report.txt").exists()


def test_add_counts_only_what_the_index_holds(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    from tests.embeddings.ingest.readers.conftest import PAGES

    # A page whose id (its stem) is already a .txt article's: the build keeps the .txt and skips the page.
    (tmp_path / "000_tiny.html").write_bytes((PAGES / "ferry-terminal.html").read_bytes())
    result = invoke(indexed, fake_embedder, "add", str(tmp_path / "000_tiny.html"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["copied"] == [{"file": "000_tiny.html", "articles": 0}]
    assert "000_tiny.html: 1 of its 1 articles are not in the index (000_tiny): see the warnings above" \
        in payload["warnings"]
    assert "000_tiny.html: source id 000_tiny is already 000_tiny.txt's, skipped" in payload["index"]["warnings"]
    result = invoke(indexed, fake_embedder, "add", str(tmp_path / "000_tiny.html"))
    assert "000_tiny.html is already in" in result.stdout


KILLED_COPY = """
import os, signal, sys
from pathlib import Path
import embeddings.ingest.add as add
from embeddings.ingest.readers.common import ReadLimits
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed with the copy written, before its rename
add.add_files(Path(sys.argv[1]), [Path(sys.argv[2])], ReadLimits())
"""


def test_a_copy_killed_half_way_is_removed_by_the_next_add(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    export = tmp_path / "big-export.jsonl"
    row = json.dumps({"id": "row", "title": "Harbour", "text": STORY.split("\n\n")[1]})
    export.write_text("\n".join(row.replace('"row"', f'"row{n}"') for n in range(2000)) + "\n", encoding="utf-8")
    killed = run_limited(KILLED_COPY, str(indexed.seeds_dir), str(export))
    assert killed.returncode == -9, killed.stderr
    leftovers = [p.name for p in indexed.seeds_dir.iterdir() if p.name.endswith(".part")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".add-")  # what the kill leaves
    (tmp_path / "story.txt").write_text(STORY, encoding="utf-8")
    result = invoke(indexed, fake_embedder, "add", str(tmp_path / "story.txt"))
    assert result.exit_code == 0, result.output
    assert not [p.name for p in indexed.seeds_dir.iterdir() if p.name.endswith(".part")]


def test_a_copy_another_add_is_writing_is_left_alone(indexed: Settings, fake_embedder, tmp_path: Path) -> None:
    import fcntl

    busy = indexed.seeds_dir / ".add-writing.part"
    with busy.open("wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        (tmp_path / "story.txt").write_text(STORY, encoding="utf-8")
        assert invoke(indexed, fake_embedder, "add", str(tmp_path / "story.txt")).exit_code == 0
        assert busy.exists()
