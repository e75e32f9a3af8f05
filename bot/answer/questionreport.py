"""What readers asked and did not get, from the question log: questions per day, answered and declined, declines by
rule, the unanswered questions grouped by subject (gaps.py), answers rated down, the most cited sources and latency.
Pure over the rows it is given, with the encoder and the archive's search passed in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from bot.answer.gaps import Gaps, Search, find_gaps
from bot.answer.questionlog import LoggedQuestion
from embeddings.encoders import Embedder
from embeddings.records import SourceInfo

TOP_SOURCES = 15
MAX_RATED_DOWN = 50
PERCENTILES = (50, 90, 95, 99)
# Days of the per-day figures beyond which a chart would be unreadable: the report counts by week instead.
MAX_DAYS = 120

Describe = Callable[[str], SourceInfo | None]


@dataclass(frozen=True)
class DayCount:
    """The questions of one day (or of the week starting on it)."""

    day: str
    asked: int
    answered: int

    @property
    def declined(self) -> int:
        """Return how many of them were declined."""
        return self.asked - self.answered

    @property
    def answered_share(self) -> float | None:
        """Return the answered share, None on a day without questions."""
        return self.answered / self.asked if self.asked else None


@dataclass(frozen=True)
class RuleCount:
    """How many questions one rule declined, and the reason it gave most often."""

    rule: str
    count: int
    reason: str


@dataclass(frozen=True)
class SourceCount:
    """An article and how many answers cited it."""

    source_id: str
    count: int
    title: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class RatedDown:
    """An answer readers voted down, with what it cited."""

    asked_at: str
    question: str
    reading: str | None
    votes_down: int
    votes_up: int
    sources: tuple[SourceCount, ...]


@dataclass(frozen=True)
class Latency:
    """How long answers took, in milliseconds."""

    count: int = 0
    percentiles: tuple[tuple[int, float], ...] = ()
    maximum: float = 0.0


@dataclass(frozen=True)
class QuestionReport:
    """Everything `newsbot report` shows, for the questions asked from `since` to `until` (UTC days)."""

    since: str | None
    until: str | None
    asked: int
    answered: int
    askers: int
    votes_up: int
    votes_down: int
    channels: tuple[tuple[str, int], ...]
    days: tuple[DayCount, ...]
    # "day" or "week": what each entry of `days` counts.
    period: str
    rules: tuple[RuleCount, ...]
    gaps: Gaps
    rated_down: tuple[RatedDown, ...]
    sources: tuple[SourceCount, ...]
    latency: Latency
    notes: tuple[str, ...] = field(default=())

    @property
    def declined(self) -> int:
        """Return how many questions were declined."""
        return self.asked - self.answered


def _days(rows: Sequence[LoggedQuestion], since: date | None, until: date | None) -> tuple[tuple[DayCount, ...], str]:
    """Count every day from the first to the last (days without questions too), by week when that is too many."""
    asked: Counter[str] = Counter(r.day for r in rows)
    answered: Counter[str] = Counter(r.day for r in rows if r.answered)
    if not asked:
        return (), "day"
    first = since or date.fromisoformat(min(asked))
    last = until or date.fromisoformat(max(asked))
    span = (last - first).days + 1
    step, period = (7, "week") if span > MAX_DAYS else (1, "day")
    counts = []
    for start in range(0, span, step):
        days = [(first + timedelta(days=start + i)).isoformat() for i in range(min(step, span - start))]
        counts.append(DayCount(days[0], sum(asked[d] for d in days), sum(answered[d] for d in days)))
    return tuple(counts), period


def _rules(rows: Sequence[LoggedQuestion]) -> tuple[RuleCount, ...]:
    reasons: dict[str, Counter[str]] = {}
    for row in rows:
        if not row.answered:
            reasons.setdefault(row.rule or "unknown", Counter())[row.reason or ""] += 1
    found = [RuleCount(rule, sum(c.values()), c.most_common(1)[0][0]) for rule, c in reasons.items()]
    return tuple(sorted(found, key=lambda r: (-r.count, r.rule)))


def _source(source_id: str, count: int, describe: Describe | None) -> SourceCount:
    info = describe(source_id) if describe else None
    return SourceCount(source_id, count, info.title if info else None, info.date if info else None)


def _latency(rows: Sequence[LoggedQuestion]) -> Latency:
    if not rows:
        return Latency()
    values = np.fromiter((r.latency_ms for r in rows), dtype=np.float64, count=len(rows))
    found = np.percentile(values, PERCENTILES)
    return Latency(len(values), tuple((p, round(float(v), 1)) for p, v in zip(PERCENTILES, found, strict=True)),
                   round(float(values.max()), 1))


def build_report(rows: Sequence[LoggedQuestion], embedder: Embedder, search: Search | None = None,
                 describe: Describe | None = None, *, since: date | None = None, until: date | None = None,
                 groups: int = 20, notes: Sequence[str] = ()) -> QuestionReport:
    """Return the report over logged rows: groups of unanswered questions made with `embedder`, their closest
    passages found with `search`, and sources titled by `describe` (each left out when None)."""
    answered = [r for r in rows if r.answered]
    cited: Counter[str] = Counter(s for r in answered for s in r.sources)
    down = sorted((r for r in rows if r.votes_down), key=lambda r: (r.votes_down, r.asked_at), reverse=True)
    described: dict[str, SourceCount] = {}

    def source(source_id: str) -> SourceCount:
        if source_id not in described:
            described[source_id] = _source(source_id, cited[source_id], describe)
        return described[source_id]

    days, period = _days(rows, since, until)
    return QuestionReport(
        since=since.isoformat() if since else (rows[0].day if rows else None),
        until=until.isoformat() if until else (rows[-1].day if rows else None),
        asked=len(rows), answered=len(answered), askers=len({r.user for r in rows if r.user}),
        votes_up=sum(r.votes_up for r in rows), votes_down=sum(r.votes_down for r in rows),
        channels=tuple(Counter(r.channel for r in rows).most_common()), days=days, period=period,
        rules=_rules(rows), gaps=find_gaps(rows, embedder, search, top=groups),
        rated_down=tuple(RatedDown(r.asked_at, r.question, r.reading, r.votes_down, r.votes_up,
                                   tuple(source(s) for s in r.sources)) for r in down[:MAX_RATED_DOWN]),
        sources=tuple(source(s) for s, _ in cited.most_common(TOP_SOURCES)),
        latency=_latency(rows), notes=tuple(notes))
