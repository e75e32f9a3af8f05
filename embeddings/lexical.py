"""Keyword ranking: a small tokenizer and Okapi BM25 over a sparse term matrix."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
import snowballstemmer
from scipy import sparse

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


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocabulary: dict[str, int] = {}
        rows, cols, values = [], [], []
        lengths = np.zeros(len(documents), dtype=np.float32)
        counts_per_doc = []
        for doc, text in enumerate(documents):
            counts = Counter(tokenize(text))
            counts_per_doc.append(counts)
            lengths[doc] = sum(counts.values())
            for term in counts:
                self.vocabulary.setdefault(term, len(self.vocabulary))
        average = float(lengths.mean()) if len(documents) else 1.0
        frequency = np.zeros(len(self.vocabulary), dtype=np.float32)
        for counts in counts_per_doc:
            for term in counts:
                frequency[self.vocabulary[term]] += 1
        n = max(len(documents), 1)
        self.idf = np.log(1 + (n - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        self.document_frequency = frequency
        for doc, counts in enumerate(counts_per_doc):
            norm = k1 * (1 - b + b * lengths[doc] / max(average, 1e-9))
            for term, tf in counts.items():
                column = self.vocabulary[term]
                rows.append(doc)
                cols.append(column)
                values.append(self.idf[column] * tf * (k1 + 1) / (tf + norm))
        self.weights = sparse.csc_matrix(
            (values, (rows, cols)), shape=(len(documents), len(self.vocabulary)), dtype=np.float32
        )
        self.size = len(documents)

    def scores(self, query: str) -> np.ndarray:
        """Return the BM25 score of every document for a query."""
        columns = [self.vocabulary[t] for t in set(tokenize(query)) if t in self.vocabulary]
        if not columns or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.weights[:, columns].sum(axis=1)).ravel()

    def term_idf(self, term: str) -> float:
        """Return a term's inverse document frequency; a term no document has gets the highest."""
        column = self.vocabulary.get(term)
        return idf_weight(0.0, self.size) if column is None else float(self.idf[column])



def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Return the (position, score) of the k best positive scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    ordered = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in ordered if scores[i] > 0]


def idf_weight(frequency: float, size: int) -> float:
    """Return the BM25 inverse document frequency of a term."""
    return math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))
