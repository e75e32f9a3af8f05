"""What the readers share: their limits and results, a block of extracted text, and turning blocks and metadata into
an Article whose text is the text of record."""

from __future__ import annotations

import email.utils
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

from embeddings.records import Article, Span

# A news article is tens of kilobytes of text; a row or item far larger is a dump or a mistake.
MAX_ARTICLE_BYTES = 2_000_000
# A saved page carries its scripts and styles: real news pages run to 3 MB (measured), a 50 MB one is not a page.
MAX_PAGE_BYTES = 10_000_000
# A feed or an export holds many articles.
MAX_FEED_BYTES = 100_000_000
# At most 100 characters: the longest value a Discord autocomplete choice can carry.
# \A...\Z, not ^...$: `$` also matches before a final newline, and "harbour\n" is no id (use fullmatch).
SOURCE_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
MAX_URL = 2048
MAX_FIELD = 300
HASH_CHARS = 16

# Kinds of block that are the article's text; every other kind is noise, kept in the text of record but never
# chunked, so `source ID` shows what was left out and why.
BODY_KINDS = frozenset({"paragraph", "quote", "item"})
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ]\d)")
_LETTERS = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True)
class ReadLimits:
    """Size limits of what is read, from the settings (NEWSBOT_MAX_ARTICLE_BYTES, _PAGE_BYTES, _FEED_BYTES)."""

    max_article_bytes: int = MAX_ARTICLE_BYTES
    max_page_bytes: int = MAX_PAGE_BYTES
    max_feed_bytes: int = MAX_FEED_BYTES


@dataclass(frozen=True)
class Extracted:
    """What a reader made of one file: its articles and one warning per thing left out or repaired."""

    articles: tuple[Article, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    """A paragraph-like piece of extracted text and its kind (paragraph, quote, item, heading, caption...)."""

    kind: str
    text: str
    link_share: float = 0.0


@dataclass(frozen=True)
class Found:
    """An article's metadata as a reader found it, and where each value came from."""

    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    url: str | None = None
    author: str | None = None
    provenance: tuple[tuple[str, str], ...] = field(default=())


def one_line(value: object, limit: int = MAX_FIELD) -> str | None:
    """Return a metadata value as one trimmed line (None when empty), cut to `limit` characters."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:limit].rstrip() or None


def normalize_space(text: str) -> str:
    """Collapse runs of spaces (not line breaks) and trim every line."""
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.split("\n"))


def clean_url(value: object) -> str | None:
    """Return an absolute http(s) URL as given, or None for anything else (relative, javascript:, spaces...)."""
    text = one_line(value, MAX_URL + 1)
    if not text or len(text) > MAX_URL or " " in text or any(ord(c) < 32 for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def iso_date(value: object) -> str | None:
    """Return the calendar date a value states (YYYY-MM-DD, as written, not moved to UTC), or None."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = one_line(value, 100)
    if not text:
        return None
    if match := _ISO.match(text):
        return _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    parsed = email.utils.parsedate_tz(text)
    if parsed and parsed[0] > 0:
        return _valid(parsed[0], parsed[1], parsed[2])
    if _LETTERS.search(text):
        # Only with a month name: "03/05/2024" is a different day in different countries.
        from dateutil import parser

        try:
            return parser.parse(text, fuzzy=False).strftime("%Y-%m-%d")
        except (ValueError, OverflowError):
            return None
    return None


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def short_hash(*keys: str) -> str:
    """Return a stable short id for a feed item or row without one: a hash of its guid or URL."""
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:HASH_CHARS]


def digest(*parts: bytes | str) -> str:
    """Return a SHA-256 over some parts (the reader's version, the source's bytes or fields)."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()


def is_sentence(text: str) -> bool:
    """True when a block ends like a sentence (a heading, label or link does not)."""
    return bool(_SENTENCE_END.search(text))


def blocks_from_text(text: str) -> list[Block]:
    """Split plain text into paragraph blocks, one a non-blank line."""
    return [Block("paragraph", line) for line in normalize_space(text).split("\n") if line]


def build_article(source_id: str, blocks: Sequence[Block], found: Found, content_hash: str) -> Article:
    """Join blocks into the text of record (a blank line between blocks); body blocks are the spans to index, the
    others are noise, and each noise block ends a segment so that no chunk runs across it."""
    parts: list[str] = []
    body: list[Span] = []
    noise: list[tuple[str, Span]] = []
    segments: list[Span] = []
    position = 0
    open_segment = False
    for block in blocks:
        if parts:
            position += 2
        span = (position, position + len(block.text))
        parts.append(block.text)
        position = span[1]
        if block.kind in BODY_KINDS:
            body.append(span)
            if open_segment:
                segments[-1] = (segments[-1][0], span[1])
            else:
                segments.append(span)
            open_segment = True
        else:
            noise.append((block.kind, span))
            open_segment = False
    return Article(
        source_id=source_id, text="\n\n".join(parts), title=found.title, date=found.date, outlet=found.outlet,
        body=tuple(body), segments=tuple(segments), noise=tuple(noise), provenance=found.provenance,
        content_hash=content_hash, url=found.url, author=found.author,
    )


def provenance(values: Iterable[tuple[str, object, str]]) -> tuple[tuple[str, str], ...]:
    """Return (field, origin) for every field that has a value."""
    return tuple((name, origin) for name, value, origin in values if value)
