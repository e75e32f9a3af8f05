"""The question report as one self-contained HTML page: inline CSS and SVG charts, no script, nothing fetched when it
is viewed (its Content-Security-Policy forbids it), every text from the log escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from bot.answer.gaps import Gap
from bot.answer.questionreport import DayCount, QuestionReport, SourceCount

ANSWERED_COLOUR = "#2f6db5"
DECLINED_COLOUR = "#e07b39"
BAR_COLOUR = "#5b8a72"
WIDTH = 760

STYLE = f"""
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; margin: 0;
       background: #f6f7f9; }}
main {{ max-width: {WIDTH + 40}px; margin: 0 auto; padding: 24px 20px 48px; }}
h1 {{ font-size: 26px; margin: 0 0 4px; }} h2 {{ font-size: 19px; margin: 0 0 12px; }}
section {{ background: #fff; border: 1px solid #dfe3e8; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }}
.period, .note, footer {{ color: #5a6472; }} .note {{ font-size: 13px; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.card {{ flex: 1 1 120px; border-radius: 6px; background: #f1f4f8; padding: 10px 12px; }}
.card b {{ display: block; font-size: 24px; }}
.legend span {{ display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin: 0 4px 0 12px;
               vertical-align: -1px; }}
svg {{ display: block; max-width: 100%; height: auto; }} svg text {{ font-size: 12px; fill: #3b4552; }}
.gap {{ border-top: 1px solid #e6e9ee; padding: 10px 0; }} .gap:first-of-type {{ border-top: 0; }}
.size {{ display: inline-block; min-width: 44px; font-weight: 700; color: {DECLINED_COLOUR}; }}
.gap ul {{ margin: 6px 0 0 44px; padding: 0; list-style: none; }}
.gap li {{ margin: 4px 0; }} .gap .passage {{ font-size: 13px; color: #3b4552; }}
.rules {{ font-size: 12px; color: #5a6472; margin-left: 8px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ text-align: left; padding: 6px 8px; border-top: 1px solid #e6e9ee; vertical-align: top; }}
th {{ color: #5a6472; font-weight: 600; }} td.num, td.day {{ text-align: right; white-space: nowrap; }}
code {{ font-size: 12px; }}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _nice(top: float) -> float:
    """Return a round number at or above top, for an axis."""
    if top <= 0:
        return 1.0
    step = 10 ** len(str(int(top))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= top:
            return step * factor
    return top


def _axis(x0: int, x1: int, y0: int, height: int, top: float, label: str = "") -> list[str]:
    """Horizontal grid lines at 0, half and the top of a vertical axis."""
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = y0 - fraction * height
        value = top * fraction
        text = f"{value:.0f}{label}" if value >= 10 or value == int(value) else f"{value:.1f}{label}"
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ec"/>'
                     f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    return parts


def _day_labels(days: Sequence[DayCount], x0: float, step: float, y: int) -> list[str]:
    picks = sorted({0, len(days) // 2, len(days) - 1})
    return [f'<text x="{x0 + (i + 0.5) * step:.1f}" y="{y}" text-anchor="middle">{_e(days[i].day)}</text>'
            for i in picks]


def per_day_chart(days: Sequence[DayCount], period: str) -> str:
    """Return stacked bars of answered and declined questions per day (or week)."""
    if not days:
        return '<p class="note">No questions in this period.</p>'
    x0, y0, width, height = 48, 190, WIDTH - 60, 170
    top = _nice(max(d.asked for d in days))
    step = width / len(days)
    bar = min(36.0, step * 0.85)
    parts = _axis(x0, x0 + width, y0, height, top)
    for i, day in enumerate(days):
        x = x0 + i * step + (step - bar) / 2
        answered_h = height * day.answered / top
        declined_h = height * day.declined / top
        tip = f"{period} of {day.day}: {day.asked} asked, {day.answered} answered, {day.declined} declined"
        parts.append(f'<g class="day" data-day="{_e(day.day)}" data-asked="{day.asked}"><title>{_e(tip)}</title>'
                     f'<rect class="answered" x="{x:.1f}" y="{y0 - answered_h:.1f}" width="{bar:.1f}" '
                     f'height="{answered_h:.1f}" fill="{ANSWERED_COLOUR}"/>'
                     f'<rect class="declined" x="{x:.1f}" y="{y0 - answered_h - declined_h:.1f}" '
                     f'width="{bar:.1f}" height="{declined_h:.1f}" fill="{DECLINED_COLOUR}"/></g>')
    parts += _day_labels(days, x0, step, y0 + 18)
    return _svg(WIDTH, 215, f"Questions per {period}: answered and declined", parts)


def share_chart(days: Sequence[DayCount], period: str) -> str:
    """Return the answered share per day (or week) as a line, days without questions left out."""
    points = [(i, d.answered_share) for i, d in enumerate(days) if d.answered_share is not None]
    if not points:
        return '<p class="note">No questions in this period.</p>'
    x0, y0, width, height = 48, 190, WIDTH - 60, 170
    step = width / len(days)
    parts = _axis(x0, x0 + width, y0, height, 100, "%")
    xy = [(x0 + (i + 0.5) * step, y0 - height * share) for i, share in points]
    parts.append(f'<polyline fill="none" stroke="{ANSWERED_COLOUR}" stroke-width="2" '
                 f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in xy)}"/>')
    for (i, share), (x, y) in zip(points, xy, strict=True):
        tip = f"{period} of {days[i].day}: {share:.0%} answered ({days[i].answered} of {days[i].asked})"
        parts.append(f'<circle class="share" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{ANSWERED_COLOUR}" '
                     f'data-day="{_e(days[i].day)}" data-share="{share:.4f}"><title>{_e(tip)}</title></circle>')
    parts += _day_labels(days, x0, step, y0 + 18)
    return _svg(WIDTH, 215, f"Answered share per {period}", parts)


def bar_chart(items: Sequence[tuple[str, float]], title: str, css: str, colour: str = BAR_COLOUR,
              unit: str = "") -> str:
    """Return horizontal bars, one a row: a label, a bar and its value."""
    if not items:
        return '<p class="note">Nothing to show.</p>'
    label_w, row_h = 250, 26
    width = WIDTH - label_w - 70
    top = max(value for _, value in items) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row_h + 4
        bar = width * value / top
        shown = label if len(label) <= 38 else label[:37] + "…"
        parts.append(f'<g class="{css}" data-label="{_e(label)}" data-value="{value:g}"><title>{_e(label)}: '
                     f'{value:g}{unit}</title><text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_e(shown)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{max(bar, 1):.1f}" height="{row_h - 8}" fill="{colour}"/>'
                     f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}">{value:g}{unit}</text></g>')
    return _svg(WIDTH, len(items) * row_h + 8, title, parts)


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>{"".join(parts)}</svg>')


def _source(source: SourceCount) -> str:
    title = f" {_e(source.title)}" if source.title else ""
    return f"<code>{_e(source.source_id)}</code>{title}{f' ({_e(source.date)})' if source.date else ''}"


def _gap(gap: Gap) -> str:
    rules = ", ".join(f"{_e(rule)} {count}" for rule, count in gap.rules)
    also = "".join(f"<li>also: “{_e(example)}”</li>" for example in gap.examples[1:])
    passages = "".join(
        f'<li class="passage">closest: <code>{_e(p.source_id)}</code> {_e(p.title or "Untitled")} '
        f'({_e(p.date or "undated")}): “{_e(p.text)}”</li>' for p in gap.passages) or (
        '<li class="passage">no passage found</li>')
    return (f'<div class="gap" data-size="{gap.size}"><span class="size">{gap.size}×</span> '
            f'<b>{_e(gap.examples[0])}</b><span class="rules">last asked {_e(gap.last_asked[:10])}; declined by '
            f'{rules}</span><ul>{also}{passages}</ul></div>')


def render_page(report: QuestionReport, generated: datetime | None = None) -> str:
    """Return the report as a self-contained HTML page."""
    generated = generated or datetime.now(UTC)
    period = f"{report.since or '…'} to {report.until or '…'}"
    latency = dict(report.latency.percentiles)
    cards = [("Asked", f"{report.asked:,}"),
             ("Answered", f"{report.answered:,} ({_percent(report.answered, report.asked)})"),
             ("Declined", f"{report.declined:,} ({_percent(report.declined, report.asked)})"),
             ("People", f"{report.askers:,}"), ("Votes", f"{report.votes_up} up, {report.votes_down} down"),
             ("Median answer", f"{latency[50]:g} ms" if 50 in latency else "-")]
    gaps = report.gaps
    rows = "".join(
        f'<tr class="rated-down"><td class="num">{r.votes_down} down, {r.votes_up} up</td>'
        f'<td class="day">{_e(r.asked_at[:10])}</td><td>{_e(r.question)}'
        + (f'<br><span class="note">read as: {_e(r.reading)}</span>' if r.reading else "")
        + f'</td><td>{"<br>".join(_source(s) for s in r.sources) or "no citations"}</td></tr>'
        for r in report.rated_down)
    sources = [(f"{s.source_id} {s.title or ''}".strip(), float(s.count)) for s in report.sources]
    body = [
        f'<header><h1>What readers asked</h1><p class="period">Questions asked {_e(period)} (UTC); '
        f'{_e(", ".join(f"{kind} {count}" for kind, count in report.channels) or "none")}.</p></header>',
        *(f'<p class="note">{_e(note)}</p>' for note in report.notes),
        '<section id="totals"><div class="cards">'
        + "".join(f'<div class="card" data-name="{_e(n)}">{_e(n)}<b>{_e(v)}</b></div>' for n, v in cards)
        + "</div></section>",
        f'<section id="per-day"><h2>Questions per {report.period}</h2><p class="legend">'
        f'<span style="background:{ANSWERED_COLOUR}"></span>answered<span style="background:{DECLINED_COLOUR}">'
        f'</span>declined</p>{per_day_chart(report.days, report.period)}</section>',
        f'<section id="share"><h2>Answered share over time</h2>{share_chart(report.days, report.period)}</section>',
        '<section id="declines"><h2>Declines by rule</h2>'
        + bar_chart([(r.rule, float(r.count)) for r in report.rules], "Declines by rule", "rule", DECLINED_COLOUR)
        + ("<table><tr><th>rule</th><th>count</th><th>reason given most often</th></tr>" + "".join(
            f'<tr><td>{_e(r.rule)}</td><td class="num">{r.count}</td><td>{_e(r.reason)}</td></tr>'
            for r in report.rules) + "</table>" if report.rules else "") + "</section>",
        f'<section id="gaps"><h2>Unanswered questions, grouped by subject</h2><p class="note">{gaps.group_count} '
        f'groups, the {len(gaps.groups)} largest shown; {gaps.ungrouped} questions asked too rarely to be grouped. '
        'Each group shows its size, examples and the closest passages the archive has: a subject to cover, or a '
        'source to add.</p>' + ("".join(_gap(g) for g in gaps.groups) or '<p class="note">No unanswered questions.'
                                 '</p>') + "</section>",
        '<section id="rated-down"><h2>Answers rated down</h2>' + (
            f"<table><tr><th>votes</th><th>day</th><th>question</th><th>cited</th></tr>{rows}</table>" if rows
            else '<p class="note">No answer was voted down.</p>') + "</section>",
        '<section id="sources"><h2>Most cited sources</h2>'
        + bar_chart(sources, "Most cited sources", "source", ANSWERED_COLOUR) + "</section>",
        '<section id="latency"><h2>Latency</h2><p class="note">Time to answer, measured where the question came '
        f'in, over {report.latency.count} questions.</p>'
        + bar_chart([*((f"p{p}", v) for p, v in report.latency.percentiles),
                     *([("max", report.latency.maximum)] if report.latency.count else [])],
                    "Latency percentiles", "latency", unit=" ms") + "</section>",
        f'<footer>Made by <code>newsbot report</code> on {_e(generated.isoformat(timespec="seconds"))} from the '
        'question log. People appear only as counts: the log keeps a keyed hash of each user, never the user.</footer>',
    ]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>newsbot report: {_e(period)}</title><style>{STYLE}</style></head>\n"
            f"<body><main>{''.join(body)}</main></body></html>\n")
