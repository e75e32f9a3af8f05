"""Pages and feeds that lie or are built to be slow (issue 25): a declared charset that is no page encoding, an item
or a page far larger than any article. Each is one warning; `index` and `ask` go on with the other articles."""

from __future__ import annotations

import encodings.aliases
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.ingest.readers.html import decode_page
from tests.robustness.conftest import tiny_seeds

pytestmark = pytest.mark.fast
PARAGRAPH = "The harbour master said the pier would reopen in May after the storm damage was repaired. "


def invoke(settings: Settings, embedder, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def lying_page(label: str) -> bytes:
    return (f'<html><head><meta charset="{label}"><title>Pier</title></head><body><article><p>{PARAGRAPH * 4}'
            f'Caf\xe9.</p></article></body></html>').encode("latin-1")


@pytest.mark.parametrize("label", ["utf-16", "idna", "undefined", "rot13", "hex", "punycode", "unicode_escape",
                                   "base64", "utf-7"])
def test_a_page_whose_charset_lies_is_one_warning_and_index_and_ask_go_on(tmp_path: Path, fake_embedder,
                                                                          label: str) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    (seeds / "lying.html").write_bytes(lying_page(label))
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3")
    result = invoke(settings, fake_embedder, "index")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("warning: lying.html: ")]
    result = invoke(settings, fake_embedder, "ask", "What did the mayor say about the harbour repairs?")
    assert result.exit_code == 0, result.output


def test_no_codec_name_makes_decoding_a_page_raise() -> None:
    labels = set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()) | {"undefined", "rot13", "hex"}
    raw = bytes(range(256)) * 4
    for label in sorted(labels):
        text, warning = decode_page("p.html", f'<meta charset="{label}"><p>'.encode() + raw)
        assert warning and warning.startswith("p.html: "), label
        assert text is None or isinstance(text, str)


def big_item_feed(item_bytes: int) -> bytes:
    paragraph = f"<p>{PARAGRAPH}</p>"
    body = paragraph * (item_bytes // len(paragraph))
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Ledger</title><link>https://ledger.example/</link>'
            f'<item><title>Huge</title><guid>huge</guid><description><![CDATA[{body}]]></description></item>'
            f'<item><title>Pier</title><guid>pier</guid><description>{PARAGRAPH * 3}</description></item>'
            '</channel></rss>').encode()


def test_a_feed_item_over_the_article_limit_is_refused_before_it_is_processed(monkeypatch) -> None:
    import feedparser.sanitizer
    import feedparser.urls

    from embeddings.ingest.readers.common import ReadLimits
    from embeddings.ingest.readers.feeds import read_feed

    def whole_item(*args, **kwargs):
        raise AssertionError("an item was processed whole before its size was checked")

    # feedparser sanitized and resolved every item whole before the article limit applied: minutes and a gigabyte
    # for one 50 MB item.
    monkeypatch.setattr(feedparser.sanitizer, "_sanitize_html", whole_item)
    monkeypatch.setattr(feedparser.urls, "resolve_relative_uris", whole_item)
    reading = read_feed("ledger.xml", big_item_feed(8_000_000), ReadLimits(max_article_bytes=1_000_000))
    assert [a.title for a in reading.articles] == ["Pier"]
    [warning] = reading.warnings
    assert warning.startswith("ledger.xml item 1: 7,99") and warning.endswith(" characters, over the 1,000,000 limit "
                                                                             "(NEWSBOT_MAX_ARTICLE_BYTES), skipped")


def many_paragraphs(count: int) -> bytes:
    paragraphs = "".join(f"<p>{PARAGRAPH}Item {n}.</p>\n" for n in range(count))
    return f"<html><head><title>Pier</title></head><body><article>{paragraphs}</article></body></html>".encode()


def test_a_page_of_too_many_elements_is_refused_before_extraction(monkeypatch) -> None:
    import trafilatura

    from embeddings.ingest.readers.common import ReadLimits
    from embeddings.ingest.readers.html import MAX_PAGE_ELEMENTS, read_html

    extract = trafilatura.bare_extraction
    calls: list[int] = []
    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *a, **k: calls.append(1) or extract(*a, **k))
    raw = many_paragraphs(80_000)  # 9 MB, under the page limit; extraction time grows faster than the page
    reading = read_html("long.html", raw, ReadLimits())
    assert not reading.articles and not calls
    assert reading.warnings == (f"long.html: 80,005 HTML elements, more than a page of one article holds "
                                f"({MAX_PAGE_ELEMENTS:,}), skipped",)
    reading = read_html("fine.html", many_paragraphs(2_000), ReadLimits())  # a long article still extracts
    assert len(reading.articles) == 1 and calls == [1]


def test_index_with_a_huge_item_and_a_huge_page_ends_with_warnings(tmp_path: Path, fake_embedder) -> None:
    from tests.robustness.conftest import finishes

    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (seeds / "ledger.xml").write_bytes(big_item_feed(3_000_000))
    (seeds / "long.html").write_bytes(many_paragraphs(60_000))
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3")
    result = finishes(lambda: invoke(settings, fake_embedder, "index"), within=120)  # a bound, not a timing
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any(line.startswith("warning: ledger.xml item 1: ") and "over the" in line for line in warnings)
    assert any(line.startswith("warning: long.html: 60,005 HTML elements") for line in warnings)


def test_an_unchanged_feed_or_export_is_checked_by_hash_at_every_start(tmp_path: Path, fake_embedder,
                                                                       monkeypatch) -> None:
    import json

    import feedparser

    from embeddings.errors import IndexMismatchError
    from embeddings.ingest.readers import exports

    seeds = tiny_seeds(tmp_path / "seeds", 2)
    items = "".join(f"<item><title>Note {n}</title><guid>note-{n}</guid><description>The council said road {n} "
                    "would be repaired in spring. Work starts on Monday.</description></item>" for n in range(3000))
    feed = seeds / "notes.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Notes</title>{items}</channel></rss>',
                    encoding="utf-8")
    (seeds / "rows.jsonl").write_text("\n".join(json.dumps({"id": f"row-{n}", "title": f"Row {n}", "text":
                                      f"The harbour board met on day {n}. It approved the plan."}) for n in range(300)),
                                      encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3")
    assert invoke(settings, fake_embedder, "index", "--quiet").exit_code == 0

    parsed: list[str] = []
    parse, rows = feedparser.parse, exports._jsonl_rows
    monkeypatch.setattr(feedparser, "parse", lambda *a, **k: parsed.append("feed") or parse(*a, **k))
    monkeypatch.setattr(exports, "_jsonl_rows", lambda *a, **k: parsed.append("export") or rows(*a, **k))
    NewsService(settings, fake_embedder).load()  # the staleness check of every start
    result = invoke(settings, fake_embedder, "ask", "What did the council say about road 17?")
    assert result.exit_code == 0, result.output
    result = invoke(settings, fake_embedder, "index")
    assert result.exit_code == 0 and "up to date" in result.stdout, result.output
    assert parsed == []  # unchanged: hashed, never parsed again

    feed.write_text(feed.read_text(encoding="utf-8").replace("road 17 ", "road 71 "), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="1 articles changed"):
        NewsService(settings, fake_embedder).load()
    assert parsed == ["feed"]
    result = invoke(settings, fake_embedder, "index", "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["changed"]) == 1, result.output


def test_an_unchanged_export_whose_id_another_file_held_is_read_again_when_that_file_goes(
        tmp_path: Path, fake_embedder) -> None:
    import json

    from embeddings.errors import IndexMismatchError

    seeds = tiny_seeds(tmp_path / "seeds", 3)
    rows = [{"id": "000_tiny", "title": "Row", "text": PARAGRAPH}, {"id": "row-2", "title": "Two", "text": PARAGRAPH}]
    (seeds / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3")
    result = invoke(settings, fake_embedder, "index")
    assert "rows.jsonl: source id 000_tiny is already 000_tiny.txt's, skipped" in result.stderr
    (seeds / "000_tiny.txt").unlink()  # the row's id is free now: the index must not keep the .txt under it
    with pytest.raises(IndexMismatchError, match="1 articles changed: 000_tiny"):
        NewsService(settings, fake_embedder).load()
    assert invoke(settings, fake_embedder, "index").exit_code == 0
    assert "harbour master" in invoke(settings, fake_embedder, "source", "000_tiny").stdout
