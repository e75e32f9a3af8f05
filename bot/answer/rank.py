"""Every ordering of candidates, in one place: the first stage's probability (deduplicated across overlapping
passages), which of them the reader reads, the second stage's probability once it has, a conversation's preference,
the order of an answer's points and of the citations within a point. Pure functions over frozen values; the
reader's probabilities come in as numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from bot.answer.attribution import same_person
from bot.answer.conversation.state import Preference
from bot.answer.features import Features, read_features
from bot.answer.model import AnswerModel
from bot.answer.types import Candidate
from embeddings.records import Hit, Span

# What ranks a candidate: the answer model's probability for its features.
Scorer = Callable[[Features], float]


def _order(c: Candidate) -> tuple[float, str, Span]:
    return (-c.relevance, c.source.source_id, c.span)


def rank(quotes: Iterable[Candidate], scorer: Scorer, prefer: Preference | None = None) -> tuple[Candidate, ...]:
    """The first stage: score every candidate quote, keep the best-scored of each (source, span), best first; for a
    follow-up, the conversation's preference then adjusts the scores."""
    best: dict[tuple[str, Span], Candidate] = {}
    for quote in quotes:
        scored = replace(quote, relevance=scorer(quote.features))
        key = (quote.source.source_id, quote.span)
        if key not in best or best[key].relevance < scored.relevance:
            best[key] = scored
    ranked = sorted(best.values(), key=_order)
    return tuple(favour(ranked, prefer)) if prefer is not None else tuple(ranked)


def to_read(ranked: Sequence[Candidate], asked: Sequence[str], count: int) -> list[Candidate]:
    """The candidates the reader reads: the first stage's best; for "what did X say", also X's best statements."""
    chosen = list(ranked[:count])
    if asked:
        taken = {(c.source.source_id, c.span) for c in chosen}
        spoken = [c for c in ranked[count:] if (same_person(c.speaker, asked) or same_person(c.subject, asked))
                  and (c.source.source_id, c.span) not in taken]
        chosen += spoken[: max(1, count // 2)]
    return chosen


def rerank(chosen: Sequence[Candidate], read: Sequence[float], model: AnswerModel,
           prefer: Preference | None = None) -> tuple[Candidate, ...]:
    """The second stage: each candidate the reader read, scored by what it judged and what the first stage did,
    best first; for a follow-up, the conversation's preference then adjusts the scores."""
    judged = [replace(c, read=float(p), first=c.relevance,
                      relevance=model.judged(read_features(float(p), c.relevance, c.features)))
              for c, p in zip(chosen, read, strict=True)]
    ranked = sorted(judged, key=_order)
    return tuple(favour(ranked, prefer)) if prefer is not None else tuple(ranked)


def favour(candidates: Iterable[Candidate], prefer: Preference) -> list[Candidate]:
    """Re-score a follow-up's sentences: those of cited passages gain a little, those just given lose a little,
    those not to give again go; best first."""
    kept = []
    for c in candidates:
        key = (c.source.source_id, c.span[0])
        if key in prefer.avoid:
            continue
        bonus = prefer.sentence_boost * prefer.chunks.get(c.chunk_id, 0.0) - (
            prefer.repeat_penalty if key in prefer.given else 0.0)
        kept.append(replace(c, relevance=c.relevance + bonus))
    return sorted(kept, key=_order)


def favour_passages(hits: Sequence[Hit], prefer: Preference, k: int) -> list[Hit]:
    """A follow-up's passages: the conversation's cited ones mildly favoured, the best k renumbered."""
    ranked = sorted(hits, key=lambda h: -h.score * (1 + prefer.bonus(h.chunk.chunk_id, h.chunk.source_id,
                                                                     h.source.date)))
    return [replace(hit, rank=rank) for rank, hit in enumerate(ranked[:k], start=1)]


def order_points(groups: list[list[Candidate]], by_date: bool) -> None:
    """Order an answer's points: by their best statement, or (a timeline) oldest first."""
    if by_date:
        groups.sort(key=lambda g: (min((m.source.date or "9999") for m in g), -g[0].relevance))
    else:
        groups.sort(key=lambda g: -max(m.relevance for m in g))


def order_citations(group: list[Candidate]) -> Candidate:
    """Order one point's citations oldest first and return the statement that leads it (the best scored)."""
    group.sort(key=lambda m: (m.source.date or "9999", m.source.source_id))
    return max(group, key=lambda m: m.relevance)


def cited_first(candidates: Iterable[Candidate], cited: set[tuple[str, int]]) -> list[Candidate]:
    """Candidates the last answer cited first (as (source id, start)), then the rest; best first within each."""
    return sorted(candidates, key=lambda c: ((c.source.source_id, c.span[0]) not in cited, -c.relevance))
