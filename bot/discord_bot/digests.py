"""The embeds of following a story: a followed topic's digest (verbatim quotes, outlet, date, link), what is new
since a day, and the watched sources' status; all within Discord's limits, never a ping."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.answer.types import Answer, Citation
from bot.answer.whatsnew import WhatsNew
from bot.discord_bot.embeds import INFO_COLOUR, copies_line, dated, linked, quote_block
from bot.discord_bot.limits import (
    FIELD_COUNT_LIMIT,
    FIELD_NAME_FLOOR,
    FIELD_VALUE_LIMIT,
    fit_embed,
    md,
    one_line,
    shorten,
)
from embeddings.watch.state import SourceState

DIGEST_COLOUR = discord.Colour.gold()
NOT_WATCHING = "No sources are watched (NEWSBOT_WATCH, NEWSBOT_WATCH_FILE): there will be nothing new to post."
NO_FOLLOW_PERMISSION = "Only members with the Manage Channels permission can follow or unfollow a topic here."
NO_STATUS_PERMISSION = "Only members with the Manage Server permission can see the watched sources."
MAX_TOPIC = 200


def _source_line(citation: Citation) -> str:
    """'outlet · date (updated day) · title', the title linked to the article."""
    outlet = f"{md(one_line(citation.outlet))} · " if citation.outlet else ""
    return f"{outlet}{dated(citation) or 'undated'} · {linked(citation.title or citation.source_id, citation.url, 120)}"


def digest_embed(topic: str, answer: Answer) -> discord.Embed:
    """Return a followed topic's digest: each new statement quoted verbatim under its outlet, date and link."""
    embed = discord.Embed(title=shorten(f"New on “{one_line(topic)}”", 256), colour=DIGEST_COLOUR)
    by_number = {c.n: c for c in answer.citations}
    for point in answer.points[:FIELD_COUNT_LIMIT]:
        cited = [by_number[n] for n in point.citations if n in by_number]
        if not cited:
            continue
        lead = cited[0]
        speaker = f" ({one_line(point.speaker)})" if point.speaker else ""
        others = "".join(f"\nalso {_source_line(c)}" for c in cited[1:3])
        tail = f"\n{_source_line(lead)}{others}{copies_line(lead)}"
        name = shorten(f"{point.date or 'undated'}{speaker}", FIELD_NAME_FLOOR)
        embed.add_field(name=name, value=quote_block(lead.quote, FIELD_VALUE_LIMIT - len(tail)) + tail, inline=False)
    embed.set_footer(text="newly indexed articles · /unfollow to stop")
    return fit_embed(embed)


def whatsnew_embed(found: WhatsNew) -> discord.Embed:
    """Return what is new since a day, newest first: the kind of change, the quote, and what was said before."""
    about = f" on “{one_line(found.topic)}”" if found.topic else ""
    embed = discord.Embed(title=shorten(f"What is new{about} since {found.since}", 256), colour=INFO_COLOUR,
                          description=f"{found.articles} articles of the period." + (
                              "" if found.changes else " Nothing new" + (" on this topic." if found.topic else ".")))
    for change in found.changes[:FIELD_COUNT_LIMIT]:
        if not change.citations:
            continue
        lead = change.citations[0]
        speaker = f"{one_line(change.speaker)} " if change.speaker and change.kind == "now says" else ""
        before = "".join(f"\nbefore ({c.date or 'undated'}): {quote_block(c.quote, 200)[2:]}" for c in change.before)
        note = f"\n{md(one_line(change.note))}" if change.note else ""
        tail = f"\n{_source_line(lead)}{note}{before}"
        name = shorten(f"{change.date or 'undated'} · {speaker}{change.kind}", FIELD_NAME_FLOOR)
        embed.add_field(name=name, value=quote_block(lead.quote, FIELD_VALUE_LIMIT - len(tail)) + tail, inline=False)
    if found.notes:
        embed.set_footer(text=" ".join(found.notes))
    return fit_embed(embed)


def status_embed(states: Sequence[SourceState], now: float) -> discord.Embed:
    """Return each watched source's last success, next poll, counts and last error."""
    embed = discord.Embed(title="Watched sources", colour=INFO_COLOUR,
                          description=None if states else NOT_WATCHING)
    for state in states[:FIELD_COUNT_LIMIT]:
        last = f"<t:{int(state.last_success)}:R>" if state.last_success else "never"
        due = "now" if state.next_poll <= now else f"<t:{int(state.next_poll)}:R>"
        value = (f"last success {last} · next poll {due}\nadded {state.added}, updated {state.updated}, "
                 f"removed {state.removed}")
        if state.failures:
            value += f"\n⚠️ {state.failures} failures in a row: {md(one_line(state.last_error or ''))}"
        embed.add_field(name=shorten(one_line(state.url), FIELD_NAME_FLOOR), value=shorten(value, FIELD_VALUE_LIMIT),
                        inline=False)
    return fit_embed(embed)
