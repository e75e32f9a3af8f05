"""Cleaning decides block by block, and never loses an article: a labelled sample of each shape real scrapes take
(tests/data/cleaning/shapes.json, written after the shapes of the labelled real pages), a file that holds prose is
never skipped, and what was removed is told (fast tier: no model beyond the chrome model's weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.ingest.corpus import read_corpus
from embeddings.ingest.plaintext import RESCUED, parse_article
from embeddings.records import CleaningReport

pytestmark = pytest.mark.fast

SHAPES = json.loads((Path(__file__).resolve().parents[2] / "data" / "cleaning" / "shapes.json").read_text())["pages"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_keeps_the_article_and_drops_its_chrome(shape: str) -> None:
    page = SHAPES[shape]
    article = parse_article(shape, "\n".join(page["lines"]) + "\n")
    kept = article.clean_text
    for sentence in page["article"]:
        assert sentence in kept, (shape, sentence)
    for chrome in page["chrome"]:
        assert chrome not in kept, (shape, chrome)
    removed = [kind for kind, _ in article.noise if kind.startswith("chrome: ")]
    assert all(kind.removeprefix("chrome: ") for kind in removed)  # each removal names its signal


def test_a_file_whose_every_block_looks_like_chrome_keeps_its_best_prose(tmp_path: Path) -> None:
    # One line: a summary run on into a strip of headlines and prompts, the whole page a scraper saved.
    text = ("Rescue teams reached the stranded climbers on Friday after a storm had cut off the mountain pass for "
            "three days. Subscribe | Sign in | Newsletters | Trending | Markets | Live TV | Most Read | Privacy "
            "Policy | Cookie Settings\n")
    (tmp_path / "climbers.txt").write_text(text, encoding="utf-8")
    load = read_corpus(tmp_path)
    [article] = load.articles
    assert "Rescue teams reached the stranded climbers" in article.clean_text
    assert "Cookie Settings" not in article.clean_text
    assert ("body", RESCUED) in article.provenance or article.body
    assert load.cleaning.skipped == ()


def test_a_short_file_of_names_and_irregular_verbs_is_kept_whole(tmp_path: Path) -> None:
    # Two sentences dense with names, their verbs ("took", "sold") in no list: every block looked like chrome and
    # none read as prose by the verb list, so the file was skipped.
    text = ("Marchetti took the helm of Banca Sorrento as chair under Ottavio Ricci of Napoli. In 1998, Lucia's "
            "cousin Paolo de Santis sold the stake to Gruppo Ferrante of Milano, third largest of Italia.\n")
    (tmp_path / "banca.txt").write_text(text, encoding="utf-8")
    load = read_corpus(tmp_path)
    [article] = load.articles
    assert article.clean_text.strip() == text.strip()
    assert ("body", RESCUED) in article.provenance
    assert load.cleaning.skipped == ()


def test_a_file_with_no_prose_is_skipped_with_its_reason_and_counted(tmp_path: Path) -> None:
    (tmp_path / "menu.txt").write_text("Home\nWorld\nSport\nSubscribe\nSign in\n", encoding="utf-8")
    (tmp_path / "story.txt").write_text("\n".join(SHAPES["ticker"]["lines"]) + "\n", encoding="utf-8")
    load = read_corpus(tmp_path)
    assert [a.source_id for a in load.articles] == ["story"]
    [skipped] = load.cleaning.skipped
    assert skipped.startswith("menu.txt: no prose found")
    lines = load.cleaning.lines()
    assert lines[0].startswith("WARNING: 1 of 2 files (50%) were skipped")
    assert any("removed as page chrome" in line for line in lines)


def test_the_summary_is_quiet_when_nothing_is_skipped() -> None:
    report = CleaningReport(files=100, articles=100, parsed=100, text_chars=1000, chrome_chars=100)
    assert not any(line.startswith("WARNING") for line in report.lines())
    assert "100 of 1,000 characters removed as page chrome (10.0%)" in " ".join(report.lines())
