"""RSS 2.0 and Atom feeds (*.xml, *.rss, *.atom) through feedparser: each item is an article with its link, date,
author and full content (content:encoded, Atom content); an item with only a summary is indexed as that and its
metadata says so."""

from __future__ import annotations

import io
import json
import re
from importlib.metadata import version
from urllib.parse import urlsplit

from embeddings.ingest.readers.common import (
    Extracted,
    Found,
    ReadLimits,
    blocks_from_text,
    build_article,
    clean_url,
    digest,
    iso_date,
    one_line,
    provenance,
    short_hash,
)
from embeddings.ingest.readers.markup import (
    KEPT_PROSE,
    blocks_from_html,
    body_chars,
    keep_prose,
    looks_like_html,
    mark_noise,
)

SUFFIXES = (".xml", ".rss", ".atom")
READER_VERSION = "feed-2"
SUMMARY_ONLY = "feed summary only: the feed has no full text for this item"
_SEPARATORS = re.compile(r"\s+[|–—:-]\s+|\s+»\s+")


def read_feed(name: str, raw: bytes, limits: ReadLimits) -> Extracted:
    """Read every item of an RSS or Atom feed; a file that is not a feed is skipped with a warning."""
    import feedparser

    if len(raw) > limits.max_feed_bytes:
        return Extracted(warnings=(f"{name}: {len(raw):,} bytes, over the {limits.max_feed_bytes:,} limit "
                                 "(NEWSBOT_MAX_FEED_BYTES), skipped",))
    # A stream, never bytes or a string: feedparser opens a string that names a file or URL.
    try:
        # No sanitizing or URL resolving: both run over every item whole, before any limit applies (a 50 MB item took
        # minutes and a gigabyte); the text is extracted by blocks_from_html, which drops scripts and styles.
        parsed = feedparser.parse(io.BytesIO(raw), sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser reports bad XML itself; anything else is one warning
        return Extracted(warnings=(f"{name}: cannot be parsed as a feed ({type(exc).__name__}), skipped",))
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version"):
        why = f" (not well-formed XML: {_short(problem)})" if problem else ""
        return Extracted(warnings=(f"{name}: not an RSS or Atom feed{why}, skipped",))
    if not parsed.entries:
        return Extracted(warnings=(f"{name}: a feed with no items, skipped",))
    warnings: list[str] = []
    outlet = _outlet(parsed.feed)
    feed_author = one_line(_author(parsed.feed))
    articles = []
    seen: set[str] = set()
    for number, entry in enumerate(parsed.entries, start=1):
        where = f"{name} item {number}"
        article, warning = _item(entry, outlet, feed_author, limits, where)
        if warning:
            warnings.append(warning)
        if article is None:
            continue
        if article.source_id in seen:
            warnings.append(f"{where}: same guid or link as an earlier item, skipped")
            continue
        seen.add(article.source_id)
        articles.append(article)
    if problem and not isinstance(problem, feedparser.CharacterEncodingOverride):
        warnings.insert(0, f"{name}: not well-formed XML ({_short(problem)}): indexed the {len(articles)} items "
                           "that could be read")
    return Extracted(tuple(articles), tuple(warnings))


def _item(entry, outlet: str | None, feed_author: str | None, limits: ReadLimits, where: str):
    """Return (article or None, warning or None) for one feed item."""
    title = one_line(_plain(entry.get("title")))
    link = clean_url(entry.get("link"))
    key = one_line(entry.get("id"), 2000) or link or f"{title}|{entry.get('published') or entry.get('updated')}"
    source_id = short_hash(key)
    date, date_origin = _date(entry)
    author, author_origin = one_line(_author(entry)), "feed item"
    if not author and feed_author:
        author, author_origin = feed_author, "feed (its author)"
    content, summary_only = _content(entry)
    if content is None:
        return None, f"{where} ({title or 'untitled'}): no text, skipped"
    value, kind = content
    if len(value.encode("utf-8")) > limits.max_article_bytes:
        return None, (f"{where}: {len(value):,} characters, over the {limits.max_article_bytes:,} limit "
                      "(NEWSBOT_MAX_ARTICLE_BYTES), skipped")
    found = Found(title, date, outlet, link, author, provenance((
        ("title", title, "feed item"), ("date", date, date_origin), ("outlet", outlet, "feed title"),
        ("url", link, "feed item link"), ("author", author, author_origin),
        ("text", True, SUMMARY_ONLY if summary_only else "feed item content"),
    )))
    blocks = blocks_from_html(value) if "html" in kind or looks_like_html(value) else blocks_from_text(value)
    blocks, rescued = keep_prose(mark_noise(blocks, found))
    if not body_chars(blocks):
        return None, f"{where} ({title or 'untitled'}): no prose found, only chrome, skipped"
    fields = json.dumps([key, title, link, date, author, outlet, value], ensure_ascii=False)
    content_hash = digest(READER_VERSION, f"feedparser {version('feedparser')}", fields)
    return build_article(source_id, blocks, found, content_hash), (f"{where}: {KEPT_PROSE}" if rescued else None)


def _content(entry) -> tuple[tuple[str, str] | None, bool]:
    """Return ((text, type), summary_only): the longest full content, else the summary."""
    contents = [(str(c.get("value") or ""), str(c.get("type") or "")) for c in entry.get("content") or ()]
    contents = [c for c in contents if c[0].strip()]
    summary = str(entry.get("summary") or "")
    detail = entry.get("summary_detail") or {}
    if contents:
        best = max(contents, key=lambda c: len(c[0]))
        if len(best[0]) >= len(summary):
            return best, False
    if summary.strip():
        return (summary, str(detail.get("type") or "text/html")), True
    return None, True


def _date(entry) -> tuple[str | None, str]:
    """Return the item's publication date as written (else its update date) and where it came from."""
    for key in ("published", "updated", "created"):
        value = iso_date(entry.get(key))
        if value is None and entry.get(f"{key}_parsed"):
            parsed = entry.get(f"{key}_parsed")
            value = f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d}"
        if value:
            return value, f"feed item ({key})"
    return None, ""


def _author(node) -> str | None:
    detail = node.get("author_detail") or {}
    return detail.get("name") or node.get("author")


def _plain(value: object) -> str | None:
    """Return a title without markup (an Atom title may be HTML)."""
    if value is None:
        return None
    text = str(value)
    if looks_like_html(text):
        return " ".join(block.text for block in blocks_from_html(text))
    return text


def _outlet(feed) -> str | None:
    """Return the outlet a feed's title names: the part of 'Section - Outlet' that matches its site's host name."""
    title = one_line(_plain(feed.get("title")))
    if not title:
        return None
    parts = [part for part in _SEPARATORS.split(title) if part.strip()]
    host = urlsplit(str(feed.get("link") or "")).hostname or ""
    label = re.sub(r"[^a-z0-9]", "", host.removeprefix("www.").split(".")[0].lower())
    if len(parts) > 1 and label:
        for part in parts:
            squashed = re.sub(r"[^a-z0-9]", "", part.lower()).removeprefix("the")
            if squashed and (squashed in label or label in squashed):
                return part.strip()
    return title


def _short(problem: object) -> str:
    return one_line(problem, 120) or type(problem).__name__
