"""Every `--json` shape in one place, with a JSON Schema per shape (tests validate the outputs against them).

The CLI prints these; other programs read them. Change a shape here, and its schema with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.answer.abstain import RULES
from bot.answer.conversation.state import Reply
from bot.answer.questionreport import QuestionReport, SourceCount
from bot.answer.types import Answer, Citation, SourceView
from bot.answer.whatsnew import WhatsNew
from embeddings.ingest.add import Added
from embeddings.records import BuildReport, CleaningReport, Hit, SourceInfo
from embeddings.watch.state import SourceState


def citation_json(citation: Citation) -> dict[str, object]:
    """Return one citation."""
    return {
        "n": citation.n, "source_id": citation.source_id, "chunk_id": citation.chunk_id, "quote": citation.quote,
        "title": citation.title, "date": citation.date, "outlet": citation.outlet, "speaker": citation.speaker,
        "start": citation.start, "end": citation.end, "url": citation.url, "author": citation.author,
        "updated": citation.updated, "copies": [{"outlet": o or None, "url": u or None} for o, u in citation.copies],
    }


def lead_json(hit: Hit) -> dict[str, object]:
    """Return a passage offered as a lead when the articles do not answer."""
    return {"source_id": hit.chunk.source_id, "chunk_id": hit.chunk.chunk_id, "text": hit.chunk.text,
            "score": round(hit.score, 6), "date": hit.source.date, "title": hit.source.title}


def answer_json(answer: Answer) -> dict[str, object]:
    """Return an answer (`ask --json`)."""
    return {
        "question": answer.question,
        "answered": answer.answered,
        "answer": answer.answer,
        "citations": [citation_json(c) for c in answer.citations],
        "as_of": answer.as_of,
        "notes": list(answer.notes),
        "notices": list(answer.notices),
        "confidence": round(answer.confidence, 4),
        "leads": [lead_json(h) for h in answer.leads],
        "declined": {"rule": answer.decline.rule, "reason": answer.decline.reason} if answer.decline else None,
    }


def turn_json(reply: Reply) -> dict[str, object]:
    """Return one answered turn of a conversation (`chat --json`, `ask --from-file` with conversations): the
    answer, the self-contained question it was read as, and its number in the conversation."""
    return answer_json(reply.answer) | {"standalone": reply.reading.shown, "turn": reply.turn}


def timeline_json(timeline: Answer) -> dict[str, object]:
    """Return a timeline (`timeline --json`): the answer plus one dated entry per statement."""
    return answer_json(timeline) | {"timeline": [
        {"date": p.date, "text": p.text, "speaker": p.speaker, "citations": list(p.citations), "note": p.note}
        for p in timeline.points
    ]}


def hit_json(hit: Hit) -> dict[str, object]:
    """Return one ranked passage."""
    return {
        "rank": hit.rank,
        "source_id": hit.chunk.source_id,
        "chunk_id": hit.chunk.chunk_id,
        "score": round(hit.score, 6),
        "dense_score": round(hit.dense_score, 6),
        "lexical_score": round(hit.lexical_score, 6),
        "text": hit.chunk.text,
        "title": hit.source.title,
        "date": hit.source.date,
        "start": hit.chunk.start,
        "end": hit.chunk.end,
    }


def search_json(query: str, hits: Sequence[Hit]) -> dict[str, object]:
    """Return a search (`search --json`)."""
    return {"query": query, "results": [hit_json(hit) for hit in hits]}


def source_json(view: SourceView) -> dict[str, object]:
    """Return one article (`source --json`): metadata and where it came from, clean text, noise, passages."""
    return {
        "source_id": view.info.source_id, "title": view.info.title, "date": view.info.date,
        "outlet": view.info.outlet, "url": view.info.url, "author": view.info.author,
        "provenance": dict(view.article.provenance),
        "text": view.article.clean_text,
        "noise": [{"kind": kind, "text": view.article.span_text(span)} for kind, span in view.article.noise],
        "chunks": [{"chunk_id": c.chunk_id, "start": c.start, "end": c.end, "text": c.text} for c in view.chunks],
    }


def sources_json(infos: Iterable[SourceInfo]) -> dict[str, object]:
    """Return the corpus (`sources --json`)."""
    return {"sources": [{"source_id": i.source_id, "title": i.title, "date": i.date, "outlet": i.outlet,
                         "url": i.url, "author": i.author} for i in infos]}


def build_report_json(report: BuildReport) -> dict[str, object]:
    """Return what an index run did (`index --json`)."""
    return {
        "path": report.path,
        "up_to_date": report.up_to_date,
        "added": list(report.added),
        "changed": list(report.changed),
        "removed": list(report.removed),
        "unchanged": len(report.unchanged),
        "chunks": report.chunks,
        "embedded": report.embedded,
        "warnings": list(report.warnings),
        "cleaning": cleaning_json(report.cleaning) if report.cleaning else None,
    }


def cleaning_json(cleaning: CleaningReport) -> dict[str, object]:
    """Return what reading the seeds kept and left out."""
    return {"files": cleaning.files, "articles": cleaning.articles, "skipped": list(cleaning.skipped),
            "parsed": cleaning.parsed, "text_chars": cleaning.text_chars, "chrome_chars": cleaning.chrome_chars,
            "rescued": list(cleaning.rescued)}


def add_json(added: Added, report: BuildReport) -> dict[str, object]:
    """Return what `add --json` did: the files copied into the seeds, then the index run."""
    return {"copied": [{"file": name, "articles": count} for name, count in added.copied],
            "unchanged": list(added.unchanged), "warnings": list(added.warnings), "index": build_report_json(report)}


def _source_count_json(source: SourceCount) -> dict[str, object]:
    return {"source_id": source.source_id, "count": source.count, "title": source.title, "date": source.date}


def question_report_json(report: QuestionReport) -> dict[str, object]:
    """Return the question log's report (`report --json`)."""
    gaps = report.gaps
    return {
        "since": report.since, "until": report.until, "asked": report.asked, "answered": report.answered,
        "declined": report.declined, "askers": report.askers,
        "votes": {"up": report.votes_up, "down": report.votes_down},
        "channels": dict(report.channels), "period": report.period,
        "days": [{"day": d.day, "asked": d.asked, "answered": d.answered, "declined": d.declined} for d in report.days],
        "declines": [{"rule": r.rule, "count": r.count, "reason": r.reason} for r in report.rules],
        "gaps": {"groups": [{"size": g.size, "examples": list(g.examples), "last_asked": g.last_asked,
                             "rules": dict(g.rules),
                             "passages": [{"source_id": p.source_id, "title": p.title, "date": p.date, "text": p.text,
                                           "score": p.score} for p in g.passages]} for g in gaps.groups],
                 "group_count": gaps.group_count, "ungrouped": gaps.ungrouped},
        "rated_down": [{"asked_at": r.asked_at, "question": r.question, "reading": r.reading,
                        "votes_down": r.votes_down, "votes_up": r.votes_up,
                        "sources": [_source_count_json(s) for s in r.sources]} for r in report.rated_down],
        "sources": [_source_count_json(s) for s in report.sources],
        "latency_ms": {"count": report.latency.count, "max": report.latency.maximum,
                       **{f"p{p}": value for p, value in report.latency.percentiles}},
        "notes": list(report.notes),
    }


# --------------------------------------------------------------------------- schemas

_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number"}
_TEXTS = {"type": "array", "items": _TEXT}


def whatsnew_json(found: WhatsNew) -> dict[str, object]:
    """Return what is new since a day: each change with its citations and what the archive said before."""
    return {"since": found.since, "topic": found.topic, "articles": found.articles, "notes": list(found.notes),
            "changes": [{"kind": c.kind, "text": c.text, "date": c.date, "speaker": c.speaker, "note": c.note,
                         "citations": [citation_json(x) for x in c.citations],
                         "before": [citation_json(x) for x in c.before]} for c in found.changes]}


def watch_status_json(states: Sequence[SourceState]) -> dict[str, object]:
    """Return each watched source's last success, next poll (UTC, ISO 8601), counts and last error."""
    return {"sources": [{"url": s.url, "last_success": _when(s.last_success), "last_attempt": _when(s.last_attempt),
                         "next_poll": _when(s.next_poll or None), "failures": s.failures, "last_error": s.last_error,
                         "added": s.added, "updated": s.updated, "removed": s.removed} for s in states]}


def _when(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else None


def _object(properties: dict[str, object]) -> dict[str, object]:
    return {"type": "object", "properties": properties, "required": sorted(properties),
            "additionalProperties": False}


CITATION_SCHEMA = _object({
    "n": {"type": "integer", "minimum": 1}, "source_id": _TEXT, "chunk_id": _TEXT, "quote": _TEXT,
    "title": _MAYBE_TEXT, "date": _MAYBE_TEXT, "outlet": _MAYBE_TEXT, "speaker": _MAYBE_TEXT,
    "start": _COUNT, "end": _COUNT, "url": _MAYBE_TEXT, "author": _MAYBE_TEXT, "updated": _MAYBE_TEXT,
    "copies": {"type": "array", "items": _object({"outlet": _MAYBE_TEXT, "url": _MAYBE_TEXT})},
})
LEAD_SCHEMA = _object({"source_id": _TEXT, "chunk_id": _TEXT, "text": _TEXT, "score": _NUMBER, "date": _MAYBE_TEXT,
                       "title": _MAYBE_TEXT})
ANSWER_SCHEMA = _object({
    "question": _TEXT, "answered": {"type": "boolean"}, "answer": _TEXT,
    "citations": {"type": "array", "items": CITATION_SCHEMA}, "as_of": _MAYBE_TEXT, "notes": _TEXTS,
    "notices": _TEXTS, "confidence": _NUMBER, "leads": {"type": "array", "items": LEAD_SCHEMA},
    "declined": {"oneOf": [{"type": "null"}, _object({"rule": {"enum": list(RULES)}, "reason": {
        "type": "string", "minLength": 1}})]},
})
TURN_SCHEMA = {
    **ANSWER_SCHEMA,
    "properties": {**ANSWER_SCHEMA["properties"], "standalone": _TEXT, "turn": {"type": "integer", "minimum": 0},
                   "conversation": {"type": ["string", "integer"]}},
    "required": sorted([*ANSWER_SCHEMA["required"], "standalone", "turn"]),
}
TIMELINE_SCHEMA = {
    **ANSWER_SCHEMA,
    "properties": {**ANSWER_SCHEMA["properties"], "timeline": {"type": "array", "items": _object({
        "date": _MAYBE_TEXT, "text": _TEXT, "speaker": _MAYBE_TEXT,
        "citations": {"type": "array", "items": {"type": "integer"}}, "note": _MAYBE_TEXT})}},
    "required": sorted([*ANSWER_SCHEMA["required"], "timeline"]),
}
WHATSNEW_SCHEMA = _object({
    "since": _TEXT, "topic": _MAYBE_TEXT, "articles": _COUNT, "notes": _TEXTS,
    "changes": {"type": "array", "items": _object({
        "kind": {"enum": ["first reported", "now says", "sources differ"]}, "text": _TEXT, "date": _MAYBE_TEXT,
        "speaker": _MAYBE_TEXT, "note": _MAYBE_TEXT, "citations": {"type": "array", "items": CITATION_SCHEMA},
        "before": {"type": "array", "items": CITATION_SCHEMA}})},
})
WATCH_STATUS_SCHEMA = _object({"sources": {"type": "array", "items": _object({
    "url": _TEXT, "last_success": _MAYBE_TEXT, "last_attempt": _MAYBE_TEXT, "next_poll": _MAYBE_TEXT,
    "failures": _COUNT, "last_error": _MAYBE_TEXT, "added": _COUNT, "updated": _COUNT, "removed": _COUNT})}})
HIT_SCHEMA = _object({
    "rank": _COUNT, "source_id": _TEXT, "chunk_id": _TEXT, "score": _NUMBER, "dense_score": _NUMBER,
    "lexical_score": _NUMBER, "text": _TEXT, "title": _MAYBE_TEXT, "date": _MAYBE_TEXT, "start": _COUNT,
    "end": _COUNT,
})
SEARCH_SCHEMA = _object({"query": _TEXT, "results": {"type": "array", "items": HIT_SCHEMA}})
SOURCE_SCHEMA = _object({
    "source_id": _TEXT, "title": _MAYBE_TEXT, "date": _MAYBE_TEXT, "outlet": _MAYBE_TEXT, "url": _MAYBE_TEXT,
    "author": _MAYBE_TEXT,
    "provenance": {"type": "object", "additionalProperties": _TEXT}, "text": _TEXT,
    "noise": {"type": "array", "items": _object({"kind": _TEXT, "text": _TEXT})},
    "chunks": {"type": "array", "items": _object({"chunk_id": _TEXT, "start": _COUNT, "end": _COUNT,
                                                   "text": _TEXT})},
})
SOURCES_SCHEMA = _object({"sources": {"type": "array", "items": _object({
    "source_id": _TEXT, "title": _MAYBE_TEXT, "date": _MAYBE_TEXT, "outlet": _MAYBE_TEXT, "url": _MAYBE_TEXT,
    "author": _MAYBE_TEXT})}})
CLEANING_SCHEMA = _object({
    "files": _COUNT, "articles": _COUNT, "skipped": _TEXTS, "parsed": _COUNT, "text_chars": _COUNT,
    "chrome_chars": _COUNT, "rescued": _TEXTS,
})
BUILD_REPORT_SCHEMA = _object({
    "path": _TEXT, "up_to_date": {"type": "boolean"}, "added": _TEXTS, "changed": _TEXTS, "removed": _TEXTS,
    "unchanged": _COUNT, "chunks": _COUNT, "embedded": _COUNT, "warnings": _TEXTS,
    "cleaning": {"oneOf": [{"type": "null"}, CLEANING_SCHEMA]},
})
ADD_SCHEMA = _object({
    "copied": {"type": "array", "items": _object({"file": _TEXT, "articles": _COUNT})}, "unchanged": _TEXTS,
    "warnings": _TEXTS, "index": BUILD_REPORT_SCHEMA,
})
_SOURCE_COUNT = _object({"source_id": _TEXT, "count": _COUNT, "title": _MAYBE_TEXT, "date": _MAYBE_TEXT})
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
QUESTION_REPORT_SCHEMA = _object({
    "since": _MAYBE_TEXT, "until": _MAYBE_TEXT, "asked": _COUNT, "answered": _COUNT, "declined": _COUNT,
    "askers": _COUNT, "votes": _object({"up": _COUNT, "down": _COUNT}), "channels": _COUNTS,
    "period": {"enum": ["day", "week"]},
    "days": {"type": "array", "items": _object({"day": _TEXT, "asked": _COUNT, "answered": _COUNT,
                                                "declined": _COUNT})},
    "declines": {"type": "array", "items": _object({"rule": _TEXT, "count": _COUNT, "reason": _TEXT})},
    "gaps": _object({"groups": {"type": "array", "items": _object({
        "size": _COUNT, "examples": _TEXTS, "last_asked": _TEXT, "rules": _COUNTS,
        "passages": {"type": "array", "items": _object({"source_id": _TEXT, "title": _MAYBE_TEXT,
                                                        "date": _MAYBE_TEXT, "text": _TEXT, "score": _NUMBER})}})},
        "group_count": _COUNT, "ungrouped": _COUNT}),
    "rated_down": {"type": "array", "items": _object({
        "asked_at": _TEXT, "question": _TEXT, "reading": _MAYBE_TEXT, "votes_down": _COUNT, "votes_up": _COUNT,
        "sources": {"type": "array", "items": _SOURCE_COUNT}})},
    "sources": {"type": "array", "items": _SOURCE_COUNT},
    "latency_ms": {"type": "object", "properties": {"count": _COUNT, "max": _NUMBER},
                   "required": ["count", "max"], "additionalProperties": _NUMBER},
    "notes": _TEXTS,
})
