"""Answer a question about the last answer itself from its citations and their articles: which outlet or article it
came from, when it was said, who said it, which photo credit, which of two values ("2019 or 2020?"), and whether
other articles report the same. Every statement quotes the article word for word. Pure functions over the articles
and passages the pipeline hands in; abstain.py says when the sources do not tell."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.answer.abstain import decide_from_sources
from bot.answer.compose import declined, near_duplicate
from bot.answer.rank import cited_first
from bot.answer.types import Answer, Candidate, Citation, Point
from embeddings.records import Article, Chunk, SourceInfo, Span

# Sentences that say where a report comes from: general English of attribution to a medium.
_SOURCING = re.compile(
    r"\baccording to\b|\bas (?:cited|reported|quoted) by\b|\b(?:told|telling|interview with|citing|cited by|"
    r"quoted by|wrote|writes|reported|reports|reporting)\b|\b(?:newspaper|agency|agencies|media|outlet|broadcaster|"
    r"magazine|wire|daily|channel|network|website)\b", re.I)
# Sentences that say where or to whom something was said: an interview, a parliament, a book, a visit.
_VENUE = re.compile(
    r"\b(?:interview|parliament|book|conference|speech|address|statement|press|visit|meeting|summit|broadcast|"
    r"radio|television|tv|podcast|hearing|rally|told|telling|spoke|speaking|wrote|writing|asked)\b", re.I)
_CREDIT = re.compile(r"\bvia\s+\S|\b(?:photo|image|picture|credit|illustration)s?\s*(?:by|:)|©", re.I)
MAX_CITED = 4


@dataclass(frozen=True)
class CitedSources:
    """What a question about an answer is answered from: the cited articles with their passages."""

    articles: Mapping[str, Article]
    chunks: Mapping[str, Sequence[Chunk]]
    infos: Mapping[str, SourceInfo]


def _citation(n: int, info: SourceInfo, chunk_id: str, text: str, span: Span, speaker: str | None = None
              ) -> Citation:
    return Citation(n=n, source_id=info.source_id, chunk_id=chunk_id, quote=text[span[0]:span[1]], start=span[0],
                    end=span[1], title=info.title, date=info.date, outlet=info.outlet, speaker=speaker)


def _sentences(sources: CitedSources, source_id: str) -> list[tuple[str, Span]]:
    """Every sentence of an article as (chunk id, span), in text order, each once."""
    seen: dict[Span, str] = {}
    for chunk in sources.chunks.get(source_id, ()):
        for span in chunk.sentences:
            seen.setdefault(span, chunk.chunk_id)
    return sorted(((c, s) for s, c in seen.items()), key=lambda pair: pair[1])


def _answer(question: str, previous: Answer, found: list[tuple[str, Citation]], what: str) -> Answer:
    """Number the found statements as citations, or decline (abstain.py) when there are none."""
    decision = decide_from_sources(bool(found), what)
    if not decision.answer:
        assert decision.decline is not None
        return declined(question, previous.leads, decision.decline)
    citations, points, lines = [], [], []
    for text, citation in found[:MAX_CITED]:
        numbered = Citation(**{**citation.__dict__, "n": len(citations) + 1})
        citations.append(numbered)
        points.append(Point(text, (numbered.n,), numbered.speaker, numbered.date))
        lines.append(f"{text} [{numbered.n}]")
    dates = sorted({c.date for c in citations if c.date})
    return Answer(question, True, "\n".join(lines), tuple(citations), tuple(points), previous.leads,
                  dates[-1] if dates else None, (), 1.0)


def _cited_sources(previous: Answer) -> list[str]:
    return list(dict.fromkeys(c.source_id for c in previous.citations))


def about_date(question: str, previous: Answer, sources: CitedSources) -> Answer:
    """When the cited articles were published, quoting the dateline where the text states it."""
    found = []
    for source_id in _cited_sources(previous):
        article, info = sources.articles[source_id], sources.infos[source_id]
        stated = [(kind, span) for kind, span in article.noise if kind in ("dateline", "metadata")]
        if stated:
            kind, (start, end) = stated[0]
            raw = article.text[start:end]
            span = (start + len(raw) - len(raw.lstrip()), end - (len(raw) - len(raw.rstrip())))
            label = f"“{info.title or source_id}” is dated {info.date or 'in its text'}, as its text says"
            found.append((label, _citation(0, info, f"{source_id}#{kind}", article.text, span)))
            continue
        first = next(c for c in previous.citations if c.source_id == source_id)
        origin = dict(article.provenance).get("date", "")
        where = f" according to the corpus {origin}" if origin.startswith("metadata") else ""
        label = (f"“{info.title or source_id}” is dated {info.date}{where}" if info.date
                 else f"“{info.title or source_id}” carries no date")
        found.append((label, first))
    return _answer(question, previous, found, "date")


def about_outlet(question: str, previous: Answer, sources: CitedSources) -> Answer:
    """Which outlets the cited articles name as their sources, quoting the sentences that say so."""
    found = []
    cited_chunks = {c.chunk_id for c in previous.citations}
    for source_id in _cited_sources(previous):
        info = sources.infos[source_id]
        article = sources.articles[source_id]
        sentences = [(c, s) for c, s in _sentences(sources, source_id) if _SOURCING.search(article.text[s[0]:s[1]])]
        sentences.sort(key=lambda pair: (pair[0] not in cited_chunks, pair[1]))
        for chunk_id, span in sentences[:2]:
            found.append((article.text[span[0]:span[1]], _citation(0, info, chunk_id, article.text, span)))
    return _answer(question, previous, found, "outlet")


def _venue_rank(text: str, starts: list[int], speakers: set[str], span: Span) -> tuple[bool, bool, int]:
    """Order a sentence: a cited one first, then one naming the speaker, then the nearest to a cited one."""
    named = any(p in text[span[0]:span[1]].lower() for p in speakers)
    return span[0] not in starts, not named, min(abs(span[0] - s) for s in starts)


def about_venue(question: str, previous: Answer, sources: CitedSources) -> Answer:
    """Where, or to whom, the cited statements were made: the sentences of their articles that say so."""
    found = []
    for source_id in _cited_sources(previous):
        info, article = sources.infos[source_id], sources.articles[source_id]
        starts = [c.start for c in previous.citations if c.source_id == source_id]
        speakers = {c.speaker.lower() for c in previous.citations if c.source_id == source_id and c.speaker}
        sentences = [(c, s) for c, s in _sentences(sources, source_id) if _VENUE.search(article.text[s[0]:s[1]])]
        sentences.sort(key=lambda pair: _venue_rank(article.text, starts, speakers, pair[1]))
        for chunk_id, span in sentences[:2]:
            found.append((article.text[span[0]:span[1]], _citation(0, info, chunk_id, article.text, span)))
    return _answer(question, previous, found, "venue")


def about_article(question: str, previous: Answer) -> Answer:
    """Which articles the last answer came from: its citations again, with their titles and dates."""
    found = [(f"From “{c.title or c.source_id}” ({c.date or 'undated'}, {c.source_id})", c)
             for c in previous.citations]
    return _answer(question, previous, found, "article")


def about_speaker(question: str, previous: Answer, sources: CitedSources) -> Answer:
    """Who said it: for each cited statement with a known speaker, the sentence that names them."""
    found = []
    for citation in previous.citations:
        if not citation.speaker:
            continue
        info, article = sources.infos[citation.source_id], sources.articles[citation.source_id]
        if citation.speaker.lower() not in citation.quote.lower():
            naming = [(c, s) for c, s in _sentences(sources, citation.source_id)
                      if s[0] < citation.start and citation.speaker.lower() in article.text[s[0]:s[1]].lower()]
            if naming:
                chunk_id, span = naming[-1]
                found.append((f"{citation.speaker} is named here", _citation(0, info, chunk_id, article.text, span,
                                                                              citation.speaker)))
        found.append((f"{citation.speaker} said it", citation))
    return _answer(question, previous, found, "speaker")


def about_photo(question: str, previous: Answer, sources: CitedSources) -> Answer:
    """The photo credits of the cited articles, quoting their captions."""
    found = []
    for source_id in _cited_sources(previous):
        article, info = sources.articles[source_id], sources.infos[source_id]
        for kind, span in article.noise:
            if kind == "caption" and _CREDIT.search(article.text[span[0]:span[1]]):
                found.append((f"The photo caption: {article.text[span[0]:span[1]]}",
                              _citation(0, info, f"{source_id}#caption", article.text, span)))
    return _answer(question, previous, found, "photo")


def _from_candidate(candidate: Candidate) -> Citation:
    source = candidate.source
    return Citation(0, source.source_id, candidate.chunk_id, candidate.text, candidate.span[0], candidate.span[1],
                    source.title, source.date, source.outlet, candidate.speaker)


def about_choice(question: str, previous: Answer, options: Sequence[str], candidates: Sequence[Candidate]
                 ) -> Answer:
    """Which of two values the articles give ('2019 or 2020?', 'Doe or Dow?'), quoting each sentence that has one."""
    found = []
    ordered = cited_first(candidates, {(c.source_id, c.start) for c in previous.citations})
    for option in options:
        pattern = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])", re.I)
        for candidate in [c for c in ordered if pattern.search(c.text)][:2]:
            found.append((f"“{option}”: {candidate.text}", _from_candidate(candidate)))
    return _answer(question, previous, found, "choice")


def about_others(question: str, previous: Answer, candidates: Sequence[Candidate]) -> Answer:
    """Which articles carry the last answer's statements: each near-identical sentence, one per article."""
    found: list[tuple[str, Citation]] = []
    seen: set[str] = set()
    for point in previous.points:
        for candidate in candidates:
            source_id = candidate.source.source_id
            if source_id in seen or not near_duplicate(point.text, candidate.text):
                continue
            seen.add(source_id)
            label = f"“{candidate.source.title or source_id}” ({candidate.source.date or 'undated'}) reports it"
            found.append((label, _from_candidate(candidate)))
    if len(seen) == 1:
        found = [(f"Only “{found[0][1].title or found[0][1].source_id}” reports it among the articles", found[0][1])]
    return _answer(question, previous, found, "others")
