"""Pure formatting for Discord: answers, passages, sources and notices as embeds and text within Discord's limits."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import discord

from bot.discord_bot.limits import (
    CHOICE_COUNT_LIMIT,
    CHOICE_NAME_LIMIT,
    CHOICE_VALUE_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    ELLIPSIS,
    EMPTY,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_FLOOR,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    fit_embed,
    md,
    one_line,
    paginate,
    plain,
    shorten,
    split_text,
)
from embeddings.errors import NewsbotError

if TYPE_CHECKING:
    from bot.answer.gaps import Gaps
    from bot.answer.types import Answer, Citation, SourceView
    from embeddings.records import BuildReport, Hit, SourceInfo

_FULL_TEXT_PAGE = 4000
MAX_FULL_TEXT_PAGES = 10
_LEAD_CHARS = 350
# Longer article URLs are shown nowhere rather than eating an embed's 6000 characters.
_MAX_LINK = 500

ANSWER_COLOUR = discord.Colour.blue()
LEADS_COLOUR = discord.Colour.light_grey()
INFO_COLOUR = discord.Colour.dark_teal()

NO_QUESTION = "Ask me a question about the news, for example: “What did the minister say about the budget?”"
BUSY = "I'm busy with other questions right now: please try again in a moment."
NO_PERMISSION = "Only members with the Manage Server permission can reindex."
NO_GAPS_PERMISSION = "Only members with the Manage Server permission can see what readers asked."
QUESTION_LOG_OFF = "The question log is off (NEWSBOT_QUESTION_LOG=off): there are no questions to look at."
REINDEX_RUNNING = "A reindex is already running: its result will be posted when it ends."
NOTICE_FIELD = "ℹ️ Note"
FEEDBACK_THANKS = {1: "Thanks: noted that this answer helped 👍", -1: "Thanks: noted that this answer did not help 👎"}

_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):/(/)")
_ABSOLUTE_PATH = re.compile(r"(?<![\w./\\])(?:[A-Za-z]:\\|/)(?:[^\s'\"`:/\\]+[/\\])+([^\s'\"`:/\\]+)")


# --------------------------------------------------------------------------- labels


def source_label(title: str | None, date: str | None, source_id: str, *, prefix: str = "", suffix: str = "",
                 limit: int = FIELD_NAME_FLOOR) -> str:
    """Return 'prefix title - date - source_id suffix', shortening only the title so the id always shows."""
    tail = f" - {date or 'undated'} - {source_id}{suffix}"
    room = limit - len(prefix) - len(tail)
    if room < 8:
        return shorten(f"{prefix}{source_id}{suffix}", limit)
    return f"{prefix}{shorten(md(one_line(title or 'Untitled')), room)}{tail}"


def citation_name(citation: Citation) -> str:
    """Return a citation's field name: '[n] title - date - source_id', with the speaker when known."""
    suffix = f" ({citation.speaker})" if citation.speaker else ""
    return source_label(citation.title, dated(citation), citation.source_id, prefix=f"[{citation.n}] ", suffix=suffix)


def dated(citation: Citation) -> str | None:
    """Return a citation's date, with the day of its article's last update when it was updated."""
    return f"{citation.date or 'undated'}, updated {citation.updated}" if citation.updated else citation.date


def copies_line(citation: Citation) -> str:
    """Return '\nalso: outlet, outlet' for a story other outlets ran too (linked where they have a URL), else ''."""
    if not citation.copies:
        return ""
    return "\nalso: " + ", ".join(linked(outlet or "another outlet", url, 60) for outlet, url in citation.copies[:5])


def link_target(url: str | None) -> str | None:
    """Return an article URL fit for an embed link (http(s), no spaces, not overlong), or None."""
    if not url or len(url) > _MAX_LINK or not re.match(r"https?://[^\s/]+", url) or re.search(r"\s", url):
        return None
    return url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def linked(text: str, url: str | None, limit: int = 200) -> str:
    """Return text as a markdown link to the article when it has a URL, else as plain escaped text."""
    label = shorten(md(one_line(text) or "Untitled"), limit)  # md escapes every bracket: none ends the label early
    target = link_target(url)
    return f"[{label}]({target})" if target else label


def citation_field(citation: Citation) -> tuple[str, str]:
    """Return a citation's field: its name, and its verbatim quote (under the title, linked to the article)."""
    also = copies_line(citation)
    if link_target(citation.url) is None:
        return citation_name(citation), quote_block(citation.quote, FIELD_VALUE_LIMIT - len(also)) + also
    suffix = f" ({citation.speaker})" if citation.speaker else ""
    name = shorten(f"[{citation.n}] {dated(citation) or 'undated'} - {citation.source_id}{suffix}", FIELD_NAME_FLOOR)
    head = linked(citation.title or "Untitled", citation.url)
    return name, f"{head}\n{quote_block(citation.quote, FIELD_VALUE_LIMIT - len(head) - 1 - len(also))}{also}"


def quote_block(text: str, limit: int = FIELD_VALUE_LIMIT) -> str:
    """Return text as a markdown block quote of at most `limit` characters."""
    body = md(text.strip()).replace("\n", "\n> ")
    return "> " + shorten(body, max(1, limit - 2)) if body else EMPTY


def hit_name(hit: Hit, *, with_score: bool = False) -> str:
    """Return a passage's label: rank, optional score, title, date and source id."""
    score = f"{hit.score:.4f} · " if with_score else ""
    return source_label(hit.source.title, hit.source.date, hit.chunk.source_id, prefix=f"#{hit.rank} · {score}")


# --------------------------------------------------------------------------- answers


def answer_embed(answer: Answer) -> discord.Embed:
    """Return the reply to a question: answer text with [n] markers, one field per verbatim citation, as-of footer."""
    if not answer.answered:
        return leads_embed(answer)
    embed = discord.Embed(title=shorten(one_line(answer.question) or "Question", TITLE_LIMIT),
                          description=shorten(md(answer.answer), DESCRIPTION_LIMIT), colour=ANSWER_COLOUR)
    _add_notices(embed, answer)
    if answer.notes:
        embed.add_field(name="⚠️ Sources differ", value=shorten(md("\n".join(answer.notes)), FIELD_VALUE_LIMIT),
                        inline=False)
    citations = list(answer.citations)
    slots = FIELD_COUNT_LIMIT - len(embed.fields)
    shown = citations if len(citations) <= slots else citations[: slots - 1]
    for citation in shown:
        name, value = citation_field(citation)
        embed.add_field(name=name, value=value, inline=False)
    hidden = citations[len(shown):]
    if hidden:
        listed = ", ".join(f"[{c.n}] {c.source_id}" for c in hidden)
        embed.add_field(name=f"{ELLIPSIS} and {len(hidden)} more citations", value=shorten(listed, FIELD_VALUE_LIMIT),
                        inline=False)
    embed.set_footer(text=f"as of {answer.as_of}" if answer.as_of else "as of: the cited articles are undated")
    return fit_embed(embed)


def timeline_embed(timeline: Answer) -> discord.Embed:
    """Return a timeline: one dated line per statement, oldest first, then each citation's source."""
    if not timeline.answered:
        return leads_embed(timeline)
    lines = []
    for point in timeline.points:
        markers = "".join(f"[{n}]" for n in point.citations)
        speaker = f"{point.speaker}: " if point.speaker else ""
        lines.append(f"**{point.date or 'undated'}** {md(speaker + point.text)} {markers}")
    lines = lines or [md(timeline.answer)]
    embed = discord.Embed(title=shorten(f"Timeline: {one_line(timeline.question)}", TITLE_LIMIT),
                          description=shorten("\n".join(lines), DESCRIPTION_LIMIT), colour=ANSWER_COLOUR)
    _add_notices(embed, timeline)
    if timeline.notes:
        embed.add_field(name="⚠️ Sources differ", value=shorten(md("\n".join(timeline.notes)), FIELD_VALUE_LIMIT),
                        inline=False)
    sources = "\n".join(f"[{c.n}] {linked(c.title or 'untitled', c.url, 120)} - {c.date or 'undated'} - "
                        f"{md(c.source_id)}" for c in timeline.citations)
    embed.add_field(name="Sources", value=shorten(sources, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text=f"as of {timeline.as_of}" if timeline.as_of else "as of: undated articles")
    return fit_embed(embed)


def leads_embed(answer: Answer) -> discord.Embed:
    """Return the reply when the articles don't answer: say so, and show the closest passages as leads."""
    description = md(answer.answer)
    if answer.leads:
        description += "\nThe closest passages are below: they are leads, not an answer."
    embed = discord.Embed(title=shorten(one_line(answer.question) or "Question", TITLE_LIMIT),
                          description=description, colour=LEADS_COLOUR)
    _add_notices(embed, answer)
    for hit in answer.leads[: FIELD_COUNT_LIMIT - len(embed.fields)]:
        embed.add_field(name=hit_name(hit), value=quote_block(hit.chunk.text, _LEAD_CHARS), inline=False)
    if answer.leads:
        embed.set_footer(text="No answer found in the articles. Use “Passages” to read the leads in full.")
    return fit_embed(embed)


def _add_notices(embed: discord.Embed, answer: Answer) -> None:
    """Add how the question was read (cut to the length limit, not in English) as the first field."""
    if answer.notices:
        embed.add_field(name=NOTICE_FIELD, value=shorten(md("\n".join(answer.notices)), FIELD_VALUE_LIMIT),
                        inline=False)


def answer_source_ids(answer: Answer) -> list[str]:
    """Return the distinct source ids an answer cites, in citation order."""
    return list(dict.fromkeys(c.source_id for c in answer.citations))


def passages_embeds(hits: Sequence[Hit]) -> list[discord.Embed]:
    """Return one embed per retrieved passage, with its full text."""
    embeds = []
    for hit in hits:
        title = md(one_line(hit.source.title or "Untitled"))
        embed = discord.Embed(title=shorten(f"#{hit.rank} · {title}", TITLE_LIMIT),
                              description=shorten(md(hit.chunk.text), DESCRIPTION_LIMIT), colour=INFO_COLOUR,
                              url=link_target(hit.source.url))
        embed.set_footer(text=f"{hit.chunk.source_id} · {hit.source.date or 'undated'} · {hit.chunk.chunk_id} · "
                              f"score {hit.score:.4f}")
        embeds.append(fit_embed(embed))
    return embeds


def passages_pages(hits: Sequence[Hit]) -> list[list[discord.Embed]]:
    """Return the retrieved passages as messages that each fit Discord's limits."""
    if not hits:
        return [[discord.Embed(description="No passages were retrieved for this question.", colour=INFO_COLOUR)]]
    return paginate(passages_embeds(hits))


# --------------------------------------------------------------------------- search and sources


def search_embed(query: str, hits: Sequence[Hit]) -> discord.Embed:
    """Return ranked passages for a query, with scores and sources."""
    embed = discord.Embed(title=shorten(f"Search: {one_line(query)}", TITLE_LIMIT), colour=INFO_COLOUR)
    if not hits:
        embed.description = "No passages found."
        return fit_embed(embed)
    embed.description = f"{len(hits)} passages, best first (rank · score · title - date - source id)."
    for hit in hits[:FIELD_COUNT_LIMIT]:
        embed.add_field(name=hit_name(hit, with_score=True), value=quote_block(hit.chunk.text), inline=False)
    return fit_embed(embed)


def source_embed(view: SourceView) -> discord.Embed:
    """Return one article: metadata, where each value comes from, and its passages."""
    info = view.info
    lines = [f"**Source id:** `{info.source_id}`", f"**Date:** {info.date or 'unknown'}"]
    if info.outlet:
        lines.append(f"**Outlet:** {md(info.outlet)}")
    if info.author:
        lines.append(f"**Author:** {md(info.author)}")
    provenance = dict(view.article.provenance)
    if provenance:
        lines.append("**Metadata from:** " + "; ".join(f"{k}: {md(v)}" for k, v in provenance.items()))
    lines.append(f"**Passages:** {len(view.chunks)} · **Length:** {len(view.article.clean_text)} characters")
    embed = discord.Embed(title=shorten(md(one_line(info.title or info.source_id)), TITLE_LIMIT),
                          description=shorten("\n".join(lines), DESCRIPTION_LIMIT), colour=INFO_COLOUR,
                          url=link_target(info.url))
    chunks = list(view.chunks)
    shown = chunks if len(chunks) <= FIELD_COUNT_LIMIT else chunks[: FIELD_COUNT_LIMIT - 1]
    for chunk in shown:
        embed.add_field(name=f"{chunk.chunk_id} · characters {chunk.start}-{chunk.end}",
                        value=quote_block(chunk.text), inline=False)
    if len(shown) < len(chunks):
        embed.add_field(name=f"{ELLIPSIS} and {len(chunks) - len(shown)} more passages",
                        value="Use “Full text” to read the whole article.", inline=False)
    embed.set_footer(text="“Full text” shows the cleaned article text, visible only to you.")
    return fit_embed(embed)


def full_text_embeds(view: SourceView) -> list[discord.Embed]:
    """Return the cleaned article text as embeds, one per message, each within limits."""
    info = view.info
    parts = split_text(md(view.article.clean_text), _FULL_TEXT_PAGE) or ["(this article has no text)"]
    truncated = len(parts) > MAX_FULL_TEXT_PAGES
    if truncated:
        parts = parts[:MAX_FULL_TEXT_PAGES]
        parts[-1] = shorten(parts[-1], _FULL_TEXT_PAGE - 80) + (
            f"\n\n*(cut here: the article is longer; see `newsbot source {info.source_id}`)*")
    embeds = []
    for number, part in enumerate(parts, start=1):
        title = md(one_line(info.title or info.source_id))
        title = shorten(f"Full text: {title}", TITLE_LIMIT) if number == 1 else None
        embed = discord.Embed(title=title, description=part, colour=INFO_COLOUR,
                              url=link_target(info.url) if number == 1 else None)
        embed.set_footer(text=f"{info.source_id} · {info.date or 'undated'} · part {number}/{len(parts)}")
        embeds.append(fit_embed(embed))
    return embeds


def sources_embed(infos: Sequence[SourceInfo]) -> discord.Embed:
    """Return the corpus, newest first, one line per article with its date and id."""
    embed = discord.Embed(title=f"Sources ({len(infos)} articles)", colour=INFO_COLOUR)
    lines: list[str] = []
    size = 0
    for position, info in enumerate(infos):
        line = f"`{info.date or 'undated'}` {shorten(md(one_line(info.title or 'Untitled')), 150)} · `{info.source_id}`"
        more = f"{ELLIPSIS} and {len(infos) - position} more: use /source to look one up."
        if size + len(line) + 1 > DESCRIPTION_LIMIT - len(more) - 1:
            lines.append(more)
            break
        lines.append(line)
        size += len(line) + 1
    embed.description = "\n".join(lines) if lines else "The index has no articles."
    embed.set_footer(text="/source <id> shows one article and its passages.")
    return fit_embed(embed)


def source_choices(infos: Sequence[SourceInfo], current: str) -> list[tuple[str, str]]:
    """Return up to 25 (name, source id) autocomplete choices matching what was typed, best first."""
    needle = one_line(current).casefold()

    def rank(info: SourceInfo) -> int | None:
        if not needle:
            return 3
        source_id, title = info.source_id.casefold(), (info.title or "").casefold()
        if source_id.startswith(needle):
            return 0
        if any(word.startswith(needle) for word in title.split()) or title.startswith(needle):
            return 1
        if needle in source_id or needle in title:
            return 2
        return None

    ranked = [(r, position, info) for position, info in enumerate(infos) if (r := rank(info)) is not None]
    ranked.sort(key=lambda item: (item[0], item[1]))
    choices = []
    for _, _, info in ranked[:CHOICE_COUNT_LIMIT]:
        if len(info.source_id) > CHOICE_VALUE_LIMIT:
            continue
        tail = f" · {info.date or 'undated'} · {info.source_id}"
        room = CHOICE_NAME_LIMIT - len(tail)
        name = (shorten(plain(one_line(info.title or "Untitled")), room) + tail) if room >= 8 else shorten(
            info.source_id, CHOICE_NAME_LIMIT)
        choices.append((name, info.source_id))
    return choices


# --------------------------------------------------------------------------- about and reindex

_ABOUT_FIELDS = (("model", "Model"), ("dimension", "Dimensions"), ("articles", "Articles"), ("passages", "Passages"),
                 ("retrieval", "Retrieval"), ("index_built", "Index built"))
_SECRET = re.compile(r"token|secret|password|credential|api_?key", re.IGNORECASE)


def about_embed(about: Mapping[str, object]) -> discord.Embed:
    """Return what the bot runs on: model, passages and the corpus's date range (never settings or secrets)."""
    embed = discord.Embed(title="About newsbot", colour=INFO_COLOUR,
                          description="I answer questions from the indexed news articles and cite them verbatim.")
    for key, label in _ABOUT_FIELDS:
        if about.get(key) is not None:
            embed.add_field(name=label, value=shorten(md(str(about[key])), FIELD_VALUE_LIMIT), inline=True)
    first, last = about.get("first_date"), about.get("last_date")
    embed.add_field(name="Corpus dates", value=f"{first} to {last}" if first or last else "undated", inline=True)
    known = {key for key, _ in _ABOUT_FIELDS} | {"first_date", "last_date"}
    for key, value in about.items():
        if key in known or _SECRET.search(key) or not isinstance(value, str | int | float | bool) or value is None:
            continue
        if len(embed.fields) >= FIELD_COUNT_LIMIT:
            break
        embed.add_field(name=shorten(key.replace("_", " ").capitalize(), FIELD_NAME_LIMIT),
                        value=shorten(md(str(value)), FIELD_VALUE_LIMIT), inline=True)
    return fit_embed(embed)


def reindex_text(report: BuildReport) -> str:
    """Return what a reindex changed, in a message of at most 2000 characters (no file paths)."""
    if report.up_to_date:
        text = f"The index was already up to date: {len(report.unchanged)} articles, {report.chunks} passages."
    else:
        parts = [f"{label} {len(ids)} ({', '.join(f'`{i}`' for i in ids)})"
                 for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed))
                 if ids]
        text = (f"Index updated: {'; '.join(parts) or 'rebuilt'}. "
                f"Now {report.chunks} passages; {report.embedded} passages embedded.")
    if report.warnings:
        text += f"\n{len(report.warnings)} warnings:\n" + "\n".join(f"- {md(one_line(w))}" for w in report.warnings)
    return shorten(text, CONTENT_LIMIT)


# --------------------------------------------------------------------------- gaps


def unlinked(text: str) -> str:
    """Return text escaped and on one line, with every URL broken so that Discord shows no link."""
    return _SCHEME.sub("\\1:/\u200b\\2", md(one_line(text)))


def gaps_embed(asked: int, declined: int, gaps: Gaps, days: int) -> discord.Embed:
    """Return the largest groups of the unanswered questions of the last `days` days, with the closest article
    each, link-free (questions are quoted as typed)."""
    title = f"Unanswered questions, last {days} days"
    if not declined:
        text = f"All {asked} questions were answered." if asked else "No questions were asked."
        return fit_embed(discord.Embed(title=title, description=text, colour=INFO_COLOUR))
    embed = discord.Embed(title=title, colour=LEADS_COLOUR, description=(
        f"{declined} of {asked} questions were not answered: {gaps.group_count} subjects, the most asked first, "
        "each with the closest article the archive has. `newsbot report` shows everything."))
    shown = gaps.groups[:10]
    for gap in shown:
        lines = [f"also: “{shorten(unlinked(example), 150)}”" for example in gap.examples[1:]]
        closest = gap.passages[0] if gap.passages else None
        lines.append(f"closest: {shorten(unlinked(closest.title or 'Untitled'), 120)} - {closest.date or 'undated'}"
                     f" - `{closest.source_id}`" if closest else "closest: nothing in the archive")
        lines.append("declined: " + ", ".join(f"{rule} {count}" for rule, count in gap.rules))
        embed.add_field(name=shorten(f"{gap.size}× {unlinked(gap.examples[0])}", FIELD_NAME_FLOOR),
                        value=shorten("\n".join(lines), FIELD_VALUE_LIMIT), inline=False)
    more = [f"{gaps.group_count - len(shown)} more subjects"] * (gaps.group_count > len(shown)) + [
        f"{gaps.ungrouped} questions asked too rarely to group"] * (gaps.ungrouped > 0)
    if more:
        embed.set_footer(text="and " + "; ".join(more))
    return fit_embed(embed)


# --------------------------------------------------------------------------- notices


def error_id_text(error_id: str) -> str:
    """Return the apology shown for an unexpected error."""
    return f"Sorry, something went wrong on my side. If it persists, tell the admins: error id `{error_id}`."


def newsbot_error_text(error: NewsbotError) -> str:
    """Return a newsbot error as the short message users see, with server paths cut to their last part."""
    text = _ABSOLUTE_PATH.sub(lambda m: f"{ELLIPSIS}/{m.group(1)}", one_line(str(error)) or type(error).__name__)
    return shorten(text, 300)


def cooldown_text(retry_after: float) -> str:
    """Return the note for a user who asks again too soon."""
    return f"Please wait {max(1, math.ceil(retry_after))}s before asking again."


def feedback_failed_text(error_id: str) -> str:
    """Return the note shown when feedback could not be saved."""
    return f"Sorry, I couldn't save your feedback (error id `{error_id}`)."
