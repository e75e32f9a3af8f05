"""Untrusted text in: questions and queries are cleaned the same way for the CLI and Discord before retrieval, and
question files are read by one bounded reader."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from embeddings.errors import NewsbotError

# Discord mention and custom-emoji markup: never part of what is asked, and their digits would match numbers.
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:\w{1,32}:\d+>|</[\w -]{1,64}:\d+>|@(?:everyone|here)\b")
# Markdown: code fences (with a language tag), block quotes and headings; then the inline markers of code,
# emphasis, strike-through and spoilers, which always hug a word ("**budget**", "_talks_?").
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
NO_WORDS = "Please ask a question in words, for example: “What did the minister say about the budget?”"


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


# A question file's line longer than this is not a question (a pasted document, or a device with no newlines).
MAX_LINE_CHARS = 100_000
# The same bound in UTF-8 bytes: a character is at most four.
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS


@dataclass(frozen=True)
class QuestionLine:
    """One line of a question file: its number, the question, and the JSON object's fields (none for plain text)."""

    number: int
    question: str
    fields: dict[str, object]


def bounded_lines(handle: TextIO | BinaryIO, name: str, unit: str) -> Iterator[tuple[int, str]]:
    """Yield a file's numbered lines, each read with a bound (a file without newlines cannot fill the memory).

    Lines are read as bytes and decoded one at a time (a text handle is read through its byte buffer): decoding in
    blocks reported a bad byte on line 3 as line 1, before the lines ahead of it were answered.
    """
    source = getattr(handle, "buffer", handle)
    number = 0
    while True:
        number += 1
        raw = source.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if isinstance(raw, bytes):
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise NewsbotError(f"{name}:{number}: a line over {MAX_LINE_CHARS:,} characters is not {unit}")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NewsbotError(f"{name}:{number}: not UTF-8 text (byte {exc.start + 1} of the line)") from None
            if number == 1:
                line = line.removeprefix("\ufeff")
        else:
            line = raw
        if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise NewsbotError(f"{name}:{number}: a line over {MAX_LINE_CHARS:,} characters is not {unit}")
        yield number, line


def read_question_lines(handle: TextIO | BinaryIO, name: str) -> Iterator[QuestionLine]:
    """Yield the questions of JSON Lines (objects with a `question` string) or plain text (one a line).

    The one reader of question files (`ask --from-file`, `search --from-file`, `eval`, the benchmarks): lines are
    read with a bound, so a file without newlines cannot fill the memory, and a bad line is an error naming it.
    """
    for number, line in bounded_lines(handle, name, "a question"):
        text = line.strip()
        if not text:
            continue
        if not text.startswith(("{", "[", '"')) and not _is_json_scalar(text):
            yield QuestionLine(number, text, {})
            continue
        try:
            row = json.loads(text)
        except (ValueError, RecursionError):
            if text.startswith("{"):
                raise NewsbotError(f"{name}:{number}: not a JSON object") from None
            yield QuestionLine(number, text, {})
            continue
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise NewsbotError(f"{name}:{number}: expected an object with a 'question' string")
        yield QuestionLine(number, row["question"], row)


def _is_json_scalar(text: str) -> bool:
    return text in ("null", "true", "false") or bool(re.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", text))


def open_question_file(path: Path, stdin: TextIO) -> TextIO | BinaryIO:
    """Open a question file for read_question_lines, as bytes (decoded a line at a time): '-' is standard input;
    only regular files are read."""
    if str(path) == "-":
        return stdin
    try:
        if not path.is_file():
            raise NewsbotError(f"cannot read {path}: not a regular file")
        return path.open("rb")
    except OSError as exc:
        raise NewsbotError(f"cannot read {path}: {exc.strerror}") from None
