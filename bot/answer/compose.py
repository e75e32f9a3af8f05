"""Compose an extractive, cited answer from the ranked sentences the decision kept: pure functions over frozen
values. The same statement from several outlets is shown once with all its citations; where they differ in a year
or a number, the answer says so."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answer.abstain import Decision
from bot.answer.features import sentence_terms
from bot.answer.rank import order_citations, order_points
from bot.answer.types import NOT_FOUND, Answer, AnswerConfig, Candidate, Citation, Decline, Point
from embeddings.records import Hit


def _shape(text: str) -> frozenset[str]:
    return frozenset(t for t in sentence_terms(text) if not t.isdigit())


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
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {word: value for value, word in enumerate(_UNITS)} | {
    word: 20 + 10 * i for i, word in enumerate(_TENS)}
# "forty", "forty-five", "forty five": a number written out, as news writes those under a hundred.
_NUMBER_WORDS = re.compile(rf"\b({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?\b|\b({'|'.join(_UNITS)})\b",
                           re.IGNORECASE)


def facts(text: str) -> dict[str, set[str]]:
    """Return the years and other numbers a sentence states."""
    years = set(_YEAR.findall(text))
    numbers = {n.rstrip(".,") for n in _NUMBER.findall(text)} - years
    for tens, unit, alone in _NUMBER_WORDS.findall(text):
        # "one" of "one of the", a pronoun as often as a number, is left out.
        if alone.lower() not in ("", "one"):
            numbers.add(str(_WORD_VALUES[alone.lower()]))
        elif tens:
            numbers.add(str(_WORD_VALUES[tens.lower()] + (_WORD_VALUES[unit.lower()] if unit else 0)))
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


def _groups(candidates: Sequence[Candidate], point_below: float, config: AnswerConfig) -> list[list[Candidate]]:
    """Group near-identical statements (one per outlet) and keep the groups the model scores high enough."""
    groups: list[list[Candidate]] = []
    for candidate in candidates:
        home = next((g for g in groups if near_duplicate(g[0].text, candidate.text)), None)
        if home is not None:
            if all(m.source.source_id != candidate.source.source_id for m in home):
                home.append(candidate)
            continue
        if len(groups) < config.max_points and candidate.relevance >= point_below:
            groups.append([candidate])
    return groups


def declined(question: str, hits: Sequence[Hit], decline: Decline, confidence: float = 0.0) -> Answer:
    """The honest answer when the articles do not answer: say so and why, and offer the closest passages."""
    return Answer(question, False, f"{NOT_FOUND} {decline.reason}", leads=tuple(hits), confidence=confidence,
                  decline=decline)


def compose_answer(question: str, decision: Decision, hits: Sequence[Hit], point_below: float,
                   config: AnswerConfig) -> Answer:
    """Pick the kept sentences the model scores high enough, merge what several outlets say, cite each verbatim."""
    if not decision.answer:
        assert decision.decline is not None
        return declined(question, hits, decision.decline, decision.confidence)
    groups = _groups(decision.candidates, point_below, config)
    order_points(groups, config.by_date)
    citations, points, notes = _cite(groups)
    dates = sorted({c.date for c in citations if c.date})
    lines = []
    for point in points:
        markers = "".join(f"[{n}]" for n in point.citations)
        lines.append(f"{point.text} {markers}" + (f" ({point.note})" if point.note else ""))
    return Answer(
        question=question,
        answered=True,
        answer="\n".join(lines),
        citations=tuple(citations),
        points=tuple(points),
        leads=tuple(hits),
        as_of=dates[-1] if dates else None,
        notes=tuple(notes),
        confidence=decision.confidence,
    )


def _cite(groups: list[list[Candidate]]) -> tuple[list[Citation], list[Point], list[str]]:
    """Number every member of every group as a citation; one point per group, led by its best sentence."""
    citations: list[Citation] = []
    points: list[Point] = []
    notes: list[str] = []
    for group in groups:
        lead = order_citations(group)
        numbers = []
        for member in group:
            citations.append(Citation(
                n=len(citations) + 1, source_id=member.source.source_id, chunk_id=member.chunk_id,
                quote=member.text, start=member.span[0], end=member.span[1], title=member.source.title,
                date=member.source.date, outlet=member.source.outlet, speaker=member.speaker,
                url=member.source.url, author=member.source.author, updated=member.source.updated,
                copies=member.source.copies,
            ))
            numbers.append(len(citations))
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
