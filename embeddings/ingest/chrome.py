"""Site chrome in plain-text scrapes, told by general signals, never by one site's strings.

A scrape keeps what a page showed around the article: menus, share bars, "ALSO READ |" strips, link lists, stock
tickers, photo credits, embedded posts, cookie and subscription prompts, comment boxes. Three signals find them:
the line's own shape (labels, tickers, links and handles, the vocabulary of a page's furniture), how much it reads
as prose (the share of English function words, as jusText measures paragraphs), and its neighbours: a short line
between two paragraphs of prose belongs to the article; a short line among furniture is furniture.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

# English function words: prose is dense in them, menus, tickers and link lists are not.
_FUNCTION_WORDS = frozenset(
    """a about after all also an and any are as at be been before but by can could did do does for from had has
    have he her his how i if in into is it its last more most my no not now of on one only or other our out over
    said says she so some than that the their them then there these they this those through to up was we were what
    when where which while who will with would you your""".split()
)
_WORD = re.compile(r"[A-Za-z’'][A-Za-z’'-]*")
# Signs of a finite verb, which prose has and captions, menus and headlines often lack.
_VERBS = frozenset(
    """is are was were be been being am has have had do does did will would can could shall should may might must
    said says say told tells added adds according""".split()
)
_PAST = re.compile(r"[a-z]{3,}ed")
_NUMBER = re.compile(r"[+-−]?\d[\d,.]*%?")
# The furniture of a page, in the words pages use for it; searched in the lower-cased line (with re.I the same
# search is twice as slow).
_FURNITURE = re.compile(
    r"\b(?:cookies?|privacy policy|terms of (?:use|service)|all rights reserved|sign (?:up|in)|log ?in|"
    r"subscribe|subscription|newsletters?|advertis(?:e|ement|ing)|sponsored|promoted|comments? (?:are|have been|"
    r"is) (?:closed|moderated)|loading comments|leave a comment|join the conversation|share (?:this|on)|"
    r"follow us|download (?:the|our) app|skip to (?:main )?content|click here|tap here|read (?:more|next|also)|"
    r"also read|see also|related (?:stories|articles|coverage|content)|trending|most (?:read|popular|viewed)|"
    r"recommended for you|more from|watch (?:live|now|video)|listen (?:now|to this)|you may also like|"
    r"copyright|disclaimer|editor'?s picks?|photo (?:credit|courtesy)|getty images|file photo|"
    r"image (?:source|credit)|ap photo|afp photo|pic\.twitter\.com|https?://|www\.)|@\w{2,}|©|™|"
    r"^\(?(?:additional )?(?:reporting|writing|editing|compiled) by\b"
)
# A label that opens a strip: "ALSO READ |", "WATCH:", "Filed under:", "Follow us online:".
_LABEL = re.compile(r"^(?:[A-Z][A-Z&' ]{2,30}\s*[|:»›>-]|[\w’' ]{2,40}:\s*$|.{0,40}\|\s*$)")


@functools.lru_cache(maxsize=4096)
def _words(line: str) -> tuple[tuple[str, ...], float]:
    """A line's words and the share of them that are function words: classify asks several times per line."""
    words = tuple(_WORD.findall(line))
    if not words:
        return words, 0.0
    return words, sum(1 for w in words if w.lower().strip("’'") in _FUNCTION_WORDS) / len(words)


def function_share(line: str) -> float:
    """Return the share of a line's words that are English function words."""
    return _words(line)[1]


def reads_as_prose(line: str) -> bool:
    """True for a line that reads as a sentence of prose: enough words, enough of them function words, a verb, and
    not set in title case as a headline is."""
    words, share = _words(line)
    return (len(words) >= 8 and share >= 0.15 and not is_headline(line)
            and any(w.lower() in _VERBS or _PAST.fullmatch(w) for w in words))


def is_headline(line: str) -> bool:
    """True for a line set as a headline: title case (most words that are not function words capitalized) and no
    full stop at its end; another story's headline in a link list, or a subhead."""
    stripped = line.strip()
    if stripped.endswith(".") or len(stripped) > 160:
        return False
    content = [w for w in _WORD.findall(stripped) if w.lower() not in _FUNCTION_WORDS]
    return len(content) >= 3 and sum(1 for w in content if w[:1].isupper()) >= 0.7 * len(content)


def furniture(line: str) -> str | None:
    """Return why a line is page furniture by its own shape, or None when it may be the article's."""
    stripped = line.strip()
    words = _words(stripped)[0]
    if len(stripped) <= 80 and _LABEL.match(stripped):
        return "label"
    numbers = _NUMBER.findall(stripped)
    if numbers and len(numbers) >= max(3, len(words)):
        return "ticker"
    if (len(stripped) <= 200 or function_share(stripped) < 0.3) and _FURNITURE.search(stripped.lower()):
        return "furniture"
    if len(words) >= 6 and function_share(stripped) < 0.08 and not stripped.endswith((".", "?", "!", "”", '"')):
        return "run of headlines"
    return None


def classify(lines: Sequence[str]) -> list[str | None]:
    """Return, for each line of an article's body, why it is chrome, or None for the article's own text.

    Lines that are furniture by their shape are chrome. The others are prose (long, dense in function words),
    short, or neither; a short line takes its neighbours' side, as jusText's context-sensitive pass does: it
    belongs to the article when the nearest classified lines before and after it do, to the chrome otherwise.
    """
    kinds: list[str] = []
    seen: dict[str, int] = {}
    for line in lines:
        seen[line.strip()] = seen.get(line.strip(), 0) + 1
    for line in lines:
        # The page's furniture repeats within a page (menus top and bottom); an article's paragraphs do not.
        if furniture(line) or (seen[line.strip()] > 1 and len(line) < 300):
            kinds.append("bad")
        elif reads_as_prose(line):
            kinds.append("good")
        elif len(_WORD.findall(line)) < 8 or len(line) < 100:
            kinds.append("short")
        else:
            kinds.append("good" if function_share(line) >= 0.12 else "bad")
    if "good" not in kinds:
        # A brief of short lines only: nothing to tell the article from its page by; keep it.
        return [furniture(line) for line in lines]
    first, last = _main_block(lines, kinds)
    before, after = _nearest_long(kinds)
    result: list[str | None] = []
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        if kind == "bad":
            result.append(furniture(line) or ("repeated" if seen[line.strip()] > 1 else "low in prose"))
        elif not first <= i <= last and len(line) < _DETACHED_PROSE:
            result.append("outside the article")
        elif kind == "good":
            result.append(None)
        else:
            # Between prose a short line is the article's; beside chrome it is chrome.
            sides = [k for k in (before[i], after[i]) if k is not None]
            result.append(None if sides and all(k == "good" for k in sides) else "short among chrome")
    return result


def _nearest_long(kinds: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
    """For each line, the kind of the nearest line before and after it that is not short (one pass each way, so
    that a page of thousands of short lines stays linear)."""
    before: list[str | None] = [None] * len(kinds)
    after: list[str | None] = [None] * len(kinds)
    last: str | None = None
    for i, kind in enumerate(kinds):
        before[i] = last
        last = kind if kind != "short" else last
    last = None
    for i in range(len(kinds) - 1, -1, -1):
        after[i] = last
        last = kinds[i] if kinds[i] != "short" else last
    return before, after


# A paragraph of prose this long is the article's even outside its main block (an article split by an ad strip).
_DETACHED_PROSE = 400
# What a line of chrome and a short line count against a block of prose, in characters of prose.
_CHROME_COST = 200
_SHORT_COST = 20


def _main_block(lines: Sequence[str], kinds: Sequence[str]) -> tuple[int, int]:
    """Return the first and last line of the run of lines richest in prose (the article among its page)."""
    best, best_span = float("-inf"), (0, len(lines) - 1)
    total, start = 0.0, 0
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        gain = len(line) if kind == "good" else -_CHROME_COST if kind == "bad" else -_SHORT_COST
        if total <= 0:
            total, start = 0.0, i
        total += gain
        if total > best:
            best, best_span = total, (start, i)
    return best_span
