"""What is new: the statements first reported after a day, newest first, each with what it changes against what the
archive said before ("first reported", "now says", "sources differ"); and a followed topic's digest of the articles
just indexed. Whether a statement is on the topic is the answering pipeline's call (a timeline over those articles),
never a word rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.answer.compose import disagreement, near_duplicate
from bot.answer.service import NewsService
from bot.answer.types import Answer, Candidate, Citation, Point
from embeddings.records import SourceInfo

FIRST, NOW_SAYS, DIFFER = "first reported", "now says", "sources differ"
# Without a topic, the newest articles of the period are each read for their own topic (their title).
UNTOPICAL_ARTICLES = 10
# With a topic, the newest articles of the period it is looked for in.
PERIOD_ARTICLES = 300
DIGEST_POINTS = 5


@dataclass(frozen=True)
class Change:
    """One statement first reported in the period, what kind of change it is, and what the archive said before."""

    kind: str
    text: str
    date: str | None
    speaker: str | None
    citations: tuple[Citation, ...]
    before: tuple[Citation, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class WhatsNew:
    """The changes since a day (newest first), on a topic or over every article of the period."""

    since: str
    topic: str | None
    changes: tuple[Change, ...]
    articles: int
    notes: tuple[str, ...] = ()


def whats_new(service: NewsService, since: str, topic: str | None = None) -> WhatsNew:
    """Return the statements first reported on or after `since` (YYYY-MM-DD), newest first."""
    period = [info for info in service.sources() if _in_period(info, since)]
    notes: list[str] = []
    changes: list[Change] = []
    if topic and topic.strip():
        if len(period) > PERIOD_ARTICLES:
            notes.append(f"Only the newest {PERIOD_ARTICLES} of the period's {len(period)} articles were read.")
        ids = [info.source_id for info in period[:PERIOD_ARTICLES]]
        if ids:
            changes = _changes(service, topic, ids, since)
    else:
        if len(period) > UNTOPICAL_ARTICLES:
            notes.append(f"The newest {UNTOPICAL_ARTICLES} of the period's {len(period)} articles; name a topic "
                         "to look through them all.")
        for info in period[:UNTOPICAL_ARTICLES]:
            changes += _changes(service, info.title or info.source_id, [info.source_id], since, points=1)
    unique: dict[str, Change] = {}
    for change in changes:
        unique.setdefault(change.text, change)
    ordered = sorted(unique.values(), key=lambda c: c.date or "", reverse=True)
    return WhatsNew(since, topic.strip() if topic else None, tuple(ordered), len(period), tuple(notes))


def digest(service: NewsService, topic: str, source_ids: Sequence[str]) -> Answer | None:
    """Return what newly indexed articles say on a followed topic (a timeline over them), or None when nothing."""
    if not source_ids:
        return None
    found = service.timeline_within(topic, list(source_ids), max_points=DIGEST_POINTS)
    return found if found.answered and found.points else None


def _in_period(info: SourceInfo, since: str) -> bool:
    return (info.date or "") >= since or (info.updated or "") >= since


def _changes(service: NewsService, topic: str, ids: list[str], since: str, points: int | None = None) -> list[Change]:
    """The new statements on a topic from some articles, each set against the archive's earlier statements."""
    new = service.timeline_within(topic, ids, max_points=points)
    if not new.answered:
        return []
    earlier = service.timeline(topic)
    before = [(p, _cited(earlier, p)) for p in earlier.points if p.date and p.date < since] if earlier.answered else []
    changes = []
    for point in new.points:
        cited = _cited(new, point)
        change = _against(point, cited, before)
        if change is not None:
            changes.append(change)
    return changes


def _against(point: Point, cited: tuple[Citation, ...], before: list[tuple[Point, tuple[Citation, ...]]]
             ) -> Change | None:
    """Say what a new statement changes: it repeats (None), contradicts, moves a speaker on, or is new."""
    for old, old_cited in before:
        if near_duplicate(old.text, point.text):
            members = [_candidate(c) for c in (*old_cited[:1], *cited[:1])]
            differ = disagreement(members, [1, 2])
            if differ is None:
                return None  # reported before: not new
            # The same person giving another figure has moved on; different people, the sources differ.
            kind = NOW_SAYS if point.speaker and point.speaker == old.speaker else DIFFER
            return Change(kind, point.text, point.date, point.speaker, cited, old_cited[:1],
                          differ.replace("[1]", "(before)").replace("[2]", "(now)"))
    if point.note and "differ" in point.note:
        return Change(DIFFER, point.text, point.date, point.speaker, cited, note=point.note)
    if point.speaker:
        said = [(old, old_cited) for old, old_cited in before if old.speaker == point.speaker]
        if said:
            old, old_cited = max(said, key=lambda pair: pair[0].date or "")
            return Change(NOW_SAYS, point.text, point.date, point.speaker, cited, old_cited[:1])
    return Change(FIRST, point.text, point.date, point.speaker, cited)


def _cited(answer: Answer, point: Point) -> tuple[Citation, ...]:
    numbers = set(point.citations)
    return tuple(c for c in answer.citations if c.n in numbers)


def _candidate(citation: Citation) -> Candidate:
    info = SourceInfo(citation.source_id, citation.title, citation.date, citation.outlet, citation.url)
    return Candidate(info, citation.chunk_id, (citation.start, citation.end), citation.quote, 0.0, 0.0,
                     citation.speaker)
