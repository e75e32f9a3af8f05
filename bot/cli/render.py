"""Terminal and JSON renderings of answers, hits and sources: pure functions returning strings and dicts."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot.answer.questionreport import QuestionReport, SourceCount
from bot.answer.types import Answer, Citation, SourceView
from bot.answer.whatsnew import WhatsNew
from bot.cli.output import safe_line
from embeddings.records import Hit, SourceInfo
from embeddings.watch.state import SourceState

WIDTH = 100


def source_label(info: SourceInfo | Citation) -> str:
    """Return 'title - date - source id' for a citation line ('date, updated DAY' for an article updated since)."""
    title = info.title or "(untitled)"
    updated = f", updated {info.updated}" if info.updated else ""
    return safe_line(f"{title} - {info.date or 'undated'}{updated} - {info.source_id}")


def _url_line(info: SourceInfo | Citation, indent: str = "      ") -> list[str]:
    """Return the article's URL as a line of its own, when it has one, and the other outlets that ran the story."""
    lines = [f"{indent}{safe_line(info.url)}"] if info.url else []
    if info.copies:
        also = "; ".join(safe_line(" ".join(part for part in copy if part)) for copy in info.copies)
        lines.append(f"{indent}also published by: {also}")
    return lines


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(line, WIDTH, initial_indent=indent, subsequent_indent=indent) if line else ""
        for line in text.splitlines()
    )


def render_answer(answer: Answer) -> str:
    """Render an answer with numbered citations and their verbatim quotes."""
    lines = [_wrap(f"({notice})") for notice in answer.notices] + [_wrap(answer.answer), ""]
    if answer.answered:
        for note in answer.notes:
            lines.append(_wrap(f"Note: {note}"))
        lines.append("Sources:")
        for citation in answer.citations:
            speaker = f" (speaker: {safe_line(citation.speaker)})" if citation.speaker else ""
            lines.append(f"  [{citation.n}] {source_label(citation)}{speaker}")
            lines.append(_wrap(f"“{citation.quote}”", "      "))
            lines += _url_line(citation)
        if answer.as_of:
            lines.append(f"As of {answer.as_of}.")
    elif answer.leads:
        lines.append("Closest passages (they do not answer the question):")
        for hit in answer.leads[:3]:
            lines.append(f"  - {source_label(hit.source)}")
            lines.append(_wrap(hit.chunk.text, "      "))
            lines += _url_line(hit.source)
    return "\n".join(lines).rstrip()


def render_timeline(timeline: Answer) -> str:
    """Render a timeline: one dated line per statement, oldest first, then the verbatim sources."""
    if not timeline.answered:
        return render_answer(timeline)
    lines = [_wrap(f"({notice})") for notice in timeline.notices] + [f"Timeline: {timeline.question}", ""]
    for point in timeline.points:
        markers = "".join(f"[{n}]" for n in point.citations)
        speaker = f"{safe_line(point.speaker)}: " if point.speaker else ""
        note = f" ({point.note})" if point.note else ""
        lines.append(_wrap(f"{point.date or 'undated':<10}  {speaker}{point.text} {markers}{note}"))
    lines.append("")
    for note in timeline.notes:
        lines.append(_wrap(f"Note: {note}"))
    lines.append("Sources:")
    for citation in timeline.citations:
        lines.append(f"  [{citation.n}] {source_label(citation)}")
        lines += _url_line(citation)
    if timeline.as_of:
        lines.append(f"As of {timeline.as_of}.")
    return "\n".join(lines)


def render_hits(query: str, hits: Sequence[Hit]) -> str:
    """Render ranked passages with scores and sources."""
    if not hits:
        return f"No passages for {query!r}."
    lines = [f"Passages for {query!r}:"]
    for hit in hits:
        lines.append(f"{hit.rank:>2}. [{hit.score:.4f}] {source_label(hit.source)}  ({hit.chunk.chunk_id})")
        lines.append(_wrap(hit.chunk.text, "      "))
        lines += _url_line(hit.source)
    return "\n".join(lines)


def render_sources(infos: Sequence[SourceInfo]) -> str:
    """Render the corpus, one article a line."""
    lines = [f"{len(infos)} articles:"]
    for info in infos:
        lines.append(safe_line(f"  {info.date or 'undated':<10}  {info.source_id}  {info.title or '(untitled)'}"))
    return "\n".join(lines)


def render_source(view: SourceView) -> str:
    """Render one article: title, date and id, where its metadata came from, its clean text and its passages."""
    info = view.info
    lines = [safe_line(info.title or "(untitled)"), safe_line(f"{info.date or 'undated'} - {info.source_id}"
             + (f" - {info.outlet}" if info.outlet else "") + (f" - by {info.author}" if info.author else "")),
             *_url_line(info, "")]
    provenance = ", ".join(f"{k} from {v}" for k, v in view.article.provenance)
    if provenance:
        lines.append(safe_line(f"({provenance})"))
    lines += ["", view.article.clean_text]
    removed = [(kind, view.article.span_text(span)) for kind, span in view.article.noise
               if kind not in ("title", "dateline", "metadata")]
    if removed:
        chars = sum(len(text) for _, text in removed)
        lines += ["", f"Left out as page chrome: {len(removed)} blocks, {chars:,} characters (signal: text):"]
        for kind, text in removed:
            shown = safe_line(" ".join(text.split()))
            lines.append(f"  [{kind.removeprefix('chrome: ')}] {shown if len(shown) <= 90 else shown[:89] + '…'}")
    lines += ["", f"{len(view.chunks)} passages:"]
    for chunk in view.chunks:
        preview = chunk.text if len(chunk.text) <= 90 else chunk.text[:89] + "…"
        lines.append(safe_line(f"  {chunk.chunk_id} [{chunk.start}:{chunk.end}] {preview}"))
    return "\n".join(lines)


def _line(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cited(source: SourceCount) -> str:
    return f"{source.source_id}" + (f" {_line(source.title, 50)}" if source.title else "")


def render_question_report(report: QuestionReport, groups: int = 10) -> str:
    """Render the question report's summary for a terminal: totals, declines, the largest gaps, what was rated down."""
    if not report.asked:
        return "\n".join(["No questions logged in this period.", *report.notes])

    def share(part: int) -> str:
        return f"{100 * part / report.asked:.0f}%"

    latency = ", ".join(f"p{p} {v:g} ms" for p, v in report.latency.percentiles)
    lines = [
        f"Questions {report.since} to {report.until} (UTC): {report.asked} asked by {report.askers} people, "
        f"{report.answered} answered ({share(report.answered)}), {report.declined} declined "
        f"({share(report.declined)}); votes: {report.votes_up} up, {report.votes_down} down",
        "Where: " + ", ".join(f"{kind} {count}" for kind, count in report.channels),
        f"Latency: {latency}, max {report.latency.maximum:g} ms",
        *report.notes,
    ]
    if report.rules:
        lines += ["", "Declined, by rule:"]
        lines += [f"  {r.count:>6}  {r.rule:<18} {_line(r.reason, 70)}" for r in report.rules]
    gaps = report.gaps
    if gaps.groups:
        lines += ["", f"Unanswered, grouped by subject ({gaps.group_count} groups; {gaps.ungrouped} questions too "
                      "rare to group):"]
        for gap in gaps.groups[:groups]:
            lines.append(f"  {gap.size:>6}x {_line(gap.examples[0])}")
            lines += [f"          also: {_line(example, 80)}" for example in gap.examples[1:]]
            if gap.passages:
                closest = gap.passages[0]
                lines.append(f"          closest: {closest.source_id} {_line(closest.title or 'Untitled', 50)} "
                             f"({closest.date or 'undated'})")
    if report.rated_down:
        lines += ["", "Rated down:"]
        for row in report.rated_down[:10]:
            lines.append(f"  {row.votes_down:>3} down {row.votes_up:>3} up  {row.asked_at[:10]}  "
                         f"{_line(row.question, 60)}")
            if row.sources:
                lines.append("          cited: " + "; ".join(_cited(s) for s in row.sources[:3]))
    if report.sources:
        lines += ["", "Most cited sources:"]
        lines += [f"  {s.count:>6}  {_cited(s)}" for s in report.sources[:10]]
    return "\n".join(lines)


def render_whatsnew(found: WhatsNew) -> str:
    """Render what is new since a day: newest first, each statement with what it changes and its verbatim sources."""
    about = f" on “{safe_line(found.topic)}”" if found.topic else ""
    lines = [f"What is new{about} since {found.since} ({found.articles} articles of the period):", ""]
    if not found.changes:
        lines.append("Nothing new" + (" on this topic." if found.topic else "."))
    for change in found.changes:
        speaker = f"{safe_line(change.speaker)}: " if change.speaker else ""
        lines.append(_wrap(f"{change.date or 'undated':<10}  [{change.kind}] {speaker}{change.text}"))
        if change.note:
            lines.append(_wrap(f"({change.note})", "            "))
        for citation in change.citations:
            lines.append(f"            {source_label(citation)}" + (f" - {safe_line(citation.outlet)}"
                                                                     if citation.outlet else ""))
            lines += _url_line(citation, "            ")
        for citation in change.before:
            lines.append(_wrap(f"before, {citation.date or 'undated'}: “{citation.quote}” ({citation.source_id})",
                               "            "))
    lines += [_wrap(f"Note: {note}") for note in found.notes]
    return "\n".join(lines).rstrip()


def render_watch_status(states: Sequence[SourceState], now: float) -> str:
    """Render each watched source: last success, next poll, articles added, updated, removed, and its last error."""
    if not states:
        return "No sources are watched: set NEWSBOT_WATCH or NEWSBOT_WATCH_FILE (docs/watch.md)."
    lines = []
    for state in states:
        lines.append(safe_line(state.url))
        due = "now" if state.next_poll <= now else f"in {_ago(state.next_poll - now)}"
        last = f"{_ago(now - state.last_success)} ago" if state.last_success else "never"
        lines.append(f"    last success {last}; next poll {due}; added {state.added}, updated {state.updated}, "
                     f"removed {state.removed}")
        if state.failures:
            lines.append(f"    {state.failures} failures in a row; last: {safe_line(state.last_error or '')}")
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
