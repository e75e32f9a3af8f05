"""Saved pages through trafilatura: the article and its metadata in, the site's chrome out."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.ingest.chunking import chunk_article
from embeddings.ingest.corpus import read_corpus
from embeddings.ingest.readers.common import ReadLimits
from embeddings.ingest.readers.html import read_html
from embeddings.records import ChunkerConfig
from tests.embeddings.ingest.readers.conftest import INGEST, PAGES

pytestmark = pytest.mark.fast
LIMITS = ReadLimits()
# Text of the page's navigation, cookie banner, related links, share bars, footer, comments and scripts.
CHROME = {
    "ferry-terminal.html": ["cookies", "Accept all", "Skip to main content", "Subscribe from", "Share this article",
                            "WhatsApp", "Related articles", "Bridge tolls to rise", "Most read", "Comments (14)",
                            "About time", "All rights reserved", "Tracking script", "dataLayer", "Morning Briefing",
                            "Advertisement", "Island ferry timetable cut", "Topics:", "Local news"],
    "storm-warning.html": ["We value your privacy", "842 partners", "Log in", "Main road closed", "Most popular",
                           "Share this", "Storm Hugo", "Previous:", "Copyright", "trackPageView", "Download our",
                           "Subscribe to the Northern Courier", "@CoastHighways", "4 min read"],
    "school-meals.html": ["This site uses cookies", "Obituaries", "Email a friend", "More education stories",
                          "Nursery places", "14 Castle Street"],
    "cafe-parking.htm": ["cookie", "Print this story", "See also", "Market hall reopens", "Reproduction", "popup"],
}
# What a reader may keep in the text of record as marked noise, but never in the passages.
NOISE = {
    "ferry-terminal.html": ["Photograph:", "Read more"],
    "school-meals.html": ["READ MORE", "Published: 12 June 2023", "Picture: Dunmore Herald", "Catriona Begg,"],
    "storm-warning.html": ["Which areas are affected?", "Travel disruption"],
}


def read(name: str):
    reading = read_html(name, (PAGES / name).read_bytes(), LIMITS)
    return reading.articles[0], reading.warnings


@pytest.mark.parametrize("name", sorted(CHROME))
def test_the_article_text_and_metadata_come_out(gold, name):
    article, _ = read(name)
    expected = gold["pages"][name]
    assert article.source_id == name.rsplit(".", 1)[0]
    for key in ("title", "date", "outlet", "url", "author"):
        assert getattr(article, key) == expected[key], key
    assert article.clean_text.split("\n\n") == expected["body"]


@pytest.mark.parametrize("name", sorted(CHROME))
def test_chrome_never_reaches_the_text(name):
    article, _ = read(name)
    for chrome in CHROME[name]:
        assert chrome not in article.text, chrome
    for noise in NOISE.get(name, []):
        assert noise not in article.clean_text, noise


@pytest.mark.parametrize("name", sorted(CHROME))
def test_every_passage_is_an_exact_substring_of_the_text_of_record(name):
    article, _ = read(name)
    chunks = chunk_article(article, ChunkerConfig())
    assert chunks
    for chunk in chunks:
        assert article.text[chunk.start:chunk.end] == chunk.text
        assert all(chunk.text[s - chunk.start:e - chunk.start] in article.clean_text for s, e in chunk.sentences)
    for kind, span in article.noise:
        assert not any(c.start < span[1] and span[0] < c.end for c in chunks), kind


def test_a_windows_1252_page_is_decoded_by_its_meta_charset_with_one_warning():
    article, warnings = read("cafe-parking.htm")
    assert warnings == ("cafe-parking.htm: not UTF-8, decoded as windows-1252 (its meta charset)",)
    assert "€1.2m" in article.text and "council’s" in article.text and "Zoë" in article.text


def test_a_page_without_an_article_is_skipped_with_a_warning():
    reading = read_html("section-front.html", (PAGES / "section-front.html").read_bytes(), LIMITS)
    assert reading.articles == ()
    assert reading.warnings == ("section-front.html: no extractable article (0 characters of text), skipped",)


def test_the_content_hash_follows_the_file_bytes():
    raw = (PAGES / "ferry-terminal.html").read_bytes()
    first = read_html("a.html", raw, LIMITS).articles[0]
    again = read_html("a.html", raw, LIMITS).articles[0]
    changed = read_html("a.html", raw.replace(b"</body>", b"<!-- saved again --></body>"), LIMITS).articles[0]
    assert first.content_hash == again.content_hash != changed.content_hash
    assert first.text == changed.text


def test_the_reader_says_where_each_value_came_from():
    article, _ = read("ferry-terminal.html")
    provenance = dict(article.provenance)
    assert provenance["date"] == "page metadata (htmldate)"
    assert provenance["text"].startswith("html page, main text by trafilatura")


@pytest.mark.parametrize(("raw", "warning"), [
    (b"\xff\xfe\x00<\x00h\x00t\x00m\x00l", "not UTF-8 (byte 0) and no charset declared, skipped"),
    ("<html><body><p>Caf\xe9 cr\xe8me.</p></body></html>".encode("latin-1"),
     "not UTF-8 (byte 18) and no charset declared, skipped"),
    (b'<meta charset="klingon-8"><p>\xff</p>', "not UTF-8 and its charset 'klingon-8' is unknown, skipped"),
    (b"", "no extractable article, skipped"),
    (b"<html><head><script>var x = 1;</script></head><body></body></html>", "no extractable article, skipped"),
    (b"\x00\x01\x02 binary", "no extractable article, skipped"),
    (b"<div>" * 50_000 + b"<p>" + b"A sentence nested far too deep. " * 20 + b"</p>" + b"</div>" * 50_000,
     "no extractable article, skipped"),
])
def test_bad_pages_are_skipped_with_one_warning_naming_them(raw, warning):
    reading = read_html("bad.html", raw, LIMITS)
    assert reading.articles == ()
    assert reading.warnings == (f"bad.html: {warning}",)


def test_a_page_over_the_limit_is_never_read(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "ferry-terminal.html").write_bytes((PAGES / "ferry-terminal.html").read_bytes())
    with (seeds / "huge.html").open("wb") as out:
        out.write(b"<html><body><p>A 50 MB page.</p>")
        out.truncate(50 * 1024 * 1024)
    load = read_corpus(seeds)
    assert [a.source_id for a in load.articles] == ["ferry-terminal"]
    assert load.warnings == ("huge.html: 52,428,800 bytes, over the 10,000,000 limit (NEWSBOT_MAX_PAGE_BYTES), "
                             "skipped",)
    small = ReadLimits(max_page_bytes=1000)
    assert read_html("x.html", b"<p>" * 400, small).warnings[0].endswith("(NEWSBOT_MAX_PAGE_BYTES), skipped")


def test_a_file_name_that_is_not_a_source_id_is_skipped():
    reading = read_html("-bad name.html", (PAGES / "ferry-terminal.html").read_bytes(), LIMITS)
    assert reading.warnings == ("-bad name.html: file name is not a valid source id, skipped",)


def test_the_reader_keeps_every_fixture_word_and_nothing_else():
    from benchmarks.extraction import fixture_figures

    figures = fixture_figures(INGEST)["newsbot reader"]
    assert figures["precision"] >= 0.97 and figures["recall"] >= 0.97
