"""RSS 2.0 and Atom feeds: each item an article with its link, date, author and full content (or its summary)."""

from __future__ import annotations

import pytest

from embeddings.ingest.readers.common import ReadLimits, short_hash
from embeddings.ingest.readers.feeds import SUMMARY_ONLY, read_feed
from tests.embeddings.ingest.readers.conftest import FEEDS

pytestmark = pytest.mark.fast
LIMITS = ReadLimits()


def read(name: str, raw: bytes | None = None):
    return read_feed(name, (FEEDS / name).read_bytes() if raw is None else raw, LIMITS)


def test_rss_items_carry_link_date_author_outlet_and_full_content():
    reading = read("coastal-ledger.rss")
    assert reading.warnings == ()
    lifeboat, _, tolls = reading.articles
    assert lifeboat.source_id == short_hash("https://www.coastalledger.example/?p=48812")
    assert lifeboat.title == "Lifeboat crew rescue four from capsized yacht off Gull Point"
    assert lifeboat.url == "https://www.coastalledger.example/news/2024/03/07/lifeboat-rescue-gull-point/"
    assert (lifeboat.date, lifeboat.author, lifeboat.outlet) == ("2024-03-07", "Priya Ramaswamy", "The Coastal Ledger")
    assert "clinging to the hull" in lifeboat.clean_text  # content:encoded, not the one-line description
    assert dict(lifeboat.provenance)["text"] == "feed item content"
    # A permalink guid is the item's id too.
    assert tolls.source_id == short_hash("https://www.coastalledger.example/news/2024/03/01/bridge-tolls/")
    assert "£2.20 each way" in tolls.clean_text


def test_the_date_is_the_day_the_feed_states_not_moved_to_utc():
    _, school, _ = read("coastal-ledger.rss").articles
    assert school.date == "2024-03-06"  # Wed, 06 Mar 2024 23:30:00 -0500 is the 7th in UTC


def test_an_item_with_only_a_summary_is_indexed_as_that_and_says_so():
    _, school, _ = read("coastal-ledger.rss").articles
    assert dict(school.provenance)["text"] == SUMMARY_ONLY
    assert school.clean_text.startswith("St Morwenna's primary school in Porthcarrow will close")


def test_feed_chrome_is_noise_never_passages():
    lifeboat = read("coastal-ledger.rss").articles[0]
    kinds = {kind: lifeboat.span_text(span) for kind, span in lifeboat.noise}
    assert kinds["boilerplate"].startswith("The post Lifeboat crew rescue")
    assert kinds["read-more"].startswith("Read more:")
    assert kinds["caption"].endswith("Photograph: RNLI/Marlow Bay")
    for text in ("appeared first on", "Read more", "Photograph"):
        assert text not in lifeboat.clean_text


def test_atom_entries_html_and_xhtml_content_inherited_author_and_updated_date():
    reading = read("northern-courier.atom")
    assert reading.warnings == ()
    power, frost, outlook = reading.articles
    assert power.source_id == short_hash("tag:northerncourier.example,2023-11-03:/weather/88290")
    assert (power.author, power.outlet, power.date) == ("Aisha Bello", "Northern Courier", "2023-11-03")
    assert "“The worst of the wind is now behind us" in power.clean_text
    assert "Roads and rail" not in power.clean_text  # a heading: noise
    assert frost.clean_text.startswith("Temperatures will fall to minus three")
    assert frost.author == "Northern Courier newsdesk"
    assert dict(frost.provenance)["author"] == "feed (its author)"
    assert dict(frost.provenance)["date"] == "feed item (updated)"
    assert dict(outlook.provenance)["text"] == SUMMARY_ONLY


def test_ids_are_stable_when_the_feed_is_fetched_again():
    raw = (FEEDS / "coastal-ledger.rss").read_bytes()
    first = read("a.rss", raw).articles
    later = read("b.rss", raw.replace(b"Thu, 07 Mar 2024 17:20:11", b"Fri, 08 Mar 2024 06:00:00")).articles
    assert [a.source_id for a in first] == [a.source_id for a in later]
    assert [a.content_hash for a in first] == [a.content_hash for a in later]


@pytest.mark.parametrize(("raw", "warning"), [
    (None, "not an RSS or Atom feed, skipped"),
    (b"", "not an RSS or Atom feed, skipped"),
    (b"\x00\x01 not xml at all", "not an RSS or Atom feed, skipped"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>',
     "a feed with no items, skipped"),
])
def test_a_file_that_is_not_a_feed_is_skipped_with_one_warning(raw, warning):
    reading = read("broken-feed.xml", raw)
    assert reading.articles == ()
    assert [w.split(" (not well-formed")[0].removesuffix(", skipped") + ", skipped" for w in reading.warnings] == [
        f"broken-feed.xml: {warning}"]


def test_a_truncated_feed_keeps_the_items_it_could_read_and_says_so():
    raw = (FEEDS / "coastal-ledger.rss").read_bytes()
    cut = raw[: raw.index(b"<title>Bridge tolls")]
    reading = read("cut.rss", cut)
    assert [a.title for a in reading.articles][:2] == [
        "Lifeboat crew rescue four from capsized yacht off Gull Point",
        "Village school to close in July after pupil numbers fall"]
    assert reading.warnings[0].startswith("cut.rss: not well-formed XML")
    assert reading.warnings[0].endswith(f"indexed the {len(reading.articles)} items that could be read")


def test_a_feed_over_the_limit_is_skipped():
    reading = read_feed("big.rss", b"<rss>" + b" " * 2000, ReadLimits(max_feed_bytes=1000))
    assert reading.warnings == ("big.rss: 2,005 bytes, over the 1,000 limit (NEWSBOT_MAX_FEED_BYTES), skipped",)


def test_a_feed_naming_a_local_file_is_never_opened(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text('<rss version="2.0"><channel><item><title>secret</title><description>Do not read me.'
                      "</description></item></channel></rss>", encoding="utf-8")
    assert read_feed("x.xml", str(secret).encode(), LIMITS).articles == ()


def test_deeply_nested_item_content_is_read_without_recursion():
    content = "&lt;div&gt;" * 5000 + "A sentence at the bottom of the nesting." + "&lt;/div&gt;" * 5000
    raw = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>Deep</title>'
           f"<guid>deep-1</guid><description>{content}</description></item></channel></rss>").encode()
    reading = read_feed("deep.rss", raw, LIMITS)
    assert reading.articles == () or reading.articles[0].clean_text.endswith("bottom of the nesting.")
