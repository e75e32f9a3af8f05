"""Saved web pages (*.html, *.htm): the article's text and metadata through trafilatura, its date through htmldate.

Navigation, cookie banners, related links, share bars, footers and scripts are left out by trafilatura (with a few
more page parts pruned by XPath); what survives of a byline, a caption or a read-more link is marked as noise.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Mapping
from functools import cache
from importlib.metadata import version

from embeddings.ingest.readers.common import (
    SOURCE_ID,
    Extracted,
    Found,
    ReadLimits,
    build_article,
    clean_url,
    digest,
    iso_date,
    one_line,
    provenance,
)
from embeddings.ingest.readers.markup import KEPT_PROSE, blocks_from_tree, body_chars, keep_prose, mark_noise
from embeddings.records import Article

SUFFIXES = (".html", ".htm")
# Bump when what this reader makes of a page changes: every page's hash changes with it, so the index re-reads them.
READER_VERSION = "html-2"
# Fewer characters of article text than this is a section front, an error page or a paywall, not an article.
MIN_ARTICLE_CHARS = 200
# Extraction time grows faster than the page (40,000 paragraphs 8 s, 80,000 21 s): a page with more elements than
# this is refused before it. An article page holds a few thousand at most; 1,400 is already "an excessive DOM".
MAX_PAGE_ELEMENTS = 20_000
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_NOT_PAGE_ENCODINGS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7"})
_XML_CHARSET = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""", re.I)
# Page parts that trafilatura may keep but that are never the article (bounded so no container of the article
# itself is pruned: an element holding many paragraphs is left alone).
_PRUNE = [
    "//blockquote[contains(@class,'twitter-tweet') or contains(@class,'instagram-media') "
    "or contains(@class,'tiktok-embed')]",
    "//figcaption",
    *(f"//*[contains(@class,'{name}') and count(.//p) < 4]"
      for name in ("caption", "paywall", "promo", "newsletter", "related", "share", "byline", "subscribe")),
]

# trafilatura and htmldate log every page they find odd at WARNING; the reader reports what matters itself.
for _noisy in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


def decode_page(name: str, raw: bytes) -> tuple[str | None, str | None]:
    """Return (text, warning): UTF-8, else the charset the page declares; None when it cannot be decoded."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        position = exc.start
    declared = _XML_CHARSET.search(raw[:1024]) or _CHARSET.search(raw[:16384])
    if not declared:
        return None, f"{name}: not UTF-8 (byte {position}) and no charset declared, skipped"
    label = declared.group(1).decode("ascii", "replace")
    try:
        codec = codecs.lookup("cp1252" if label.lower() in ("iso-8859-1", "latin-1", "us-ascii") else label)
    except LookupError:
        return None, f"{name}: not UTF-8 and its charset {label!r} is unknown, skipped"
    # As browsers do: a page that states UTF-16 or UTF-32 in an ASCII <meta> cannot be either, so it is UTF-8.
    if codec.name in ("utf-8", "utf-8-sig") or codec.name.startswith(("utf-16", "utf-32")):
        return raw.decode("utf-8", "replace"), f"{name}: invalid UTF-8 (byte {position}), bad bytes replaced"
    # Python's codec registry also holds transforms (rot13, hex), IDNA and escapes: no page is written in those.
    if not getattr(codec, "_is_text_encoding", True) or codec.name in _NOT_PAGE_ENCODINGS:
        return None, f"{name}: not UTF-8 and its charset {label!r} is not a text encoding of pages, skipped"
    try:
        # Browsers read latin-1 labels as windows-1252; so does this reader.
        return raw.decode(codec.name, "replace"), f"{name}: not UTF-8, decoded as {label} (its meta charset)"
    except (UnicodeError, LookupError, ValueError) as exc:  # a codec that refuses "replace" or these bytes
        return None, f"{name}: not UTF-8 and cannot be decoded as its charset {label!r} ({type(exc).__name__}), skipped"


def read_html(name: str, raw: bytes, limits: ReadLimits, known: Mapping[str, str] | None = None) -> Extracted:
    """Read one saved page into one article (id: the file stem), or a warning saying why there is none.

    `known` maps ids to content hashes already indexed: a page whose bytes still hash to its known value comes back
    as a stub (id and hash, no text) without being extracted again, which is all a staleness check needs.
    """
    source_id = name.rsplit(".", 1)[0]
    if not SOURCE_ID.match(source_id):
        return Extracted(warnings=(f"{name}: file name is not a valid source id, skipped",))
    if len(raw) > limits.max_page_bytes:
        return Extracted(warnings=(f"{name}: {len(raw):,} bytes, over the {limits.max_page_bytes:,} limit "
                                 "(NEWSBOT_MAX_PAGE_BYTES), skipped",))
    content_hash = digest(READER_VERSION, _library_versions(), raw)
    if known is not None and known.get(source_id) == content_hash:
        return Extracted((Article(source_id, "", content_hash=content_hash),))
    text, warning = decode_page(name, raw)
    warnings = (warning,) if warning else ()
    if text is None:
        return Extracted(warnings=warnings)
    try:
        tree = _parse(text)
        elements = 0 if tree is None else sum(1 for _ in tree.iter())
        if elements > MAX_PAGE_ELEMENTS:
            too_many = f"{name}: {elements:,} HTML elements, more than a page of one article holds"
            return Extracted(warnings=(*warnings, f"{too_many} ({MAX_PAGE_ELEMENTS:,}), skipped"))
        document = None if tree is None else _extract(tree)
    except Exception as exc:  # whatever a hostile page makes lxml or trafilatura raise
        return Extracted(warnings=(*warnings, f"{name}: cannot be parsed as HTML ({type(exc).__name__}), skipped"))
    if document is None or document.body is None:
        return Extracted(warnings=(*warnings, f"{name}: no extractable article, skipped"))
    found = _found(document)
    blocks, rescued = keep_prose(mark_noise(blocks_from_tree(document.body), found))
    if rescued:
        warnings = (*warnings, f"{name}: {KEPT_PROSE}")
    # Counted in paragraphs that end a sentence: a run of link texts or labels is long but says nothing.
    chars = body_chars(blocks, sentences_only=True)
    if chars < MIN_ARTICLE_CHARS:
        return Extracted(warnings=(*warnings, f"{name}: no extractable article ({chars} characters of text), skipped"))
    if body_chars(blocks) > limits.max_article_bytes:
        return Extracted(warnings=(*warnings, f"{name}: {body_chars(blocks):,} characters of article text, over the "
                                            f"{limits.max_article_bytes:,} limit (NEWSBOT_MAX_ARTICLE_BYTES), skipped"))
    return Extracted((build_article(source_id, blocks, found, content_hash),), warnings)


def _parse(text: str):  # -> lxml.html.HtmlElement | None
    """Parse a page as trafilatura does (its own loader): the tree is counted, then extracted, parsed once."""
    from trafilatura.utils import load_html

    return load_html(text)


def _extract(tree):  # (lxml.html.HtmlElement) -> trafilatura.settings.Document | None
    """Run trafilatura over a page: main text without comments, tables, images or links; metadata; the date."""
    from trafilatura import bare_extraction

    return bare_extraction(
        tree, with_metadata=True, include_comments=False, include_tables=False, include_images=False,
        include_links=False, deduplicate=False, prune_xpath=_PRUNE,
        date_extraction_params={"original_date": True, "extensive_search": False},
    )


def _found(document) -> Found:  # document: trafilatura.settings.Document
    """Take title, date, outlet (og:site_name, JSON-LD publisher), canonical URL and author from the page."""
    outlet = one_line(document.sitename)
    title = _without_site_name(one_line(document.title), outlet)
    date = iso_date(document.date)
    url = clean_url(document.url)
    author = one_line(document.author)
    origin = "page metadata (trafilatura)"
    return Found(title, date, outlet, url, author, provenance((
        ("title", title, origin), ("date", date, "page metadata (htmldate)"), ("outlet", outlet, origin),
        ("url", url, origin), ("author", author, origin),
        ("text", True, f"html page, main text by {_library_versions().split(';')[0]}"),
    )))


def _without_site_name(title: str | None, outlet: str | None) -> str | None:
    """Drop a trailing ' | Outlet' (or a leading 'Outlet: ') from a page title."""
    if not title or not outlet:
        return title
    for separator in (" | ", " - ", " – ", " — ", " :: ", ": "):
        head, _, tail = title.rpartition(separator)
        if head and tail.strip().casefold() == outlet.casefold():
            return head.strip()
        head, _, tail = title.partition(separator)
        if tail and head.strip().casefold() == outlet.casefold():
            return tail.strip()
    return title


@cache
def _library_versions() -> str:
    return f"trafilatura {version('trafilatura')}; htmldate {version('htmldate')}"

