"""Read seed articles and find what the text holds: title, date, body, and the noise to leave out."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

from embeddings.errors import CorpusError
from embeddings.index.layout import FAISS_INDEX
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.ingest.plaintext import RESCUED, parse_article, text_hash
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
from embeddings.records import Article, CleaningReport

METADATA_FILE = "metadata.json"
# An index generation holds its manifest beside its FAISS index (embeddings/index/layout.py): never a seeds directory.
_INDEX_FILES = ("manifest.json", FAISS_INDEX)
# Besides *.txt (read below): each suffix's reader, from (file name, bytes, limits) to articles and warnings.
READERS = {**dict.fromkeys(PAGE_SUFFIXES, read_html), **dict.fromkeys(FEED_SUFFIXES, read_feed),
           **dict.fromkeys(EXPORT_SUFFIXES, read_export)}
SUFFIXES = (".txt", *READERS)

# Titles, dates and outlets of every article: a few hundred bytes each.
MAX_METADATA_BYTES = 64_000_000


@dataclass(frozen=True)
class CorpusLoad:
    """The articles read from a seeds directory, a warning per file left out, and what cleaning kept and removed."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...] = ()
    cleaning: CleaningReport = field(default_factory=CleaningReport)


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
            warnings.append(f"{path.name}: no prose found, only page chrome (menus, headlines, prompts), skipped")
            continue
        if ("body", RESCUED) in article.provenance:
            warnings.append(f"{path.name}: every block looked like page chrome; kept its best run of prose "
                            f"({len(article.clean_text):,} characters): check it with `newsbot source {source_id}`")
        body_hash = hashlib.sha256(article.clean_text.encode("utf-8")).hexdigest()
        if body_hash in seen:
            warnings.append(f"{path.name}: same text as {seen[body_hash]}.txt, indexed under both ids")
        seen.setdefault(body_hash, source_id)
        articles.append(article)
    more = read_structured(seeds_dir, limits or ReadLimits(max_article_bytes=max_bytes or MAX_ARTICLE_BYTES),
                           {a.source_id: f"{a.source_id}.txt" for a in articles}, known, sources)
    everything, said = (*articles, *more.articles), (*warnings, *more.warnings)
    structured = sum(1 for p in seeds_dir.iterdir() if p.suffix.lower() in READERS)
    return CorpusLoad(everything, said, cleaning_report(everything, said, len(paths) + structured))


def cleaning_report(articles: Sequence[Article], warnings: Sequence[str], files: int) -> CleaningReport:
    """What reading kept and left out: the skipped files (their warnings say why) and the chrome removed from the
    articles parsed this run."""
    parsed = [a for a in articles if not a.is_stub]
    return CleaningReport(
        files=files, articles=len(articles), skipped=tuple(w for w in warnings if w.rstrip().endswith("skipped")),
        parsed=len(parsed), text_chars=sum(len(a.text) for a in parsed),
        chrome_chars=sum(CleaningReport.removed_chars(a) for a in parsed),
        rescued=tuple(a.source_id for a in parsed if ("body", RESCUED) in a.provenance))


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
