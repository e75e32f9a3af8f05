"""Words as every layer compares them: folded text, stems, keyword tokens and the stopwords left out."""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
# British and American spellings meet: 'destabilise' and 'destabilize', 'defence' and 'defense'.
_ISE = re.compile(r"is(e|ed|es|ing|ation|ations)$")
_BRITISH = {"defence": "defense", "offence": "offense", "licence": "license", "favour": "favor",
            "honour": "honor", "labour": "labor", "centre": "center", "programme": "program"}

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also say said says tell told according""".split()
)
_TOKEN = re.compile(r"\d+(?:[.,]\d{3})+(?:\.\d+)?%?|\d+(?:\.\d+)?%?|[a-z]+(?:-\d+)?")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\xa0": " "})


def normalize(text: str) -> str:
    """Fold case, accents, curly quotes, dashes and runs of whitespace."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().lower()


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball-stem a word so that 'territories' meets 'territory'; numbers stay as they are."""
    if word[0].isdigit():
        return word
    word = _BRITISH.get(word, word)
    if len(word) > 5:
        word = _ISE.sub(r"iz\1", word)
    return _STEMMER.stemWord(word)


def tokenize(text: str, keep_stopwords: bool = False) -> list[str]:
    """Return stemmed keyword tokens; numbers lose their thousands separators, '20%' also gives '20'."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(normalize(text).replace("'s ", " ")):
        if raw[0].isdigit():
            number = raw.rstrip("%").replace(",", "")
            tokens.append(number)
            if raw.endswith("%"):
                tokens.append("percent")
        elif keep_stopwords or raw not in STOPWORDS:
            tokens.append(stem(raw))
    return tokens
