"""Exports from a content system (*.csv, *.jsonl): one article a row, in the columns title, date or published, url,
outlet or source, author, text or content or body, and an optional id; `updated` (the day a newer version replaced
the text) and, in JSON Lines, `copies` (the same story at other outlets: [{"outlet", "url"}]) are kept for citations;
other columns are ignored."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping

from embeddings.ingest.readers.common import (
    SOURCE_ID,
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
from embeddings.records import COPY, UPDATED

SUFFIXES = (".csv", ".jsonl")
READER_VERSION = "export-2"
# Each field and the first of its names that a row has.
COLUMNS = {
    "id": ("id",), "title": ("title",), "date": ("date", "published"), "url": ("url",),
    "outlet": ("outlet", "source"), "author": ("author",), "text": ("text", "content", "body"),
    "updated": ("updated",), "copies": ("copies",),
}
# Other outlets' copies of one story kept for its citations.
MAX_COPIES = 20


def read_export(name: str, raw: bytes, limits: ReadLimits) -> Extracted:
    """Read every row of a CSV or JSON Lines export; a broken row is skipped with a warning naming it."""
    if len(raw) > limits.max_feed_bytes:
        return Extracted(warnings=(f"{name}: {len(raw):,} bytes, over the {limits.max_feed_bytes:,} limit "
                                 "(NEWSBOT_MAX_FEED_BYTES), skipped",))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Extracted(warnings=(f"{name}: not UTF-8 (byte {exc.start}), skipped",))
    rows = _csv_rows(name, text, limits) if name.lower().endswith(".csv") else _jsonl_rows(text)
    articles = []
    warnings: list[str] = []
    seen: set[str] = set()
    for where, row in rows:
        label = f"{name} {where}"
        if isinstance(row, str):
            warnings.append(f"{label}: {row}, skipped")
            continue
        article, problems = _row_article(row, limits, label)
        warnings.extend(problems)
        if article is None:
            continue
        if article.source_id in seen:
            warnings.append(f"{label}: same id as an earlier row ({article.source_id}), skipped")
            continue
        seen.add(article.source_id)
        articles.append(article)
    return Extracted(tuple(articles), tuple(warnings))


def _csv_rows(name: str, text: str, limits: ReadLimits) -> Iterator[tuple[str, Mapping[str, object] | str]]:
    """Yield ('row N (line L)', row or why it is broken) for every data row of a CSV text."""
    # Article bodies are longer than the csv module's default field limit (128 KB); the file size is bounded.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_feed_bytes))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except (StopIteration, csv.Error) as exc:
        yield "header", f"no header row ({exc})" if isinstance(exc, csv.Error) else "empty file"
        return
    if not any(column in header for column in COLUMNS["text"]):
        yield "header", "no text, content or body column"
        return
    number = 1
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield f"row {number} (line {line})", f"not valid CSV ({exc})"
            continue
        number += 1
        where = f"row {number} (line {line})"
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield where, f"{len(values)} fields, the header has {len(header)}"
            continue
        yield where, dict(zip(header, values, strict=True))


def _jsonl_rows(text: str) -> Iterator[tuple[str, Mapping[str, object] | str]]:
    """Yield ('line N', object or why it is broken) for every non-blank line of a JSON Lines text."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except RecursionError:
            yield f"line {number}", "JSON nested too deep"
            continue
        except ValueError as exc:
            detail = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield f"line {number}", f"not valid JSON ({detail})"
            continue
        if not isinstance(value, dict):
            yield f"line {number}", f"a JSON {type(value).__name__}, not an object"
            continue
        yield f"line {number}", {str(k).strip().lower(): v for k, v in value.items()}


def _field(row: Mapping[str, object], name: str) -> object:
    for column in COLUMNS[name]:
        value = row.get(column)
        if value not in (None, ""):
            return value
    return None


def _scalar(value: object) -> str | None:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value if v not in (None, "")) or None
    if isinstance(value, dict):
        return None
    return None if value is None else str(value)


def _row_article(row: Mapping[str, object], limits: ReadLimits, label: str):
    """Return (article or None, warnings) for one row."""
    text = _field(row, "text")
    if not isinstance(text, str) or not text.strip():
        return None, [f"{label}: no text, skipped"]
    if len(text.encode("utf-8")) > limits.max_article_bytes:
        return None, [f"{label}: {len(text):,} characters, over the {limits.max_article_bytes:,} limit "
                      "(NEWSBOT_MAX_ARTICLE_BYTES), skipped"]
    warnings = []
    title = one_line(_scalar(_field(row, "title")))
    raw_date = one_line(_scalar(_field(row, "date")))
    date = iso_date(raw_date)
    if raw_date and not date:
        warnings.append(f"{label}: date {raw_date[:40]!r} not understood, left undated")
    raw_url = one_line(_scalar(_field(row, "url")), 4096)
    url = clean_url(raw_url)
    if raw_url and not url:
        warnings.append(f"{label}: url {raw_url[:60]!r} is not an absolute http(s) address, left out")
    outlet = one_line(_scalar(_field(row, "outlet")))
    author = one_line(_scalar(_field(row, "author")))
    explicit = one_line(_scalar(_field(row, "id")), 1000)
    if explicit:
        source_id = explicit if SOURCE_ID.match(explicit) else short_hash(explicit)
    else:
        source_id = short_hash(url or raw_url or f"{title}|{raw_date}")
    origin = "export row"
    updated = iso_date(one_line(_scalar(_field(row, "updated"))))
    copies = _copies(_field(row, "copies"))
    found = Found(title, date, outlet, url, author, provenance((
        ("title", title, origin), ("date", date, origin), ("outlet", outlet, origin), ("url", url, origin),
        ("author", author, origin), ("text", True, origin),
    )) + ((UPDATED, updated),) * bool(updated) + tuple((COPY, f"{o}\t{u}") for o, u in copies))
    blocks, rescued = keep_prose(mark_noise(blocks_from_html(text) if looks_like_html(text) else blocks_from_text(text),
                                            found))
    if not body_chars(blocks):
        return None, [*warnings, f"{label}: no prose found, only chrome, skipped"]
    if rescued:
        warnings = [*warnings, f"{label}: {KEPT_PROSE}"]
    fields = json.dumps([source_id, title, raw_date, url, outlet, author, text, *([updated, copies] if updated or copies
                                                                                  else [])], ensure_ascii=False)
    return build_article(source_id, blocks, found, digest(READER_VERSION, fields)), warnings


def _copies(value: object) -> list[tuple[str, str]]:
    """Return the (outlet, url) pairs of a `copies` column: a list of {"outlet", "url"} objects; others are ignored."""
    if not isinstance(value, list):
        return []
    found = []
    for item in value[:MAX_COPIES]:
        if isinstance(item, dict):
            outlet, url = one_line(_scalar(item.get("outlet"))) or "", clean_url(item.get("url")) or ""
            if outlet or url:
                found.append((outlet.replace("\t", " "), url))
    return found
