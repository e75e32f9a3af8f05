"""Site chrome in plain-text scrapes, told by general signals, never by one site's strings, weighed by a model fit
on labelled real pages.

A scrape keeps what a page showed around the article: menus, share bars, "ALSO READ |" strips, link lists, stock
tickers, photo credits, embedded posts, cookie and subscription prompts, comment boxes, other stories' teasers.
Each line's signals: its own shape (labels, tickers, links and handles, the vocabulary of a page's furniture), how
much it reads as prose (the share of English function words, as jusText measures paragraphs), where it stands
(inside the page's richest run of prose, beside prose or among furniture), and whether it is about what the
article is about (its words among the words of the page's prose). A logistic regression over them gives each line
the probability that it is the article's; a second reads them again with the first's judgement of the lines around
(a teaser among headlines reads as prose on its own). Both are fit by `python -m training.cleaning` on
tests/data/newsroom/chrome_labels.jsonl (embeddings/models/chrome.json); below the fitted threshold a line is chrome,
and the signal that weighed most against it is named (`newsbot source` shows it).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from embeddings.checksums import file_sha256
from embeddings.errors import ModelLoadError
from embeddings.ingest.sentences import split_sentences
from embeddings.logistic import Logistic, squash
from embeddings.terms import tokenize

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


def reads_as_sentence(line: str) -> bool:
    """True for a line that is a whole sentence, not page furniture: enough words, enough of them function words, an
    end of sentence; its verb may be one no list has (reads_as_prose asks for one it knows)."""
    words, share = _words(line)
    return (len(words) >= 8 and share >= 0.15 and bool(_ENDS.search(line.strip())) and not is_headline(line)
            and furniture(line) is None)


# What a file whose every block looked like chrome keeps, in order of preference: prose by the verb list, else whole
# sentences that are not furniture (plain text, pages, feeds and exports alike).
PROSE_TESTS = (reads_as_prose, reads_as_sentence)


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


def blocks(text: str, lines: Sequence[tuple[int, int]]) -> list[tuple[tuple[int, int], int]]:
    """The blocks a page is judged by: each line's sentences (a line of one page block may run on into others), as
    (span, the line's number)."""
    found = []
    for number, (start, end) in enumerate(lines):
        found += [(piece, number) for piece in split_sentences(text, start, end) or [(start, end)]]
    return found


def rule_kinds(lines: Sequence[str]) -> list[str]:
    """Each line by its own shape: 'bad' (furniture, or repeated on the page), 'good' (prose) or 'short'."""
    seen = Counter(line.strip() for line in lines)
    kinds = []
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
    return kinds


@dataclass(frozen=True)
class LineSignals:
    """What the chrome model reads about one line of a page; the field order is the weights' order."""

    length: float          # log of its length in characters
    words: float           # log of its word count
    function: float        # share of English function words
    prose: float           # reads as a sentence of prose
    headline: float        # set as a headline (title case, no full stop)
    terminal: float        # ends a sentence
    label: float           # opens with a label ("ALSO READ |", "WATCH:")
    ticker: float          # mostly numbers
    furniture: float       # the vocabulary of a page's furniture (subscribe, cookies, share, credits...)
    headlines: float       # a run of headlines with no verbs
    repeated: float        # said more than once on the page
    position: float        # where on the page (0 top, 1 bottom)
    main: float            # inside the page's richest run of prose
    prev_prose: float      # the line before reads as prose
    next_prose: float      # the line after reads as prose
    window_prose: float    # share of prose among the three lines each side
    distance: float        # how far the nearest line of prose is (log)
    cohesion: float        # share of its words found in the page's main prose: about what the article is about
    second_person: float   # you, your, we, our: a page speaking to its reader
    capitals: float        # share of its words capitalized
    digits: float          # share of its characters that are digits
    quote: float           # holds a quotation mark
    link: float            # a link, a handle, a separator bar

    def vector(self) -> tuple[float, ...]:
        """Return the values in field order."""
        return astuple(self)


SIGNALS = tuple(f.name for f in fields(LineSignals))
# The signals a removed line is said to be removed by, as `newsbot source` names them.
_SAID = {"length": "too short", "words": "too short", "function": "low in prose", "prose": "not prose",
         "headline": "a headline", "terminal": "not a sentence", "label": "label", "ticker": "ticker",
         "furniture": "furniture", "headlines": "run of headlines", "repeated": "repeated",
         "position": "at the page's edge", "main": "outside the article", "prev_prose": "among chrome",
         "next_prose": "among chrome", "window_prose": "among chrome", "distance": "far from the article",
         "cohesion": "about something else", "second_person": "speaks to the reader", "capitals": "a headline",
         "digits": "numbers", "quote": "not a quotation", "link": "a link",
         # The second pass's context (CONTEXT): what the first pass judged of the blocks around.
         "first_prev": "among chrome", "first_next": "among chrome", "first_near": "among chrome",
         "first_around": "among chrome", "first_best": "among chrome", "first_worst": "among chrome",
         "first_page": "a page of chrome", "first_prev2": "among chrome", "first_next2": "among chrome",
         "first_kept": "among chrome", "first_least": "among chrome"}
_YOU = re.compile(r"\b(?:you|your|yours|we|our|us)\b", re.I)
_LINKISH = re.compile(r"https?://|www\.|@\w|\|| » | › ")
_ENDS = re.compile(r"[.!?”\"']$")
_QUOTE_MARK = re.compile(r"[“”\"]")


def line_signals(lines: Sequence[str]) -> list[LineSignals]:
    """Every line's signals, read with the whole page (one pass each way: linear in the page)."""
    stripped = [line.strip() for line in lines]
    n = len(stripped)
    seen = Counter(stripped)
    prose = [reads_as_prose(line) for line in stripped]
    furn = [furniture(line) for line in stripped]
    kinds = rule_kinds(stripped)
    first, last = _main_block(stripped, kinds) if "good" in kinds else (0, n - 1)
    terms = [set(tokenize(line)) for line in stripped]
    core = Counter(t for i in range(first, last + 1) if prose[i] for t in terms[i])
    prose_at = [i for i in range(n) if prose[i]]
    found = []
    for i, line in enumerate(stripped):
        words = _WORD.findall(line)
        count = len(words)
        window = [prose[j] for j in range(max(0, i - 3), min(n, i + 4)) if j != i]
        at = bisect.bisect_left(prose_at, i)
        near = [abs(prose_at[j] - i) for j in (at - 1, at, at + 1) if 0 <= j < len(prose_at) and prose_at[j] != i]
        own = terms[i]
        # Its words among the main prose's, its own contribution left out.
        mine = 1 if prose[i] and first <= i <= last else 0
        cohesion = sum(1 for t in own if core[t] - mine > 0) / len(own) if own else 0.0
        why = furn[i]
        found.append(LineSignals(
            length=math.log(max(len(line), 1)) / 6, words=math.log1p(count) / 4, function=function_share(line),
            prose=float(prose[i]), headline=float(is_headline(line)), terminal=float(bool(_ENDS.search(line))),
            label=float(why == "label"), ticker=float(why == "ticker"), furniture=float(why == "furniture"),
            headlines=float(why == "run of headlines"), repeated=float(seen[line] > 1), position=i / max(n - 1, 1),
            main=float(first <= i <= last), prev_prose=float(i > 0 and prose[i - 1]),
            next_prose=float(i < n - 1 and prose[i + 1]), window_prose=sum(window) / max(len(window), 1),
            distance=math.log1p(min(near) if near else n) / 4, cohesion=cohesion,
            second_person=len(_YOU.findall(line)) / max(count, 1),
            capitals=sum(1 for w in words if w[:1].isupper()) / max(count, 1),
            digits=sum(c.isdigit() for c in line) / max(len(line), 1), quote=float(bool(_QUOTE_MARK.search(line))),
            link=float(bool(_LINKISH.search(line)))))
    return found


# A line of a brief (a page with no paragraph of prose) has at least this many words to be its text.
_BRIEF_WORDS = 4
CHROME_MODEL = Path(__file__).resolve().parent.parent / "models" / "chrome.json"
CHROME_FORMAT = 2
REFIT_CHROME = "python -m training.cleaning"
# What the second pass reads besides a block's own signals: the first pass's log-odds of the block and of the blocks
# around it. A block of another story's teaser reads as prose on its own; among chrome it is told by its company.
CONTEXT = ("first", "first_prev", "first_next", "first_near", "first_around", "first_best", "first_worst",
           "first_page", "first_prev2", "first_next2", "first_kept", "first_least")
# Every weight of the second pass, in order: the block's own signals, then its context.
_SECOND = SIGNALS + CONTEXT
# Beyond a page's edges a block counts as this (a log-odds of chrome); log-odds are clipped to +-_CLIP so that one
# block's certainty does not swamp its neighbours' means.
_EDGE = -3.0
_CLIP = 8.0


def context_signals(logits: Sequence[float]) -> list[tuple[float, ...]]:
    """Each block's context, in CONTEXT's order, from the first pass's log-odds of every block of its page."""
    z = [max(-_CLIP, min(_CLIP, v)) for v in logits]
    n = len(z)
    page = sum(z) / max(n, 1)

    def at(j: int) -> float:
        return z[j] if 0 <= j < n else _EDGE

    found = []
    for i in range(n):
        near = [at(j) for j in (i - 2, i - 1, i + 1, i + 2)]
        around = [at(j) for j in range(i - 5, i + 6) if j != i]
        found.append((z[i], at(i - 1), at(i + 1), sum(near) / 4, sum(around) / 10, max(near),
                      min(at(i - 1), at(i + 1)), page, at(i - 2), at(i + 2),
                      sum(1 for v in around if v > 0) / 10, min(around)))
    return found


@dataclass(frozen=True)
class ChromeModel:
    """Two logistic regressions (the probability that a block is the article's): the first over a block's own
    signals, the second over those and the first's judgement of the blocks around it; and the threshold under which
    a block is chrome."""

    first: Logistic
    second: Logistic
    threshold: float

    def judge(self, signals: Sequence[LineSignals]) -> list[tuple[float, str]]:
        """Return, for each block of a page, the probability that it is the article's and the signal that weighed
        most against it."""
        firsts = [self.first.parts(s.vector()) for s in signals]
        contexts = context_signals([self.first.bias + sum(parts) for parts in firsts])
        found = []
        for own, first, context in zip(signals, firsts, contexts, strict=True):
            parts = self.second.parts(own.vector() + context)
            worst = min(range(len(parts)), key=lambda i: parts[i])
            if worst == len(SIGNALS):  # its own first judgement: named by what weighed most in that
                worst = min(range(len(first)), key=lambda i: first[i])
            name = _SECOND[worst]
            found.append((squash(self.second.bias + sum(parts)), _SAID[name]))
        return found


def _logistic(data: dict, width: int) -> Logistic:
    weights = tuple(map(float, data["weights"]))
    if len(weights) != width:
        raise ValueError("fit for other signals")
    return Logistic(weights, float(data["bias"]), tuple(map(float, data["means"])), tuple(map(float, data["scales"])))


@functools.cache
def chrome_model(path: Path = CHROME_MODEL) -> ChromeModel:
    """The fitted chrome model, read once per process and checked against its manifest fields."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["format"] != CHROME_FORMAT or data["signals"] != list(SIGNALS) or data["context"] != list(CONTEXT):
            raise ValueError("fit for other signals")
        return ChromeModel(_logistic(data["first"], len(SIGNALS)), _logistic(data["second"], len(_SECOND)),
                           float(data["threshold"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"the chrome model {path} is missing or unreadable ({exc}): run `{REFIT_CHROME}`"
                             ) from None


def chrome_model_digest(path: Path = CHROME_MODEL) -> str:
    """The chrome model's checksum: an index records it, and is rebuilt when it changes."""
    return file_sha256(path)[:16] if path.is_file() else "none"


def classify(lines: Sequence[str], model: ChromeModel | None = None) -> list[str | None]:
    """Return, for each line of an article's body, why it is chrome, or None for the article's own text.

    The model weighs every line's signals read with the whole page, then again with its first judgement of the
    lines around it; a line below its threshold is chrome, named by the signal that weighed most against it. A page
    of short lines only (a brief) has nothing to tell the article from its page by: only its furniture goes.
    """
    if not lines:
        return []
    if "good" not in rule_kinds(lines):
        # A brief of short lines: its sentences stay, menus and labels of a word or two (no full stop) go.
        return [furniture(line) or ("too short" if len(_WORD.findall(line)) < _BRIEF_WORDS
                                    and not _ENDS.search(line.strip()) else None) for line in lines]
    model = model or chrome_model()
    result: list[str | None] = []
    for line, (probability, why) in zip(lines, model.judge(line_signals(lines)), strict=True):
        shape = furniture(line)
        # A page's furniture that is not a sentence of prose (a strip of prompts and headlines) is never the
        # article's, whatever its neighbours.
        keep = probability >= model.threshold and not (shape and not reads_as_prose(line))
        result.append(None if keep else (shape or why))
    return result


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
