"""Read seed articles and find what the text holds: title, date, body, and the noise to leave out."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

from embeddings.calendar import MONTH_NAMES, MONTH_NUMBER
from embeddings.errors import CorpusError
from embeddings.index.layout import FAISS_INDEX
from embeddings.ingest.chrome import classify, reads_as_prose
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.ingest.readers.common import MAX_ARTICLE_BYTES, SOURCE_ID, Extracted, ReadLimits, digest
from embeddings.ingest.readers.exports import READER_VERSION as EXPORT_VERSION
from embeddings.ingest.readers.exports import SUFFIXES as EXPORT_SUFFIXES
from embeddings.ingest.readers.exports import read_export
from embeddings.ingest.readers.feeds import READER_VERSION as FEED_VERSION
from embeddings.ingest.readers.feeds import SUFFIXES as FEED_SUFFIXES
from embeddings.ingest.readers.feeds import read_feed
from embeddings.ingest.readers.html import SUFFIXES as PAGE_SUFFIXES
from embeddings.ingest.readers.html import read_html
from embeddings.progress import Progress, silent
from embeddings.records import Article, Span

METADATA_FILE = "metadata.json"
# An index generation holds its manifest beside its FAISS index (embeddings/index/layout.py): never a seeds directory.
_INDEX_FILES = ("manifest.json", FAISS_INDEX)
# Besides *.txt (read below): each suffix's reader, from (file name, bytes, limits) to articles and warnings.
READERS = {**dict.fromkeys(PAGE_SUFFIXES, read_html), **dict.fromkeys(FEED_SUFFIXES, read_feed),
           **dict.fromkeys(EXPORT_SUFFIXES, read_export)}
SUFFIXES = (".txt", *READERS)

_MONTHS = MONTH_NAMES.lower()
_MONTH_NUMBER = MONTH_NUMBER
_META_PREFIX = re.compile(
    r"\s*(?:date|published|posted|updated)\s*[:=]?\s*(\d{4}-\d{2}-\d{2})(?:[T ][\d:]+Z?)?\s+", re.I
)
_DATELINE = re.compile(
    rf"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    rf"(?:(\d{{1,2}})\s+({_MONTHS})|({_MONTHS})\s+(\d{{1,2}}),?)\s+(\d{{4}})"
    rf"(?:,?\s+\d{{1,2}}:\d{{2}}(?:\s*[ap]\.?m\.?)?)?$",
    re.I,
)
_ISO_DATELINE = re.compile(r"^(\d{4}-\d{2}-\d{2})$")
_SENTENCE_END = re.compile(r"[.!?…:][\"'”’)\]]*$")
_CAPTION_CREDIT = re.compile(
    r"(?:\bvia\s+(?:[A-Z][\w-]*|social media)\b"
    r"|\b(?:photo|image|picture|credit|illustration)s?\s*(?:by|:)|©|\(Photo)",
    re.I,
)
_READ_MORE = re.compile(
    r"^(?:read (?:more|also)|see also|related(?: articles| stories)?|more on this(?: topic)?|"
    r"recommended|you may also like)\b\s*:?", re.I
)
_LIST_ITEM = re.compile(r"^\s*(?:[-•*–—]|\d+[.)])\s+")
# Searched in the lower-cased line: with re.I the same search is seven times slower.
_BOILERPLATE = re.compile(
    r"select the required text and press|if you notice an error|all rights reserved|"
    r"subscribe to (?:our|the) |sign up for (?:our|the) |follow us on |click here to |"
    r"share this (?:article|story)|support (?:our|independent) journalism|"
    r"this article was (?:originally )?published|cookies? (?:policy|settings)",
)
_MAX_TITLE = 160
_MAX_CAPTION = 120
# Titles, dates and outlets of every article: a few hundred bytes each.
MAX_METADATA_BYTES = 64_000_000


@dataclass(frozen=True)
class CorpusLoad:
    """The articles read from a seeds directory and a warning per file left out."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...] = ()


def _lines(text: str) -> list[Span]:
    """Return the span of every non-blank line, stripped of surrounding whitespace."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group()
        left = len(raw) - len(raw.lstrip())
        right = len(raw.rstrip())
        if right > left:
            spans.append((match.start() + left, match.start() + right))
    return spans


def _iso_from_dateline(match: re.Match[str]) -> str:
    day = match.group(1) or match.group(4)
    month = match.group(2) or match.group(3)
    return f"{int(match.group(5)):04d}-{_MONTH_NUMBER[month.lower()]:02d}-{int(day):02d}"


def _is_fragment(line: str) -> bool:
    """A short line that does not end a sentence: a caption, a label, a heading."""
    return len(line) <= _MAX_CAPTION and not _SENTENCE_END.search(line)


def parse_article(source_id: str, text: str, metadata: Mapping[str, object] | None = None) -> Article:
    """Find title, date, body and noise in one article's text; fill gaps from its metadata entry."""
    metadata = metadata or {}
    found, body, noise, breaks = _read_lines(text)
    values, provenance = _metadata_values(found, metadata)
    return Article(
        source_id=source_id,
        text=text,
        title=values["title"],
        date=values["date"],
        outlet=values["outlet"],
        body=tuple(body),
        segments=_segments(body, breaks),
        noise=tuple(noise),
        provenance=tuple(provenance),
        content_hash=text_hash(text, metadata),
    )


def text_hash(text: str, metadata: Mapping[str, object] | None = None) -> str:
    """Return a `.txt` article's content hash: its text and its metadata entry (no parsing needed)."""
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(json.dumps(metadata or {}, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


def _read_lines(text: str) -> tuple[dict[str, str], list[Span], list[tuple[str, Span]], set[int]]:
    """Sort an article's lines into what they tell (title, date), body and noise; note where the body breaks."""
    lines = _lines(text)
    found: dict[str, str] = {}
    body: list[Span] = []
    noise: list[tuple[str, Span]] = []
    breaks: set[int] = set()
    in_read_more = False

    for number, (start, end) in enumerate(lines):
        line = text[start:end]
        if number == 0 and (prefix := _META_PREFIX.match(text, start, end)):
            found.setdefault("date", prefix.group(1))
            noise.append(("metadata", (start, prefix.end())))
            start = prefix.end()
            line = text[start:end]
        if not line.strip():
            continue
        dateline = _DATELINE.match(line) or _ISO_DATELINE.match(line)
        if dateline and number <= 3:
            if "date" not in found:
                found["date"] = dateline.group(1) if dateline.re is _ISO_DATELINE else _iso_from_dateline(dateline)
            noise.append(("dateline", (start, end)))
            breaks.add(len(body))
            continue
        if number == 0 and len(line) <= _MAX_TITLE and not _SENTENCE_END.search(line) and len(lines) > 1:
            found["title"] = line
            noise.append(("title", (start, end)))
            breaks.add(len(body))
            continue
        if _READ_MORE.match(line):
            in_read_more = True
            noise.append(("read-more", (start, end)))
            breaks.add(len(body))
            continue
        if in_read_more and (_LIST_ITEM.match(line) or _is_fragment(line)):
            noise.append(("read-more", (start, end)))
            continue
        in_read_more = False
        if len(line) <= 400 and _BOILERPLATE.search(line.lower()):
            noise.append(("boilerplate", (start, end)))
            breaks.add(len(body))
            continue
        if ((_CAPTION_CREDIT.search(line) and _is_fragment(line)) or (number > 0 and _is_fragment(line))) and \
                not reads_as_prose(line):
            noise.append(("caption", (start, end)))
            breaks.add(len(body))
            continue
        body.append((start, end))

    return found, *_without_chrome(text, body, noise, breaks)


def _without_chrome(text: str, body: list[Span], noise: list[tuple[str, Span]], breaks: set[int]
                    ) -> tuple[list[Span], list[tuple[str, Span]], set[int]]:
    """Move the body lines that read as a page's chrome to the noise, breaking the body where they were."""
    reasons = classify([text[start:end] for start, end in body])
    kept: list[Span] = []
    new_breaks: set[int] = set()
    for position, (span, reason) in enumerate(zip(body, reasons, strict=True)):
        if position in breaks:
            new_breaks.add(len(kept))
        if reason is None:
            kept.append(span)
        else:
            noise.append(("chrome", span))
            new_breaks.add(len(kept))
    noise.sort(key=lambda item: item[1])
    return kept, noise, new_breaks


def _metadata_values(found: Mapping[str, str], metadata: Mapping[str, object]
                     ) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Take title, date and outlet from the text where found, else from the metadata entry; say where from."""
    provenance = []
    values: dict[str, str | None] = {}
    for field_name in ("title", "date", "outlet"):
        if field_name in found:
            values[field_name] = found[field_name]
            provenance.append((field_name, "text"))
            continue
        entry = metadata.get(field_name)
        if isinstance(entry, Mapping):
            value, origin = entry.get("value"), str(entry.get("from", "metadata"))
        else:
            value, origin = entry, "metadata"
        values[field_name] = str(value) if value else None
        if value:
            provenance.append((field_name, f"metadata ({origin})"))
    return values, provenance


def _segments(body: list[Span], breaks: set[int]) -> tuple[Span, ...]:
    """Group body lines into runs that no noise line interrupts."""
    segments: list[Span] = []
    for position, span in enumerate(body):
        if segments and position not in breaks:
            segments[-1] = (segments[-1][0], span[1])
        else:
            segments.append(span)
    return tuple(segments)


def read_metadata(seeds_dir: Path) -> dict[str, dict[str, object]]:
    """Read the optional metadata file beside the seeds: {"articles": {id: {field: value}}}."""
    path = seeds_dir / METADATA_FILE
    if not os.path.lexists(path):
        return {}
    raw = read_source_file(path, seeds_dir, MAX_METADATA_BYTES, setting="")
    if isinstance(raw, Skipped):
        raise CorpusError(f"{path}: {raw.why}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
        why = exc if isinstance(exc, ValueError) else "nested too deep"
        raise CorpusError(f"{path}: not valid JSON ({why})") from None
    articles = data.get("articles", {}) if isinstance(data, dict) else None
    if not isinstance(articles, dict):
        raise CorpusError(f"{path}: expected {{\"articles\": {{source id: {{field: value}}}}}}")
    return {key: value for key, value in articles.items() if isinstance(value, dict)}


def decode_seed(path: Path, raw: bytes) -> tuple[str | None, str | None]:
    """Decode a seed file's bytes; return (text, None) or (None, why it is skipped)."""
    if not raw.strip():
        return None, f"{path.name}: empty file, skipped"
    if b"\x00" in raw:
        return None, f"{path.name}: binary file, skipped"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{path.name}: not UTF-8 (byte {exc.start}), skipped"
    return text.removeprefix("\ufeff") if text.startswith("\ufeff") else text, None


def name_problem(name: str) -> str | None:
    """Return why a `.txt` file's name cannot be an article's source id (its stem), or None."""
    if SOURCE_ID.fullmatch(Path(name).stem):
        return None
    shown = name if name.isprintable() else ascii(name)  # one line, whatever the name
    return f"{shown}: file name is not a valid source id, skipped"


def check_seeds_dir(seeds_dir: Path) -> None:
    """Refuse a seeds directory that is an index, or inside one: reading it as articles, or adding files to it, would
    rewrite the index from its own files."""
    try:
        here = seeds_dir.resolve()
        index = next((d for d in (here, *here.parents) if all((d / name).is_file() for name in _INDEX_FILES)), None)
    except (OSError, RuntimeError):  # a symlink loop: reading it fails later, with its own message
        return
    if index is not None:
        where = "is" if index == here else f"is inside {index}, which is"
        raise CorpusError(f"the seeds directory {seeds_dir} {where} a newsbot index, not a directory of articles: "
                          "set --seeds or NEWSBOT_SEEDS_DIR to the articles' directory")


def read_corpus(seeds_dir: Path, max_bytes: int | None = MAX_ARTICLE_BYTES, limits: ReadLimits | None = None,
                known: Mapping[str, str] | None = None, progress: Progress = silent,
                sources: Mapping[str, object] | None = None) -> CorpusLoad:
    """Read every article of a seeds directory: `*.txt` files (over `max_bytes` skipped), then pages, feeds and
    exports through their readers (within `limits`). With `known` (indexed ids and hashes), unchanged `.txt` files
    and pages come back as stubs without text, not parsed again: for staleness checks and incremental builds; so do
    the feeds and exports whose digest matches their record in `sources` (the index manifest's)."""
    if not seeds_dir.is_dir():
        raise CorpusError(f"seeds directory not found: {seeds_dir}")
    check_seeds_dir(seeds_dir)
    metadata = read_metadata(seeds_dir)
    articles: list[Article] = []
    warnings: list[str] = []
    raws: list[tuple[Path, bytes] | None] = []
    paths = sorted(seeds_dir.glob("*.txt"))
    for number, path in enumerate(paths, start=1):
        if number % 200 == 0 or number == len(paths):
            progress("read", number, len(paths), "files")
        if problem := name_problem(path.name):
            warnings.append(problem)
            continue
        raw = read_source_file(path, seeds_dir, max_bytes)
        if isinstance(raw, Skipped):
            warnings.append(raw.reason)
            continue
        raws.append((path, raw))
    seen: dict[str, str] = {}
    for number in range(len(raws)):
        path, raw = raws[number]  # type: ignore[misc]
        raws[number] = None  # each file's bytes are let go once its text is read
        if (number + 1) % 50 == 0 or number + 1 == len(raws):
            progress("clean", number + 1, len(raws), "articles")
        text, problem = decode_seed(path, raw)
        if text is None:
            warnings.append(problem or f"{path.name}: skipped")
            continue
        source_id = path.stem
        content_hash = text_hash(text, metadata.get(source_id))
        if known is not None and known.get(source_id) == content_hash:
            articles.append(Article(source_id, "", content_hash=content_hash))
            continue
        article = parse_article(source_id, text, metadata.get(source_id))
        if not article.body:
            warnings.append(f"{path.name}: no article text after cleaning, skipped")
            continue
        body_hash = hashlib.sha256(article.clean_text.encode("utf-8")).hexdigest()
        if body_hash in seen:
            warnings.append(f"{path.name}: same text as {seen[body_hash]}.txt, indexed under both ids")
        seen.setdefault(body_hash, source_id)
        articles.append(article)
    more = read_structured(seeds_dir, limits or ReadLimits(max_article_bytes=max_bytes or MAX_ARTICLE_BYTES),
                           {a.source_id: f"{a.source_id}.txt" for a in articles}, known, sources)
    return CorpusLoad((*articles, *more.articles), (*warnings, *more.warnings))


def read_structured(seeds_dir: Path, limits: ReadLimits, taken: dict[str, str] | None = None,
                    known: Mapping[str, str] | None = None, sources: Mapping[str, object] | None = None) -> Extracted:
    """Read the pages, feeds and exports of a directory; an id already taken (by `taken` or an earlier file) is
    skipped with a warning."""
    taken = dict(taken or {})
    articles: list[Article] = []
    warnings: list[str] = []
    for path in sorted(p for p in seeds_dir.iterdir() if p.suffix.lower() in READERS):
        reading = read_file(path, limits, known, seeds_dir, sources)
        warnings.extend(reading.warnings)
        for article in reading.articles:
            if article.source_id in taken:
                warnings.append(f"{path.name}: source id {article.source_id} is already {taken[article.source_id]}'s, "
                                "skipped")
                continue
            taken[article.source_id] = path.name
            articles.append(article)
    return Extracted(tuple(articles), tuple(warnings))


def read_file(path: Path, limits: ReadLimits, known: Mapping[str, str] | None = None,
              root: Path | None = None, sources: Mapping[str, object] | None = None) -> Extracted:
    """Read one page, feed or export with the reader for its suffix: a regular file inside `root` only, and never
    more than its limit. A feed or export whose digest and ids match its record in `sources` and `known` comes back
    as stubs, not parsed again (a feed of 100,000 items takes seconds to parse)."""
    reader = READERS[path.suffix.lower()]
    limit, setting = ((limits.max_page_bytes, "NEWSBOT_MAX_PAGE_BYTES") if reader is read_html
                      else (limits.max_feed_bytes, "NEWSBOT_MAX_FEED_BYTES"))
    raw = read_source_file(path, root, limit, setting=setting)
    if isinstance(raw, Skipped):
        return Extracted(warnings=(raw.reason,))
    if reader is read_html:
        return read_html(path.name, raw, limits, known)
    # What a feed or an export yields depends on its bytes, its reader and the article limit, and on nothing else.
    versions = f"{FEED_VERSION}; feedparser {version('feedparser')}" if reader is read_feed else EXPORT_VERSION
    file_digest = digest(versions, str(limits.max_article_bytes), raw)
    record = (sources or {}).get(path.name)
    if known is not None and isinstance(record, Mapping) and record.get("digest") == file_digest:
        ids = record.get("ids")
        # Stubs only when the index holds every article of the file as the file made it (not another file's).
        if (isinstance(ids, list) and all(isinstance(i, str) and i in known for i in ids)
                and record.get("articles") == _pairs_digest((i, known[i]) for i in ids)):
            origin = (path.name, file_digest, tuple(ids), str(record["articles"]))
            return Extracted(tuple(Article(i, "", content_hash=known[i], origin=origin) for i in ids))
    reading = reader(path.name, raw, limits)
    pairs = [(a.source_id, a.content_hash) for a in reading.articles]
    origin = (path.name, file_digest, tuple(i for i, _ in pairs), _pairs_digest(pairs))
    return Extracted(tuple(replace(a, origin=origin) for a in reading.articles), reading.warnings)


def _pairs_digest(pairs: Iterable[tuple[str, str]]) -> str:
    return digest(*(f"{source_id} {content_hash}" for source_id, content_hash in pairs))
