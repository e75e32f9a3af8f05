"""Sitemaps (urlset and sitemapindex, with Google News' publication dates): the page URLs they list, newest first."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from embeddings.ingest.readers.common import clean_url, iso_date

# A document type can declare entities that expand without end; no sitemap needs one.
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(urlset|sitemapindex)[\s>]")


@dataclass(frozen=True)
class Sitemap:
    """What a sitemap lists: pages (urlset) or other sitemaps (sitemapindex), each (url, last modified day or None)."""

    is_index: bool
    entries: tuple[tuple[str, str | None], ...]


def looks_like_sitemap(raw: bytes) -> bool:
    """True when a document's root element is a sitemap's."""
    return bool(_ROOT.search(raw[:4096]))


def read_sitemap(raw: bytes) -> Sitemap | None:
    """Return the entries of a sitemap, newest first (undated last), or None when the bytes are not one."""
    if _DOCTYPE.search(raw[:4096]) or not looks_like_sitemap(raw):
        return None
    try:
        root = ElementTree.fromstring(raw)
    except (ElementTree.ParseError, ValueError):
        return None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        return None
    entries: dict[str, str | None] = {}
    for node in root:
        if _local(node.tag) not in ("url", "sitemap"):
            continue
        values = {_local(child.tag): (child.text or "").strip() for child in node.iter()}
        url = clean_url(values.get("loc"))
        if url:
            entries.setdefault(url, iso_date(values.get("lastmod") or values.get("publication_date")))
    ordered = sorted(entries.items(), key=lambda item: item[1] or "", reverse=True)
    return Sitemap(kind == "sitemapindex", tuple(ordered))


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]
