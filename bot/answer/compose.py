"""Compose an extractive, cited answer from retrieved passages: pure functions over frozen values."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.answer.abstain import FRAMING_WORDS
from embeddings.lexical import stem, tokenize
from embeddings.records import Hit, SourceInfo, Span

NOT_FOUND = "The articles don't say."


@dataclass(frozen=True)
class AnswerConfig:
    """Thresholds for choosing sentences and for abstaining."""

    # Calibrated on the dev questions and tests/data/questions.jsonl together (README, "Quality").
    max_points: int = 4
    margin: float = 0.2
    min_relevance: float = 0.42
    sentence_weight: float = 0.5
    passage_weight: float = 0.25
    coverage_weight: float = 0.6
    speaker_bonus: float = 0.04
    quote_bonus: float = 0.03


# A timeline keeps every distinct statement near the topic, not just the best few.
TIMELINE_CONFIG = AnswerConfig(max_points=10, margin=0.3)


@dataclass(frozen=True)
class Citation:
    """One checkable source for a statement: a verbatim quote of an article."""

    n: int
    source_id: str
    chunk_id: str
    quote: str
    start: int
    end: int
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    speaker: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the citation in the JSON contract."""
        return {
            "n": self.n, "source_id": self.source_id, "chunk_id": self.chunk_id, "quote": self.quote,
            "title": self.title, "date": self.date, "outlet": self.outlet, "speaker": self.speaker,
            "start": self.start, "end": self.end,
        }


@dataclass(frozen=True)
class Point:
    """One statement of an answer and the citations that carry it."""

    text: str
    citations: tuple[int, ...]
    speaker: str | None = None
    date: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Answer:
    """A cited answer, or an honest 'the articles don't say' with the closest passages as leads."""

    question: str
    answered: bool
    answer: str
    citations: tuple[Citation, ...] = ()
    points: tuple[Point, ...] = ()
    leads: tuple[Hit, ...] = field(default=(), compare=False)
    as_of: str | None = None
    notes: tuple[str, ...] = ()
    confidence: float = 0.0
    # About how the question was read (cut to the length limit, not in English), not about the sources.
    notices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Return the answer in the JSON contract."""
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": self.answer,
            "citations": [c.as_dict() for c in self.citations],
            "as_of": self.as_of,
            "notes": list(self.notes),
            "notices": list(self.notices),
            "confidence": round(self.confidence, 4),
            "leads": [
                {"source_id": h.chunk.source_id, "chunk_id": h.chunk.chunk_id, "text": h.chunk.text,
                 "score": round(h.score, 6), "date": h.source.date, "title": h.source.title}
                for h in self.leads
            ],
        }


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    source: SourceInfo
    chunk_id: str
    span: Span
    text: str
    relevance: float
    similarity: float
    speaker: str | None


_SPEECH_VERBS = (
    r"said|says|told|tells|noted|notes|added|adds|stressed|stresses|argued|argues|claimed|claims|explained|"
    r"explains|continued|replied|responded|stated|states|urged|urges|warned|warns|admitted|admits|cited|"
    r"suggested|emphasized|emphasised|insisted|reiterated|declared|believes|thinks|wrote|writes|asked|"
    r"expressed|dismissed|refused|called"
)
_NAME = r"[A-Z][a-zA-Z’'-]+(?:\s+[A-Z][a-zA-Z’'-]+)*"
_NAME_VERB = re.compile(
    rf"(?P<name>{_NAME})(?:,[^,]{{1,80}},)?\s+(?:(?:has|had|have|also|previously|recently|then|later|"
    rf"further|once|already|again|publicly)\s+)*(?:{_SPEECH_VERBS})\b"
)
_VERB_NAME = re.compile(rf"[,”\"]\s*(?:{_SPEECH_VERBS})\s+(?P<name>{_NAME})")
_ROLE_VERB = re.compile(
    rf"\b(?:[Tt]he|Italy's|Italy’s)\s+(?:[A-Z]?[a-z]+\s+){{0,3}}(?:minister|Minister|chief|official)\s+(?:also\s+)?"
    rf"(?:{_SPEECH_VERBS})\b"
)
_PRONOUN_VERB = re.compile(rf"\b(?:[Hh]e|[Ss]he)\s+(?:also\s+|further\s+)?(?:{_SPEECH_VERBS})\b")
_NOT_PEOPLE = frozenset(
    """He She It They We I You This That These Those His Her Their The A An In On At If But And Yet When
    While According Earlier Notably Nonetheless Last Prior Citing
    Today Without Russia Russian Russians Ukraine Ukrainian Ukrainians Italy Italian Moscow Kyiv NATO
    Europe European Western West France Poland Brussels Crimea Reuters Bild Economist ISW""".split()
)
_TITLES = frozenset(
    """President Prime Minister Defense Defence Foreign Secretary-General General Italian French Polish US
    U.S. German Russian Ukrainian Mr Mrs Ms Dr Pope Chancellor Leader Guido Emmanuel Volodymyr Vladimir
    Radoslaw Jens Donald Giorgia Georgia Bruno""".split()
)


def person_name(raw: str) -> str | None:
    """Reduce 'French President Emmanuel Macron' to 'Macron'; None for places and outlets."""
    words = [w.strip("’'") for w in raw.split()]
    words = [w.removesuffix("’s").removesuffix("'s") for w in words]
    if not words or (words[0] in _NOT_PEOPLE and len(words) == 1):
        return None
    while words and words[0] in _TITLES | _NOT_PEOPLE and len(words) > 1:
        words.pop(0)
    name = words[-1] if words else None
    if not name or name in _NOT_PEOPLE or name in _TITLES:
        return None
    return name


_TITLED = re.compile(
    rf"\b(?:President|Minister|Secretary-General|Chancellor|Premier|leader|spokesperson|spokesman|"
    rf"ambassador|commander|general|journalist)\s+(?P<name>{_NAME})"
)


def known_people(text: str) -> set[str]:
    """Return the people an article names: speakers ('X said') and titled names ('President X')."""
    people = set()
    for pattern in (_NAME_VERB, _TITLED):
        for match in pattern.finditer(text):
            name = person_name(match.group("name"))
            if name:
                people.add(name)
    return people


def main_person(text: str) -> str | None:
    """Return the person an article quotes most: the target of 'he' and 'the minister'."""
    counts: dict[str, int] = {}
    for match in _NAME_VERB.finditer(text):
        name = person_name(match.group("name"))
        if name:
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda n: (counts[n], -text.find(n))) if counts else None


def speaker_of(
    sentence: str, previous_speaker: str | None, article_main: str | None, people: set[str] | None = None
) -> str | None:
    """Say who is speaking in a sentence where the text makes it clear."""
    for pattern in (_VERB_NAME, _NAME_VERB):
        for match in pattern.finditer(sentence):
            name = person_name(match.group("name"))
            if name:
                return name
    if _ROLE_VERB.search(sentence):
        return article_main
    pronoun = _PRONOUN_VERB.search(sentence)
    if pronoun:
        # 'During Zelenskyy's visit ..., he said': the pronoun is the person named earlier in the sentence.
        unquoted = re.sub(r"[“\"][^”\"]*[”\"]", " ", sentence[: pronoun.start()])
        earlier = [person_name(m.group()) for m in re.finditer(_NAME, unquoted)]
        earlier = [name for name in earlier if name and (people is None or name in people)]
        return earlier[-1] if earlier else previous_speaker or article_main
    return None


def speakers_by_sentence(text: str, spans: Sequence[Span]) -> dict[Span, str | None]:
    """Attribute every sentence of an article, carrying 'he said' back to the last named speaker."""
    article_main = main_person(text)
    people = known_people(text)
    result: dict[Span, str | None] = {}
    previous: str | None = None
    for span in sorted(spans):
        speaker = speaker_of(text[span[0] : span[1]], previous, article_main, people)
        result[span] = speaker
        previous = speaker or previous
    return result


def question_terms(question: str) -> list[str]:
    """Return the question's content terms, stemmed, without question words."""
    return [t for t in tokenize(question) if t not in _QUESTION_WORDS]


_QUESTION_WORDS = frozenset(stem(w) for w in FRAMING_WORDS)


_SAY_QUESTION = re.compile(
    rf"\b(?:did|does|do|has|have|had|is|was)\s+(?P<name>{_NAME})\s+(?:\w+ly\s+)?"
    r"(?:say|said|see|saw|think|feel|expect|tell|told|state|stated|claim|claimed|believe|argue|argued|mean|"
    r"want|warn|warned|"
    r"propose|proposed|suggest|suggested|call|called|reply|replied|respond|responded|add|added)\b"
    rf"|\baccording to\s+(?P<source>{_NAME})"
)


def asked_speaker(question: str) -> str | None:
    """Return the person a 'what did X say' or 'according to X' question asks about."""
    match = _SAY_QUESTION.search(question)
    if not match:
        return None
    return person_name(match.group("name") or match.group("source"))


def same_person(a: str | None, b: str | None) -> bool:
    """True for the same surname, allowing spelling variants (Zelensky, Zelenskyy)."""
    if not a or not b:
        return False
    a, b = a.lower(), b.lower()
    return a == b or (min(len(a), len(b)) >= 5 and a[:6] == b[:6])


def _coverage(terms: Sequence[str], text: str, weights: Mapping[str, float]) -> float:
    if not terms:
        return 0.0
    present = _terms(text)
    total = sum(weights.get(t, 1.0) for t in terms)
    return sum(weights.get(t, 1.0) for t in terms if t in present) / max(total, 1e-9)


def candidates_from_hits(
    question: str, hits: Sequence[Hit], texts: Mapping[str, str], weights: Mapping[str, float],
    config: AnswerConfig | None = None,
) -> list[Candidate]:
    """Score every sentence of the retrieved passages against the question."""
    config = config or AnswerConfig()
    terms = question_terms(question)
    best: dict[tuple[str, Span], Candidate] = {}
    speakers: dict[str, dict[Span, str | None]] = {}
    for hit in hits:
        source_id = hit.chunk.source_id
        text = texts.get(source_id, "")
        if source_id not in speakers:
            spans = [s for h in hits if h.chunk.source_id == source_id for s in h.chunk.sentences]
            speakers[source_id] = speakers_by_sentence(text, spans)
        for span, similarity in zip(hit.chunk.sentences, hit.sentence_scores or (0.0,) * len(hit.chunk.sentences),
                                    strict=False):
            sentence = text[span[0] : span[1]]
            relevance = (config.sentence_weight * similarity + config.passage_weight * hit.dense_score
                         + config.coverage_weight * _coverage(terms, sentence, weights))
            key = (source_id, span)
            if key not in best or best[key].relevance < relevance:
                best[key] = Candidate(hit.source, hit.chunk.chunk_id, span, sentence, relevance, similarity,
                                      speakers[source_id].get(span))
    return sorted(best.values(), key=lambda c: (-c.relevance, c.source.source_id, c.span))


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


_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                 r"thousands?|millions?|billions?|half|quarter")
_MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December"
_EXPECTED = (
    (re.compile(r"\bhow old\b|\bwhat age\b", re.I),
     re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d|\bborn\b", re.I)),
    (re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|amount)\b", re.I),
     re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)),
    (re.compile(r"\bhow long\b", re.I),
     re.compile(rf"\b(?:years?|months?|weeks?|days?|hours?|until|since|through)\b|\d|\b(?:{_NUMBER_WORDS})\b", re.I)),
    (re.compile(r"^\s*(?:until |since |by |from |on |in )?(?:when|(?:what|which) (?:year|date|day|month))\b", re.I),
     re.compile(rf"\b(?:19|20)\d\d\b|\b(?:{_MONTH})\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
                r"\b(?:yesterday|today|last (?:week|month|year)|next (?:week|month|year)|earlier|end-\d{4})\b", re.I)),
)


def expected_answer(question: str) -> re.Pattern[str] | None:
    """For 'how many', 'how old', 'how long' and 'when' questions, the shape an answer sentence must have."""
    for asks, shape in _EXPECTED:
        if asks.search(question):
            return shape
    return None


def not_found(question: str, hits: Sequence[Hit], reason: str = "", confidence: float = 0.0) -> Answer:
    """The honest answer when the articles do not answer: say so, and offer the closest passages."""
    text = f"{NOT_FOUND} {reason}".strip()
    return Answer(question, False, text, leads=tuple(hits), confidence=confidence)


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    texts: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
    config: AnswerConfig | None = None,
    missing: Sequence[str] = (),
) -> Answer:
    """Pick the most relevant sentences, merge what several outlets say, cite each verbatim."""
    config = config or AnswerConfig()
    weights = weights or {}
    if missing:
        listed = ", ".join(f"“{m}”" for m in dict.fromkeys(missing))
        return not_found(question, hits, f"They never mention {listed}.")
    candidates = [c for c in candidates_from_hits(question, hits, texts, weights, config)
                  if verified(c.text, texts, c.source.source_id, c.span)]
    if not candidates:
        return not_found(question, hits)
    shape = expected_answer(question)
    if shape is not None:
        candidates = [c for c in candidates if shape.search(c.text)]
        if not candidates:
            return not_found(question, hits, "No passage gives what the question asks for.")
    speaker = asked_speaker(question)
    if speaker:
        if not any(same_person(c.speaker, speaker) for c in candidates):
            return not_found(question, hits, f"They quote nobody as {speaker} on this.",
                             confidence=candidates[0].relevance)
        candidates = sorted(candidates, key=lambda c: -(c.relevance + _speaker_bonus(c, speaker, config)))
    top = candidates[0]
    confidence = top.relevance
    if confidence < config.min_relevance:
        return not_found(question, hits, confidence=confidence)

    def score(c: Candidate) -> float:
        return c.relevance + (_speaker_bonus(c, speaker, config) if speaker else 0.0)

    groups: list[list[Candidate]] = []
    for candidate in candidates:
        home = next((g for g in groups if near_duplicate(g[0].text, candidate.text)), None)
        if home is not None:
            if all(m.source.source_id != candidate.source.source_id for m in home):
                home.append(candidate)
            continue
        if len(groups) < config.max_points and score(candidate) >= score(top) - config.margin:
            groups.append([candidate])
    groups.sort(key=lambda g: (min((m.source.date or "9999") for m in g), -score(g[0])))
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
        confidence=confidence,
    )


def _speaker_bonus(candidate: Candidate, speaker: str, config: AnswerConfig) -> float:
    if same_person(candidate.speaker, speaker):
        # A direct quote is the strongest evidence of what someone said.
        quoted = any(mark in candidate.text for mark in ('"', "“", "”"))
        return config.speaker_bonus + (config.quote_bonus if quoted else 0.0)
    if candidate.speaker is not None:
        return -config.speaker_bonus
    return 0.0
