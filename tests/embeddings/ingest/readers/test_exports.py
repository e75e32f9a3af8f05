"""CSV and JSON Lines exports: one article a row, known columns read, others ignored, broken rows named."""

from __future__ import annotations

import json

import pytest

from embeddings.ingest.readers.common import ReadLimits, short_hash
from embeddings.ingest.readers.exports import read_export
from tests.embeddings.ingest.readers.conftest import EXPORTS

pytestmark = pytest.mark.fast
LIMITS = ReadLimits()


def read(name: str, raw: bytes | None = None):
    return read_export(name, (EXPORTS / name).read_bytes() if raw is None else raw, LIMITS)


def test_csv_rows_are_articles_with_their_columns_and_explicit_ids():
    reading = read("ledger-export.csv")
    market, rowing, _ = reading.articles
    assert [a.source_id for a in reading.articles] == ["cms-20240211-0042", "cms-20240214-0007", "cms-20240216-0003"]
    assert market.title == "Fish market moves to new hall on Quay Road"
    assert (market.date, market.outlet, market.author) == ("2024-02-11", "The Coastal Ledger", "Owen Tregarthen")
    assert market.url == "https://www.coastalledger.example/business/2024/02/11/fish-market-new-hall"
    assert market.clean_text.split("\n\n")[2].startswith('"The old sheds have done their job')
    assert rowing.date == "2024-02-14" and rowing.author is None  # "14 February 2024"; an empty author column
    assert "Business" not in market.text and "118" not in market.text  # other columns are ignored


def test_a_broken_csv_row_is_skipped_with_a_warning_naming_the_file_and_row():
    assert read("ledger-export.csv").warnings == (
        "ledger-export.csv row 4 (line 12): 8 fields, the header has 9, skipped",
        "ledger-export.csv row 5 (line 13): no text, skipped",
    )


def test_jsonl_lines_are_articles_and_broken_lines_are_named():
    reading = read("courier-export.jsonl")
    bridge, festival = reading.articles
    assert bridge.source_id == short_hash("https://northerncourier.example/news/saltwick-bridge-repairs/")
    assert (bridge.outlet, bridge.author, bridge.date) == ("Northern Courier", "Magnus Halvorsen", "2023-12-04")
    assert festival.clean_text.startswith("About 9,000 people")  # the `content` column
    assert festival.date == "2023-09-24" and festival.author is None
    assert reading.warnings == (
        "courier-export.jsonl line 2: not valid JSON (Unterminated string starting at, column 74), skipped",
        "courier-export.jsonl line 4: a JSON list, not an object, skipped",
    )


def test_an_html_body_is_read_as_markup_and_an_odd_date_or_url_is_named():
    row = {"id": "x 1/2", "title": "T", "published": "sometime soon", "url": "javascript:alert(1)",
           "source": "Outlet", "body": "<p>First paragraph of the story.</p><figure><figcaption>A caption. Photo: "
                                       "Someone</figcaption></figure><p>Second <b>paragraph</b> here.</p>"}
    reading = read("x.jsonl", json.dumps(row).encode())
    [article] = reading.articles
    assert article.source_id == short_hash("x 1/2")  # an id that cannot be a source id is hashed
    assert article.clean_text == "First paragraph of the story.\n\nSecond paragraph here."
    assert article.url is None and article.date is None
    assert reading.warnings == (
        "x.jsonl line 1: date 'sometime soon' not understood, left undated",
        "x.jsonl line 1: url 'javascript:alert(1)' is not an absolute http(s) address, left out")


@pytest.mark.parametrize(("name", "raw", "warning"), [
    ("a.csv", "title,body\nCafé,Un café.\n".encode("latin-1"), "a.csv: not UTF-8 (byte 14), skipped"),
    ("a.csv", b"title,date\nA,2024-01-01\n", "a.csv header: no text, content or body column, skipped"),
    ("a.csv", b"", "a.csv header: empty file, skipped"),
    ("a.jsonl", b'{"title": "no text"}\n', "a.jsonl line 1: no text, skipped"),
    ("a.csv", b"id,text\n1,One article here.\n1,The same id again.\n",
     "a.csv row 3 (line 3): same id as an earlier row (1), skipped"),
])
def test_bad_exports_are_skipped_with_a_warning(name, raw, warning):
    assert warning in read_export(name, raw, LIMITS).warnings


def test_a_byte_order_mark_and_a_long_body_are_fine():
    body = "A long sentence of the article body. " * 8000  # over the csv module's 128 KB field limit
    raw = ("\ufeffid,title,text\nlong-1,Long,\"" + body + "\"\n").encode("utf-8")
    [article] = read_export("a.csv", raw, LIMITS).articles
    assert article.source_id == "long-1" and len(article.clean_text) == len(body.strip())


def test_a_row_over_the_article_limit_is_skipped():
    raw = b'{"id": "big", "text": "' + b"x" * 3000 + b'"}\n'
    reading = read_export("a.jsonl", raw, ReadLimits(max_article_bytes=1000))
    assert reading.articles == ()
    assert reading.warnings == ("a.jsonl line 1: 3,000 characters, over the 1,000 limit (NEWSBOT_MAX_ARTICLE_BYTES), "
                                "skipped",)


def test_hostile_rows_are_warnings_not_tracebacks():
    raw = b"[" * 100_000 + b"\n" + b'{"text": "' + b"<div>" * 20_000 + b'Deep but fine.</div>"}\n'
    reading = read_export("deep.jsonl", raw, LIMITS)
    assert reading.warnings[0] == "deep.jsonl line 1: JSON nested too deep, skipped"
    assert [a.clean_text for a in reading.articles] in ([], ["Deep but fine."])
