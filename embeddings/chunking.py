"""Split an article's body into sentences and sentence-aware, overlapping chunks."""

from __future__ import annotations

import re

from embeddings.records import Article, Chunk, ChunkerConfig, Span

_TERMINATOR = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9À-Ý]")
# A quote is kept whole with its attribution, unless it runs on (an unbalanced quote mark).
_MAX_QUOTED_SENTENCE = 420
_NUMBERED = re.compile(r"\b(?:[Nn]o|[Ff]ig|[Vv]ol|[Aa]rt|pp?)\.$")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st gen lt col maj sgt capt sen rep gov pres jr sr inc ltd co corp vs etc jan
    feb mar apr jun jul aug sep sept oct nov dec approx dept est""".split()
)


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the word before a period is an abbreviation or an initial (U.S., J. Smith)."""
    word = re.search(r"([A-Za-z.]+)\.$", text[:end])
    if not word:
        return False
    token = word.group(1)
    return token.lower() in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", token))


def _inside_quote(text: str, start: int, end: int) -> bool:
    """True when a quotation opened in `text[start:end]` is still open at `end`."""
    piece = text[start:end]
    return piece.count('"') % 2 == 1 or piece.count("“") > piece.count("”")


def split_sentences(text: str, start: int, end: int) -> list[Span]:
    """Return sentence spans inside `text[start:end]`; a line break always ends a sentence."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + line.start()
        line_end = start + line.end()
        cursor = line_start
        for match in _TERMINATOR.finditer(text, line_start, line_end):
            boundary = match.end()
            if not _NEXT_STARTS_SENTENCE.match(text, boundary, line_end):
                continue
            single_period = match.group().startswith(".") and len(match.group().rstrip("\"'”’)]")) == 1
            if single_period and _is_abbreviation(text, match.start() + 1):
                continue
            if single_period and _NUMBERED.search(text, max(0, match.start() - 4), match.start() + 1) and \
                    text[boundary:boundary + 2].strip()[:1].isdigit():
                continue
            if _inside_quote(text, cursor, boundary) and boundary - cursor < _MAX_QUOTED_SENTENCE:
                continue
            spans.append(_strip(text, cursor, boundary))
            cursor = boundary
        if text[cursor:line_end].strip():
            spans.append(_strip(text, cursor, line_end))
    return [span for span in spans if span[1] > span[0]]


def _strip(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_article(article: Article, config: ChunkerConfig) -> tuple[Chunk, ...]:
    """Cut each clean segment of an article into windows of whole sentences with overlap."""
    chunks: list[Chunk] = []
    for segment_start, segment_end in article.segments:
        sentences = split_sentences(article.text, segment_start, segment_end)
        for first, last in _windows(sentences, config):
            start, end = sentences[first][0], sentences[last][1]
            chunks.append(
                Chunk(
                    chunk_id=f"{article.source_id}#{len(chunks)}",
                    source_id=article.source_id,
                    start=start,
                    end=end,
                    text=article.text[start:end],
                    sentences=tuple(sentences[first : last + 1]),
                )
            )
    return tuple(chunks)


def _windows(sentences: list[Span], config: ChunkerConfig) -> list[tuple[int, int]]:
    """Greedy windows of sentences up to max_chars, each starting `overlap` sentences back."""
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(sentences):
        last = first
        while last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= config.max_chars:
            last += 1
        windows.append((first, last))
        if last == len(sentences) - 1:
            break
        first = max(last + 1 - config.overlap_sentences, first + 1)
    return windows
