"""The one way out to a terminal: everything the command line prints passes here.

Article text, titles and file names are not the program's: an escape sequence in them could clear the screen, set
the window title or fake an error line, and a bidi override could print a date backwards. Control and bidi
characters are shown as escapes (\\x1b, \\u202e) in text, and escaped in JSON strings, whether or not the stream is
a terminal. A stream that cannot encode a character (a latin-1 or ASCII locale) gets a stand-in, never an error.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import TextIO

import click

# C0 and C1 controls but newline and tab, DEL, the bidi embeddings, overrides, isolates and marks, and the Unicode
# line and paragraph separators (some terminals break lines at them).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_LINE = re.compile(f"[{_UNSAFE}\n\t]")
# What json.dumps(ensure_ascii=False) leaves as it is (it escapes \x00-\x1f itself).
_UNSAFE_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# Typographic characters an 8-bit or ASCII terminal may lack, by their plain equivalents; anything else is "?".
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"',
                        "\u201e": '"', "\u2032": "'", "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-",
                        "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2022": "*", "\u00b7": "*",
                        "\u2192": "->", "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'"})


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Return text with its control and bidi characters shown as escapes; line breaks and tabs are kept."""
    return _UNSAFE_TEXT.sub(_escape, text.replace("\r\n", "\n"))


def safe_line(text: object) -> str:
    """Return a value as one line (a title, a file name, a warning): line breaks are escaped too."""
    return _UNSAFE_LINE.sub(_escape, str(text))


def json_line(payload: object) -> str:
    """Return a JSON object as one line for stdout, with the control and bidi characters of its strings escaped (and
    every non-ASCII one, when stdout cannot encode them: a stand-in would change the data)."""
    text = _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(payload, ensure_ascii=False))
    return text if fit_encoding(text, sys.stdout) == text else json.dumps(payload)


def fit_encoding(text: str, stream: TextIO) -> str:
    """Return text the stream can encode: typographic characters by plain ones, then '?' for what is left."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.translate(_PLAIN).encode(encoding, "replace").decode(encoding)
    except LookupError:
        return text


def echo(text: str = "", err: bool = False) -> None:
    """Print text (with its line break) on stdout or stderr, neutralised and encodable."""
    stream = sys.stderr if err else sys.stdout
    click.echo(fit_encoding(safe_text(text), stream), file=stream)


def tolerate_encoding() -> None:
    """Let stdout and stderr replace what they cannot encode, for text that does not pass echo (logging, click's
    own messages): a non-UTF-8 locale degrades characters, never ends a command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
            with contextlib.suppress(ValueError, OSError):  # a stream that cannot be reconfigured once written to
                reconfigure(errors="replace")
