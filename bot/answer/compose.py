"""Compose an extractive, cited answer from the sentences the abstention step kept: pure functions over frozen
values. The same statement from several outlets is shown once with all its citations; where they differ in a year
or a number, the answer says so."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence

from bot.answer.abstain import Decision
from bot.answer.attribution import Voices, read_voices, speaker_bonus
from bot.answer.features import question_kinds, rare_terms, sentence_features
from bot.answer.questions import Reading
from bot.answer.types import NOT_FOUND, Answer, AnswerConfig, Candidate, Citation, Point
from embeddings.lexical import tokenize
from embeddings.records import Hit, Span


def _coverage(terms: Sequence[str], text: str, weights: Mapping[str, float]) -> float:
    if not terms:
        return 0.0
    present = _terms(text)
    total = sum(weights.get(t, 1.0) for t in terms)
    return sum(weights.get(t, 1.0) for t in terms if t in present) / max(total, 1e-9)


def candidates_from_hits(
    reading: Reading, hits: Sequence[Hit], texts: Mapping[str, str], weights: Mapping[str, float],
    config: AnswerConfig | None = None, voices: Mapping[str, Voices] | None = None, asked: Sequence[str] = (),
    unknown_names: int = 0, known_share: float = 1.0, synonyms: Mapping[str, frozenset[str]] | None = None,
    absent_words: int = 0,
) -> list[Candidate]:
    """Score every sentence of the retrieved passages against the question; only verbatim quotes are kept.

    `voices` says who speaks in each article's sentences; without it an article's voices are read from the
    sentences of its passages at hand.
    """
    config = config or AnswerConfig()
    terms = reading.terms
    rare = rare_terms(terms, weights)
    kinds = question_kinds(reading.text)
    bigrams = set(itertools.pairwise(reading.terms))
    predicate = reading.predicate
    best: dict[tuple[str, Span], Candidate] = {}
    known = dict(voices or {})
    for hit in hits:
        source_id = hit.chunk.source_id
        text = texts.get(source_id, "")
        if text[hit.chunk.start : hit.chunk.end] != hit.chunk.text:
            # The passage is not its article's text at its offsets (the article changed under the index): none of
            # its sentences can be quoted.
            continue
        if source_id not in known:
            spans = sorted({s for h in hits if h.chunk.source_id == source_id for s in h.chunk.sentences})
            known[source_id] = read_voices(text, spans)
        voices_here = known[source_id]
        for span, similarity, sentence, unit in _units(hit, text):
            coverage = _coverage(terms, sentence, weights)
            speakers = [voices_here.speaker(s) for s in unit]
            subjects = [voices_here.subject(s) for s in unit]
            speaker = next((p for p in speakers if p in asked), None) or next((p for p in speakers if p), None)
            subject = next((p for p in subjects if p in asked), None) or next((p for p in subjects if p), None)
            features = sentence_features(
                reading, sentence, _terms(sentence), similarity=similarity, passage=hit.dense_score,
                coverage=coverage, rare=rare, lexical=hit.lexical_score, rank=hit.rank,
                chunk_number=_chunk_number(hit.chunk.chunk_id), speaker=speaker, subject=subject, asked=asked,
                kinds=kinds, unknown_names=unknown_names, pair=len(unit) > 1, bigrams=_bigram_share(bigrams, sentence),
                known_share=known_share, predicate=predicate, synonyms=synonyms, absent_words=absent_words)
            if config.model is not None:
                relevance = config.model.probability(features)
            else:
                relevance = (config.sentence_weight * similarity + config.passage_weight * hit.dense_score
                             + config.coverage_weight * coverage)
                if len(unit) > 1:
                    relevance -= 1.0  # the hand-set weights rank single sentences; pairs only for the model
            key = (source_id, span)
            if key not in best or best[key].relevance < relevance:
                best[key] = Candidate(hit.source, hit.chunk.chunk_id, span, sentence, relevance, similarity,
                                      speaker, subject, features)
    kept = [c for c in best.values() if verified(c.text, texts, c.source.source_id, c.span)]
    return sorted(kept, key=lambda c: (-c.relevance, c.source.source_id, c.span))


# A two-sentence quote (a statement and the sentence that completes it) is at most this long.
MAX_PAIR_CHARS = 600


def _units(hit: Hit, text: str) -> list[tuple[Span, float, str, tuple[Span, ...]]]:
    """A passage's candidate quotes: each sentence, and each two consecutive sentences (the answer often comes in
    the sentence after the one that names the topic), with the best sentence similarity of each."""
    sentences = list(hit.chunk.sentences)
    scores = list(hit.sentence_scores or (0.0,) * len(sentences))
    units = [(span, score, text[span[0] : span[1]], (span,)) for span, score in zip(sentences, scores, strict=False)]
    for (first, a), (second, b) in itertools.pairwise(zip(sentences, scores, strict=False)):
        if second[1] - first[0] <= MAX_PAIR_CHARS:
            units.append(((first[0], second[1]), max(a, b), text[first[0] : second[1]], (first, second)))
    return units


def _bigram_share(bigrams: set[tuple[str, str]], sentence: str) -> float:
    """The share of the question's consecutive term pairs that the sentence has consecutively too."""
    if not bigrams:
        return 0.0
    tokens = tokenize(sentence)
    return len(bigrams & set(itertools.pairwise(tokens))) / len(bigrams)


def _chunk_number(chunk_id: str) -> int:
    """The position of a chunk in its article, from its id ('source#3' -> 3)."""
    number = chunk_id.rpartition("#")[2]
    return int(number) if number.isdigit() else 0


@functools.lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """Return a sentence's stemmed terms; sentences recur across questions, so this is cached."""
    return frozenset(tokenize(text))


def _shape(text: str) -> frozenset[str]:
    return frozenset(t for t in _terms(text) if not t.isdigit())


def near_duplicate(a: str, b: str, threshold: float = 0.5) -> bool:
    """True when two sentences carry the same statement (overlap of their content words)."""
    left, right = _shape(a), _shape(b)
    if not left or not right:
        return False
    return len(left & right) / min(len(left), len(right)) >= max(threshold, 0.0) and (
        len(left & right) / len(left | right) >= threshold * 0.6
    )


_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_NUMBER = re.compile(r"\b\d[\d,.]*%?")


def facts(text: str) -> dict[str, set[str]]:
    """Return the years and other numbers a sentence states."""
    years = set(_YEAR.findall(text))
    numbers = {n.rstrip(".,") for n in _NUMBER.findall(text)} - years
    return {"year": years, "number": numbers}


def disagreement(members: Sequence[Candidate], numbers: Sequence[int]) -> str | None:
    """Describe where sources carrying the same statement differ in a year or a number."""
    for kind in ("year", "number"):
        by_value: dict[str, list[int]] = {}
        stated = [(facts(c.text)[kind], n) for c, n in zip(members, numbers, strict=True)]
        if sum(1 for values, _ in stated if values) < 2:
            continue
        values_seen = {frozenset(values) for values, _ in stated if values}
        if len(values_seen) < 2:
            continue
        for values, n in stated:
            for value in sorted(values):
                by_value.setdefault(value, []).append(n)
        shared = [v for v, ns in by_value.items() if len(ns) == len([1 for vals, _ in stated if vals])]
        sides = {v: ns for v, ns in by_value.items() if v not in shared}
        if len(sides) >= 2:
            parts = "; ".join(f"{v} {''.join(f'[{n}]' for n in ns)}" for v, ns in sorted(sides.items()))
            return f"Sources differ on the {kind}: {parts}."
    return None


def verified(quote: str, texts: Mapping[str, str], source_id: str, span: Span) -> bool:
    """True when the quote is exactly the source text at its offsets."""
    text = texts.get(source_id)
    return text is not None and text[span[0] : span[1]] == quote


def _groups(candidates: list[Candidate], score, config: AnswerConfig) -> list[list[Candidate]]:
    """Group near-identical statements (one per outlet) and keep the groups close enough to the best."""
    top = candidates[0]
    groups: list[list[Candidate]] = []
    for candidate in candidates:
        home = next((g for g in groups if near_duplicate(g[0].text, candidate.text)), None)
        if home is not None:
            if all(m.source.source_id != candidate.source.source_id for m in home):
                home.append(candidate)
            continue
        close = (score(candidate) >= config.model.point_below if config.model is not None
                 else score(candidate) >= score(top) - config.margin)
        if len(groups) < config.max_points and close:
            groups.append([candidate])
    return groups


def declined(question: str, hits: Sequence[Hit], reason: str = "", confidence: float = 0.0) -> Answer:
    """The honest answer when the articles do not answer: say so and why, and offer the closest passages."""
    text = f"{NOT_FOUND} {reason}".strip()
    return Answer(question, False, text, leads=tuple(hits), confidence=confidence)


def compose_answer(reading: Reading, decision: Decision, hits: Sequence[Hit],
                   config: AnswerConfig | None = None) -> Answer:
    """Pick the most relevant kept sentences, merge what several outlets say, cite each verbatim."""
    config = config or AnswerConfig()
    if not decision.answer:
        return declined(reading.text, hits, decision.reason, decision.confidence)
    asked = decision.asked

    def score(c: Candidate) -> float:
        if config.model is not None:
            return c.relevance
        return c.relevance + (speaker_bonus(c.speaker, c.text, asked, config) if asked else 0.0)

    groups = _groups(list(decision.candidates), score, config)
    if config.by_date:
        groups.sort(key=lambda g: (min((m.source.date or "9999") for m in g), -score(g[0])))
    else:
        groups.sort(key=lambda g: -max(score(m) for m in g))
    citations, points, notes = _cite(groups, score)
    dates = sorted({c.date for c in citations if c.date})
    lines = []
    for point in points:
        markers = "".join(f"[{n}]" for n in point.citations)
        lines.append(f"{point.text} {markers}" + (f" ({point.note})" if point.note else ""))
    return Answer(
        question=reading.text,
        answered=True,
        answer="\n".join(lines),
        citations=tuple(citations),
        points=tuple(points),
        leads=tuple(hits),
        as_of=dates[-1] if dates else None,
        notes=tuple(notes),
        confidence=decision.confidence,
    )


def _cite(groups: list[list[Candidate]], score) -> tuple[list[Citation], list[Point], list[str]]:
    """Number every member of every group as a citation; one point per group, led by its best sentence."""
    citations: list[Citation] = []
    points: list[Point] = []
    notes: list[str] = []
    for group in groups:
        group.sort(key=lambda m: (m.source.date or "9999", m.source.source_id))
        numbers = []
        for member in group:
            citations.append(Citation(
                n=len(citations) + 1, source_id=member.source.source_id, chunk_id=member.chunk_id,
                quote=member.text, start=member.span[0], end=member.span[1], title=member.source.title,
                date=member.source.date, outlet=member.source.outlet, speaker=member.speaker,
                url=member.source.url, author=member.source.author,
            ))
            numbers.append(len(citations))
        lead = max(group, key=score)
        note = None
        if len(group) > 1:
            note = f"reported by {len(group)} sources"
            differ = disagreement(group, numbers)
            if differ:
                notes.append(differ)
                note = f"{note}; {differ[0].lower()}{differ[1:-1]}"
        dates = sorted(d for d in (m.source.date for m in group) if d)
        points.append(Point(lead.text, tuple(numbers), lead.speaker, dates[0] if dates else None, note))
    return citations, points, notes
