"""Untrusted text in: questions and queries are cleaned the same way for the CLI and Discord before retrieval."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Discord mention and custom-emoji markup: never part of what is asked, and their digits would match numbers.
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:\w{1,32}:\d+>|</[\w -]{1,64}:\d+>|@(?:everyone|here)\b")
# Markdown: code fences (with a language tag), block quotes and headings; then the inline markers of code,
# emphasis, strike-through and spoilers, which always hug a word ("**Crosetto**", "_troops_?").
_MARKDOWN_BLOCKS = re.compile(r"```[\w+-]*|^[ \t]*(?:>{1,3}|#{1,6}|-#)[ \t]+", re.MULTILINE)
_MARKDOWN_INLINE = re.compile(r"[`*_~|]+")
_SPACES = re.compile(r"\s+")
# Control characters that separate words become spaces; other invisible characters are dropped.
_SEPARATORS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_INVISIBLE = frozenset(("Cc", "Cf", "Co", "Cs", "Cn"))


def truncated_notice(length: int, limit: int) -> str:
    """Return the note that says a question was cut."""
    return f"Your question was {length:,} characters long: only its first {limit:,} were used."


OTHER_LANGUAGE_NOTICE = "The articles are in English: a question in English finds them best."
NO_WORDS = "Please ask a question in words, for example: “What did Crosetto say about troops?”"


@dataclass(frozen=True)
class Cleaned:
    """A question ready for retrieval, and what the user should be told about how it was read."""

    text: str
    notices: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def has_words(self) -> bool:
        """True when the text holds at least one letter or digit, in any script."""
        return any(ch.isalnum() for ch in self.text)


def strip_invisible(text: str) -> str:
    """Turn control separators into spaces and drop zero-width, bidi, control and unassigned characters."""
    out = []
    for ch in text:
        if ch in _SEPARATORS:
            out.append(" ")
        elif unicodedata.category(ch) not in _INVISIBLE:
            out.append(ch)
    return "".join(out)


def _latin_free(text: str) -> bool:
    """True when the text has letters but none of them Latin (the articles are in English)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and not any(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)


def clean_question(text: str, limit: int | None = None) -> Cleaned:
    """Clean a question for retrieval: no invisible characters, mentions or markdown; cut to `limit` characters."""
    raw_length = len(text)
    if limit is not None and raw_length > limit * 4:
        # Cleaning is linear, but there is no reason to scan megabytes of a pasted document.
        text = text[: limit * 4]
    text = strip_invisible(text)
    text = _DISCORD_MARKUP.sub(" ", text)
    text = _MARKDOWN_INLINE.sub("", _MARKDOWN_BLOCKS.sub(" ", text))
    text = _SPACES.sub(" ", text).strip()
    notices: list[str] = []
    truncated = False
    if limit is not None and len(text) > limit:
        cut = text[:limit]
        space = cut.rfind(" ")
        text = (cut[:space] if space >= limit * 0.8 else cut).rstrip()
        truncated = True
        notices.append(truncated_notice(raw_length, limit))
    if _latin_free(text):
        notices.append(OTHER_LANGUAGE_NOTICE)
    return Cleaned(text, tuple(notices), truncated)
