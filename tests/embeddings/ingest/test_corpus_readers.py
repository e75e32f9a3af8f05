"""read_corpus dispatches by suffix: `.txt` seeds as before, pages, feeds and exports through their readers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings.ingest.add import add_files
from embeddings.ingest.corpus import read_corpus
from embeddings.ingest.readers.common import ReadLimits
from tests.conftest import SEEDS
from tests.embeddings.ingest.readers.conftest import EXPORTS, FEEDS, PAGES

pytestmark = pytest.mark.fast


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    """The seed articles beside every ingest fixture."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    for folder in (PAGES, FEEDS, EXPORTS):
        for path in folder.iterdir():
            shutil.copy(path, seeds / path.name)
    return seeds


def test_every_kind_of_file_is_read_and_the_bad_ones_are_named(mixed: Path):
    load = read_corpus(mixed)
    assert len(load.articles) == 5 + 4 + 6 + 5
    assert len({a.source_id for a in load.articles}) == len(load.articles)
    assert load.warnings == (
        "broken-feed.xml: not an RSS or Atom feed, skipped",
        "cafe-parking.htm: not UTF-8, decoded as windows-1252 (its meta charset)",
        "courier-export.jsonl line 2: not valid JSON (Unterminated string starting at, column 74), skipped",
        "courier-export.jsonl line 4: a JSON list, not an object, skipped",
        "ledger-export.csv row 4 (line 12): 8 fields, the header has 9, skipped",
        "ledger-export.csv row 5 (line 13): no text, skipped",
        "section-front.html: no extractable article (0 characters of text), skipped",
    )


def test_the_seed_articles_read_exactly_as_before(mixed: Path):
    alone = read_corpus(SEEDS).articles
    together = {a.source_id: a for a in read_corpus(mixed).articles}
    assert all(together[a.source_id] == a for a in alone)


def test_an_id_taken_by_a_txt_seed_or_an_earlier_file_is_skipped(mixed: Path):
    shutil.copy(PAGES / "ferry-terminal.html", mixed / "004_347bbc5789c47b0a.html")
    (mixed / "ferry-terminal.htm").write_bytes((PAGES / "storm-warning.html").read_bytes())
    warnings = read_corpus(mixed).warnings
    assert ("004_347bbc5789c47b0a.html: source id 004_347bbc5789c47b0a is already 004_347bbc5789c47b0a.txt's, "
            "skipped") in warnings
    assert "ferry-terminal.html: source id ferry-terminal is already ferry-terminal.htm's, skipped" in warnings


def test_the_limits_come_from_the_settings(mixed: Path):
    load = read_corpus(mixed, limits=ReadLimits(max_feed_bytes=2000))
    size = (mixed / "coastal-ledger.rss").stat().st_size
    warning = f"coastal-ledger.rss: {size:,} bytes, over the 2,000 limit (NEWSBOT_MAX_FEED_BYTES), skipped"
    assert warning in load.warnings


def test_a_directory_or_an_unreadable_file_is_a_warning(mixed: Path):
    (mixed / "folder.html").mkdir()
    page = mixed / "ferry-terminal.html"
    page.chmod(0)
    try:
        warnings = read_corpus(mixed).warnings
    finally:
        page.chmod(0o644)
    assert any(w.startswith("folder.html:") and "not a regular file" in w for w in warnings)
    import os

    if os.geteuid() != 0:  # root reads every file
        assert "ferry-terminal.html: cannot be read (Permission denied), skipped" in warnings


def test_add_copies_only_files_with_an_article(tmp_path: Path):
    seeds = tmp_path / "new-seeds"
    (tmp_path / "notes.TXT").write_text("Not read: the suffix is upper case.", encoding="utf-8")
    (tmp_path / "story.txt").write_text("A first sentence of the story. A second one.", encoding="utf-8")
    added = add_files(seeds, [PAGES / "ferry-terminal.html", PAGES / "section-front.html", FEEDS / "broken-feed.xml",
                              tmp_path / "notes.TXT", tmp_path / "story.txt", tmp_path / "missing.csv"], ReadLimits())
    assert added.copied == (("ferry-terminal.html", 1), ("story.txt", 1))
    assert sorted(p.name for p in seeds.iterdir()) == ["ferry-terminal.html", "story.txt"]
    assert (seeds / "ferry-terminal.html").read_bytes() == (PAGES / "ferry-terminal.html").read_bytes()
    assert added.warnings == (
        "section-front.html: no extractable article (0 characters of text), skipped",
        "section-front.html: no article in it, not added",
        "broken-feed.xml: not an RSS or Atom feed, skipped",
        "broken-feed.xml: no article in it, not added",
        "notes.TXT: not a file newsbot reads (.txt, .html, .htm, .xml, .rss, .atom, .csv, .jsonl), not added",
        "missing.csv: no such file, not added",
    )
    again = add_files(seeds, [PAGES / "ferry-terminal.html"], ReadLimits())
    assert again.copied == () and again.unchanged == ("ferry-terminal.html",)
