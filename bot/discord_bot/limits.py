"""Discord's limits, and text and embeds cut to fit them: pure functions, never failing on any input."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import discord

# Discord's documented limits, in characters.
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CHOICE_COUNT_LIMIT = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
THREAD_NAME_LIMIT = 100

ELLIPSIS = "…"
EMPTY = "\u200b"  # Discord rejects empty field names and values; a zero-width space renders as nothing.

# Under pressure the description keeps at least this much before fields are dropped.
_DESCRIPTION_FLOOR = 1500
FIELD_NAME_FLOOR = 128
_FIELD_VALUE_FLOOR = 120
_NOTICE_RESERVE = 40

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")
_MASS_MENTION = re.compile(r"@(everyone|here)\b")
# Discord's markdown and mention characters: emphasis, strike, spoiler, code, quote, heading, masked link, mention,
# timestamp and custom emoji (<...>), and the escape character itself.
_MARKDOWN = re.compile(r"[\\*_~`|>#\[\]()<@]")
# A line that starts a list ("- ", "+ ", "1. ") or a subtext ("-#", its "#" already escaped).
_BULLET = re.compile(r"^(\s*)([-+])(?=\s|\\#)", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
# Discord reads a backslash before any ASCII punctuation character as an escape.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# C0 and C1 controls but newline and tab, DEL, bidi embeddings, overrides, isolates and marks, line separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


# --------------------------------------------------------------------------- text primitives


def shorten(text: str, limit: int) -> str:
    """Return text cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    if limit == 1:
        return ELLIPSIS
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Prefer a word boundary unless that throws away much of the room.
    if space >= (limit - 1) * 0.7:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Split text into non-empty pieces of at most `limit` characters at paragraph, line, sentence or word breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            pieces.append(rest)
            break
        window = rest[:limit]
        cut = _break_at(window)
        piece = rest[:cut].rstrip()
        if not piece:
            piece, cut = window, limit
        if _escapes_next(piece) and cut > 1:  # an escape is never cut from the character it escapes
            piece, cut = rest[:cut - 1].rstrip(), cut - 1
        pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces


def _escapes_next(text: str) -> bool:
    """True when text ends in an unpaired backslash (an escape of what follows)."""
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _break_at(window: str) -> int:
    floor = len(window) // 2
    for separator in ("\n\n", "\n", ". ", "; ", ", ", " "):
        at = window.rfind(separator)
        if at >= floor:
            return at + len(separator)
    return len(window)


def plain(text: str) -> str:
    """Return text without control or bidi characters (each a U+FFFD): for article text in plain-text places."""
    return _UNSAFE.sub("\ufffd", text.replace("\r\n", "\n"))


def md(text: str) -> str:
    """Return article text as Discord shows it literally: never a link, a mention, a heading, a list or formatting.

    Every character of Discord's markdown and mention syntax is escaped, each one: discord.utils.escape_markdown
    escapes the first `[` of a greedy match only, so "[1] and [x](http://...)" stayed a live masked link. A bare
    URL is broken at its "://" so that it is not linked either; links come only from an article's own URL field.
    """
    text = _MARKDOWN.sub(r"\\\g<0>", plain(text))
    text = _NUMBERED.sub(r"\g<1>\\.", _BULLET.sub(r"\g<1>\\\g<2>", text))
    return text.replace("://", "\\://")


def unescape(text: str) -> str:
    """Return text as Discord shows it: md's escapes (a backslash before ASCII punctuation) removed."""
    return _ESCAPE.sub(r"\1", text)


def one_line(text: str) -> str:
    """Collapse all whitespace runs to single spaces."""
    return " ".join(text.split())


def question_from_message(content: str, bot_id: int, role_ids: Iterable[int] = ()) -> str:
    """Return the question in a message, without the bot's user or managed-role mentions."""
    roles = {str(role_id) for role_id in role_ids}
    text = _USER_MENTION.sub(lambda m: " " if m.group(1) == str(bot_id) else m.group(0), content)
    text = _ROLE_MENTION.sub(lambda m: " " if m.group(1) in roles else m.group(0), text)
    return one_line(text)


def thread_name(question: str) -> str:
    """Return a readable thread name (1-100 characters) for a question."""
    text = _USER_MENTION.sub("@user", question)
    text = _ROLE_MENTION.sub("@role", text)
    text = _CHANNEL_MENTION.sub("#channel", text)
    # Discord repeats the name in a "started a thread" message: keep @everyone/@here inert there too.
    text = _MASS_MENTION.sub("@\u200b\\1", text)
    return shorten(one_line(text), THREAD_NAME_LIMIT) or "Question"


# --------------------------------------------------------------------------- embed limits


def _embed_size(data: Mapping[str, Any]) -> int:
    size = len(data.get("title") or "") + len(data.get("description") or "")
    size += sum(len(f["name"]) + len(f["value"]) for f in data.get("fields") or [])
    size += len((data.get("footer") or {}).get("text") or "")
    size += len((data.get("author") or {}).get("name") or "")
    return size


def _cap_values(fields: list[dict[str, Any]], budget: int, floor: int) -> None:
    """Shorten the longest field values to one common cap so that they fit the budget (not below `floor`)."""
    lengths = [len(f["value"]) for f in fields]
    if sum(lengths) <= budget:
        return
    low, high = floor, max(lengths)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in lengths) <= budget:
            low = middle
        else:
            high = middle - 1
    for spec in fields:
        spec["value"] = shorten(spec["value"], low) or EMPTY


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Return a copy of the embed that respects every Discord limit, shortening or dropping parts, never failing."""
    data: dict[str, Any] = embed.to_dict()
    if data.get("title"):
        data["title"] = shorten(data["title"], TITLE_LIMIT)
    if data.get("description"):
        data["description"] = shorten(data["description"], DESCRIPTION_LIMIT)
    if data.get("footer", {}).get("text"):
        data["footer"]["text"] = shorten(data["footer"]["text"], FOOTER_LIMIT)
    if data.get("author", {}).get("name"):
        data["author"]["name"] = shorten(data["author"]["name"], AUTHOR_LIMIT)
    fields: list[dict[str, Any]] = [
        {**f, "name": shorten(f.get("name") or "", FIELD_NAME_LIMIT) or EMPTY,
         "value": shorten(f.get("value") or "", FIELD_VALUE_LIMIT) or EMPTY}
        for f in data.get("fields") or []
    ]
    hidden = 0
    if len(fields) > FIELD_COUNT_LIMIT:
        hidden = len(fields) - (FIELD_COUNT_LIMIT - 1)
        fields = fields[: FIELD_COUNT_LIMIT - 1]
    data["fields"] = fields

    def over() -> int:
        # Room is kept for the closing "N more not shown" field once anything is hidden.
        return _embed_size(data) - EMBED_TOTAL_LIMIT + (_NOTICE_RESERVE if hidden else 0)

    if over() > 0 and data.get("description") and fields:
        room = max(_DESCRIPTION_FLOOR, len(data["description"]) - over())
        data["description"] = shorten(data["description"], room)
    if over() > 0 and fields:
        for spec in fields:
            spec["name"] = shorten(spec["name"], FIELD_NAME_FLOOR) or EMPTY
    if over() > 0 and fields:
        values = sum(len(f["value"]) for f in fields)
        _cap_values(fields, max(0, values - over()), _FIELD_VALUE_FLOOR)
    while over() > 0 and fields:
        fields.pop()
        hidden += 1
    if hidden:
        fields.append({"name": ELLIPSIS, "value": f"{hidden} more not shown", "inline": False})
    for key in ("description", "footer", "title", "author"):
        excess = _embed_size(data) - EMBED_TOTAL_LIMIT
        if excess <= 0:
            break
        if key == "description" and data.get("description"):
            data["description"] = shorten(data["description"], max(0, len(data["description"]) - excess)) or None
        elif key in ("footer", "author") and data.get(key):
            inner = "text" if key == "footer" else "name"
            data[key][inner] = shorten(data[key][inner], max(1, len(data[key][inner]) - excess))
        elif key == "title" and data.get("title"):
            data["title"] = shorten(data["title"], max(1, len(data["title"]) - excess))
    if not data["fields"]:
        data.pop("fields")
    for key in ("description", "title"):
        if not data.get(key):
            data.pop(key, None)
    return discord.Embed.from_dict(data)


def embed_parts_ok(embed: discord.Embed) -> bool:
    """True when every part of the embed is within Discord's limits."""
    return (
        len(embed.title or "") <= TITLE_LIMIT
        and len(embed.description or "") <= DESCRIPTION_LIMIT
        and len(embed.fields) <= FIELD_COUNT_LIMIT
        and all(len(f.name or "") <= FIELD_NAME_LIMIT and len(f.value or "") <= FIELD_VALUE_LIMIT
                for f in embed.fields)
        and len(embed.footer.text or "") <= FOOTER_LIMIT
        and len(embed.author.name or "") <= AUTHOR_LIMIT
        and len(embed) <= EMBED_TOTAL_LIMIT
    )


def paginate(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages of at most 10 embeds and 6000 characters each."""
    pages: list[list[discord.Embed]] = []
    page: list[discord.Embed] = []
    size = 0
    for embed in map(fit_embed, embeds):
        length = len(embed)
        if page and (len(page) == EMBEDS_PER_MESSAGE or size + length > EMBED_TOTAL_LIMIT):
            pages.append(page)
            page, size = [], 0
        page.append(embed)
        size += length
    if page:
        pages.append(page)
    return pages
