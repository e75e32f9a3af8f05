"""A plain-text article (a `.txt` seed, a scraper's page): its title, its date, its body and what is not the
article (datelines, read-more lists, boilerplate, photo credits and, block by block, page chrome), with character
offsets into the text of record."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from embeddings.calendar import MONTH_NAMES, MONTH_NUMBER
from embeddings.ingest.chrome import PROSE_TESTS, blocks, classify, reads_as_prose
from embeddings.records import Article, Span

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
# Where an article's body came from when every block of its file looked like chrome.
RESCUED = "the best prose of a file that looked all chrome"
_MAX_TITLE = 160
_MAX_CAPTION = 120


def text_lines(text: str) -> list[Span]:
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
    lines = text_lines(text)
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
        # A short line of boilerplate goes whole; a longer one may hold the article's prose: its blocks are judged.
        if len(line) <= 160 and _BOILERPLATE.search(line.lower()):
            noise.append(("boilerplate", (start, end)))
            breaks.add(len(body))
            continue
        # A photo credit is a caption of its own; any other short line (a subhead, a teaser) the chrome model judges.
        if _CAPTION_CREDIT.search(line) and _is_fragment(line) and not reads_as_prose(line):
            noise.append(("caption", (start, end)))
            breaks.add(len(body))
            continue
        body.append((start, end))

    kept, noise, breaks, rescued = _without_chrome(text, body, noise, breaks)
    if rescued:
        found["body"] = RESCUED
    return found, kept, noise, breaks


def _without_chrome(text: str, body: list[Span], noise: list[tuple[str, Span]], breaks: set[int]
                    ) -> tuple[list[Span], list[tuple[str, Span]], set[int], bool]:
    """Move what reads as a page's chrome to the noise, block by block, breaking the body where it was.

    A block is a sentence of a line (embeddings/ingest/chrome.py `blocks`), judged with the whole page around it:
    an article's summary stays even when the same line runs on into a strip of other headlines and prompts, which
    go. Nothing of a file that holds prose is lost: when every block is rejected, its best run of prose stays, and
    the article says so (its provenance, a warning of the build). Removed blocks are noise of kind "chrome:
    <signal>", which `newsbot source` shows."""
    pieces = blocks(text, body)
    reasons = classify([text[start:end] for (start, end), _ in pieces])
    found = [(span, why, line in breaks) for (span, line), why in zip(pieces, reasons, strict=True)]
    rescued = bool(found) and all(why is not None for _, why, _ in found)
    if rescued:
        found = _keep_best_prose(text, found)
    kept: list[Span] = []
    new_breaks: set[int] = set()
    line_of = {span: line for span, line in pieces}
    last_line = -1
    for span, why, starts in found:
        line = line_of[span]
        if starts and line != last_line:
            new_breaks.add(len(kept))
        if why is None:
            if kept and line == last_line and len(kept) not in new_breaks:
                kept[-1] = (kept[-1][0], span[1])  # the next sentence of the same paragraph
            else:
                kept.append(span)
        else:
            noise.append((f"chrome: {why}", span))
            new_breaks.add(len(kept))
        last_line = line
    noise.sort(key=lambda item: item[1])
    return kept, noise, new_breaks, rescued and bool(kept)


def _keep_best_prose(text: str, blocks: list[tuple[Span, str | None, bool]]) -> list[tuple[Span, str | None, bool]]:
    """Every block was judged chrome: keep the longest run of blocks that read as prose, else of whole sentences that
    are not page furniture (a file with prose is never dropped, even when its verbs are ones no list has)."""
    for test in PROSE_TESTS:
        kept = _best_run(text, blocks, test)
        if kept is not None:
            return kept
    return blocks


def _best_run(text: str, blocks: list[tuple[Span, str | None, bool]], test
              ) -> list[tuple[Span, str | None, bool]] | None:
    """The blocks with their longest run that passes `test` kept; None when no block passes."""
    best: tuple[int, int, int] = (0, -1, -1)  # (characters, first, last)
    run_start, run_chars = -1, 0
    for i, (span, _, _) in enumerate(blocks):
        if test(text[span[0]:span[1]]):
            if run_start < 0:
                run_start, run_chars = i, 0
            run_chars += span[1] - span[0]
            best = max(best, (run_chars, run_start, i))
        else:
            run_start = -1
    if best[1] < 0:
        return None
    first, last = best[1], best[2]
    return [(span, None if first <= i <= last else why, starts) for i, (span, why, starts) in enumerate(blocks)]


def _metadata_values(found: Mapping[str, str], metadata: Mapping[str, object]
                     ) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Take title, date and outlet from the text where found, else from the metadata entry; say where from."""
    provenance = []
    values: dict[str, str | None] = {}
    if "body" in found:
        provenance.append(("body", found["body"]))
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
