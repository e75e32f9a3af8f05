"""The names a corpus mentions, so that a typed 'doe' or 'nyt' is read as the name the articles spell 'Doe' or
'New York Times'. Built from the articles' own text: capitalized runs that do not open a sentence, their last
words, their initials, and whether a name is a person (named in full or with a title) or a place (after 'in', 'at',
'to', 'from'). Pure functions over text; the service builds them once per loaded index."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.answer.lexicon import HONORIFICS
from embeddings.calendar import MONTHS, WEEKDAYS
from embeddings.terms import STOPWORDS

PERSON, PLACE, NAME, ADJECTIVE = "person", "place", "name", "adjective"
_WORD = r"[A-Z](?:[\w’'-]|\.(?=\w))*"
_RUN = re.compile(rf"(?<![\w’'.-]){_WORD}(?:[ \t]+(?:of[ \t]+|de[ \t]+|la[ \t]+)?{_WORD})*")
_LOCATIVE = re.compile(r"(?<!according )\b(?:in|at|on|to|from|near|into|across|inside|outside)\s+(?:the\s+)?$", re.I)
_DEMONYM = re.compile(r"(?:[A-Z][a-z]+(?:an|ian|ese|ish|ch)|(?:North|South|East|West)(?:ern|ward))s?")
# Capitalized words that open clauses or name days and months: never an entity of the conversation.
_NOT_NAMES = frozenset(
    """The A An He She It They We I You This That These Those His Her Their In On At If But And Yet When While
    According Earlier Notably Nonetheless Last Prior Citing Today Without Mr Mrs Ms Dr There Here What Who Why How
    Where Which Read More Meanwhile However Also After Before During Since
    As For From With By Of To Or Not No So Some Many Most All Both Each Every Other Such Then Now""".split()
) | frozenset(MONTHS) | frozenset(WEEKDAYS)
MAX_WORDS = 4


@dataclass(frozen=True)
class CorpusNames:
    """What a corpus names: each name's spelling by its lower-case form, and its kind."""

    spelling: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> str:
        """Return a name's kind: person, place, adjective (a nationality) or name (anything else)."""
        return self.kinds.get(name, NAME)

    @functools.cached_property
    def first_words(self) -> frozenset[str]:
        """Return the first word of every name, lower-cased: a typed word that is none of them starts no name."""
        return frozenset(key.split()[0] for key in self.spelling) | frozenset(
            key[:-1] for key in self.spelling if " " not in key)

    def lookup(self, words: str) -> str | None:
        """Return the corpus's spelling of typed words ('doe', "doe's", 'does' for Doe's), or None."""
        key = _key(words)
        found = self.spelling.get(key)
        if found is None and len(key) > 4 and key.endswith("s") and " " not in key:
            found = self.spelling.get(key[:-1])  # 'does' typed for the possessive 'Doe's'
            found = found if found and self.kind(found) in (PERSON, PLACE) else None
        return found


@functools.lru_cache(maxsize=65536)
def _key(words: str) -> str:
    text = words.lower().replace("’", "'").strip(" '\".,;:!?()")
    text = text.removesuffix("'s").removesuffix("'")
    return re.sub(r"\.(?=\w)|\.$", "", re.sub(r"\s+", " ", text))


def _runs(text: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (offset, words) for each capitalized run, without the words that only open a sentence."""
    for match in _RUN.finditer(text):
        words = match.group().split()
        before = text[max(0, match.start() - 3):match.start()]
        # A word in quotes of its own ("the film “Dune”") is a title; a quote opening a sentence is not.
        titled = before.endswith(("“", '"')) and text[match.end():match.end() + 1] in ("”", '"')
        opens = match.start() == 0 or (bool(re.search(r"[.!?\n\"“:]\s*$", before)) and not titled)
        if opens and words and (words[0] in _NOT_NAMES or len(words) == 1):
            words = words[1:]
        while words and (words[0] in _NOT_NAMES or words[0].lower() in HONORIFICS or words[0].islower() or (
                len(words) > 1 and _DEMONYM.fullmatch(words[0]))):
            words = words[1:]
        while words and words[-1] in ("of", "de", "la", "the"):
            words = words[:-1]
        words = [w.removesuffix("’s").removesuffix("'s").rstrip(".,") for w in words]
        if words and all(w not in _NOT_NAMES for w in words[-1:]):
            yield match.start(), words


def build_names(texts: Iterable[str], people: Iterable[str] = ()) -> CorpusNames:
    """Read every name the articles use, with its spelling and kind.

    A typed lower-case word is a name only when the articles never write it in lower case themselves: 'doe' is
    Doe, but 'house' is not House, whatever headlines capitalize."""
    texts = list(texts)
    spellings: Counter[tuple[str, str]] = Counter()
    located: Counter[str] = Counter()
    # The surnames of the people the articles quote or give a title (attribution.py reads them).
    people = {name.split()[-1] for name in people if name}
    lower = {w for text in texts for w in re.findall(r"(?<![\w’'-])[a-z]+(?![\w’'-])", text)} | STOPWORDS
    for text in texts:
        for start, words in _runs(text):
            locative = bool(_LOCATIVE.search(text[max(0, start - 24):start]))
            # The run and its endings ("Jane Doe", "Doe"), never its first words alone ("Jane", "New").
            for first in range(max(0, len(words) - MAX_WORDS), len(words)):
                part = words[first:]
                if all(_key(w) in lower for w in part) or part[0][0].islower():
                    continue
                name = " ".join(part)
                spellings[(_key(name), name)] += 1
                if locative and first == 0:
                    located[name] += 1
            initials = "".join(w[0] for w in words if w[0].isupper())
            if len(words) >= 2 and len(initials) >= 3 and all(w[1:].islower() for w in words if len(w) > 1):
                spellings[(initials.lower(), " ".join(words))] += 1
    alone: Counter[str] = Counter()
    for (_, name), count in spellings.items():
        alone[name] += count
    best: dict[str, tuple[int, str]] = {}
    for (key, name), count in spellings.items():
        words = name.split()
        # Two names side by side ("... told the Gazette Atlantis would ..."): seen once, ending in a name seen often.
        side_by_side = len(words) > 1 and count == 1 and alone[words[-1]] >= 3 and words[-1] not in people
        title = len(words) == 1 and words[0].lower() in HONORIFICS  # "Minister" alone names nobody
        if key and key not in lower and not side_by_side and not title and (key not in best or count > best[key][0]):
            best[key] = (count, name)
    spelling = {key: name for key, (_, name) in best.items()}
    prefixes = {p[:6] for p in people if len(p) >= 5}
    kinds = {}
    for name in set(spelling.values()):
        last = name.split()[-1]
        if _DEMONYM.fullmatch(name):
            kinds[name] = ADJECTIVE
        elif last in people or (len(last) >= 5 and last[:6] in prefixes):
            kinds[name] = PERSON
        elif located[name]:
            kinds[name] = PLACE
    return CorpusNames(spelling, kinds)
