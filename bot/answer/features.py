"""What the answer model reads about a candidate quote (Features) and about a question's best candidates
(QuestionFeatures): named records, built by pure functions over plain values."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field, fields

from bot.answer.questions import MONTH_NAMES, Reading, has_expected_shape
from embeddings.records import Hit
from embeddings.terms import tokenize


@dataclass(frozen=True)
class Features:
    """One candidate quote as the ranker reads it; the field order is the order of the weights in
    bot/answer/answer_model.json."""

    similarity: float       # cosine of the sentence to the question
    passage: float          # cosine of its passage to the question
    coverage: float         # share of the question's terms it holds, by IDF
    rare_coverage: float    # share of the question's two rarest terms it holds
    lexical: float          # its passage's BM25 score, relative to the best
    retrieved: float        # 1 / rank of its passage among the retrieved, 0 for a passage found by its speaker
    shape: float            # +1 has the kind of answer asked for (a date, a number...), -1 lacks it, 0 none asked
    speaker: float          # +1 spoken (or done) by the person asked about, -1 by someone else, 0 neither
    quoted: float           # holds a quotation
    opening: float          # in the first passage of its article
    length: float           # log of its length in characters
    expects: float          # the question asks for a date, a number, a duration or an age
    asks_speaker: float     # the question asks what someone the articles name said
    novelty: float          # share of its terms that the question does not have: an answer tells something new
    who_person: float       # a "who" question and a name the question does not have
    when_date: float        # a "when" question and an exact date or time (a day, a month and day, a clock time)
    why_cause: float        # a "why" question and a word of cause (because, due to, after, led to...)
    number_new: float       # a "how many/much" question and a number the question does not have
    unknown_names: float    # names of the question that no article has in any form (0, 1, 2 or more)
    pair: float             # two consecutive sentences quoted together
    bigrams: float          # share of the question's consecutive terms found consecutive in it
    known_share: float      # share of the question's terms, by IDF, that the articles have at all
    predicate: float        # share of the question's lower-case content terms (what it asks of its names) it holds
    predicate_soft: float   # the same, counting a word the model puts close to the question's ('deaths' for 'died')
    absent_words: float     # the question's lower-case content words no article has in any form (0 to 3)

    def vector(self) -> tuple[float, ...]:
        """Return the values in field order, as the model's weights are."""
        return astuple(self)


@dataclass(frozen=True)
class ReadFeatures:
    """What the second stage of ranking reads about a candidate the reader read: the reader's judgement beside the
    first stage's and a few facts the reader cannot see (who speaks, the kind of answer)."""

    reader: float           # the reader's log-odds that it answers
    first: float            # the first stage's log-odds
    speaker: float          # +1 spoken (or done) by the person asked about, -1 by someone else, 0 neither
    shape: float            # +1 has the kind of answer asked for, -1 lacks it, 0 none asked
    pair: float             # two consecutive sentences quoted together
    quoted: float           # holds a quotation
    length: float           # log of its length in characters

    def vector(self) -> tuple[float, ...]:
        """Return the values in field order, as the model's weights are."""
        return astuple(self)


@dataclass(frozen=True)
class QuestionFeatures:
    """What the decline model reads about a question: how its best candidates look, what the corpus lacks of it."""

    best: float             # the answer model's probability for the best candidate
    second: float           # and for the second best
    best_reader: float      # the reader's probability for its best candidate
    second_reader: float    # and for its second best
    reader_strong: float    # how many candidates the reader gives at least 0.5 (log)
    best_first: float       # the first stage's probability for the best candidate
    best_similarity: float  # the best candidate's cosine to the question
    best_coverage: float    # its coverage of the question's terms
    best_predicate: float   # its share of the question's lower-case content terms, synonyms counted
    best_shape: float       # whether it has the kind of answer asked for
    best_speaker: float     # whether the person asked about speaks in it
    known_share: float      # share of the question's terms the articles have at all
    unknown_names: float    # names of the question no article has
    absent_words: float     # lower-case content words of the question no article has
    expects: float          # the question asks for a date or a number
    asks_speaker: float     # the question asks what someone said

    def vector(self) -> tuple[float, ...]:
        """Return the values in field order, as the model's weights are."""
        return astuple(self)


FEATURES = tuple(f.name for f in fields(Features))
READ_FEATURES = tuple(f.name for f in fields(ReadFeatures))
QUESTION_FEATURES = tuple(f.name for f in fields(QuestionFeatures))

_QUOTE = re.compile(r"[“”\"]")
_NAME = re.compile(r"\b[A-Z][a-z’'-]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-z’'-]+)+")
_NUMBER = re.compile(r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundred|thousand|million|billion|dozens?)\b", re.IGNORECASE)
_MONTHS = f"{MONTH_NAMES}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
_EXACT_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\d{{1,2}}\s+(?:{_MONTHS})\b|"
    r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|\d{1,2}[:.]\d{2}\s*(?:am|pm|a\.m\.|p\.m\.)|"
    r"\b(?:19|20)\d{2}\b|\b(?:yesterday|today|tonight|this morning|last night)\b)")
_CAUSE = re.compile(r"\b(?:because|due to|owing to|as a result|after|following|since|caused|causes?|blamed|led to|"
                    r"sparked|prompted|reasons?|so that|in order to|amid|over concerns?)\b", re.IGNORECASE)
_ASKS = {
    "who": re.compile(r"^\s*(?:who|whom)\b|\bwho (?:is|was|were|are)\b", re.IGNORECASE),
    "when": re.compile(r"^\s*(?:until |since |by |from |on |in |at )?"
                       r"(?:when|(?:what|which) (?:year|date|day|month|time))\b", re.IGNORECASE),
    "why": re.compile(r"^\s*(?:why|what (?:caused|brought|led|prompted|sparked)|for what reason)\b", re.IGNORECASE),
    "number": re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|amount|proportion)\b",
                         re.IGNORECASE),
}


def rare_terms(terms: Sequence[str], weights: Mapping[str, float], count: int = 2) -> tuple[str, ...]:
    """Return the question's rarest terms (highest IDF): its names and specific words."""
    ranked = sorted(dict.fromkeys(terms), key=lambda t: -weights.get(t, 0.0))
    return tuple(ranked[:count])


def question_kinds(question: str) -> frozenset[str]:
    """Return what a question asks for: 'who', 'when', 'why', 'number' (none, one or more)."""
    return frozenset(kind for kind, pattern in _ASKS.items() if pattern.search(question))


@dataclass(frozen=True)
class Asked:
    """What every candidate of one question is compared with: the question as read, its terms' weights, and what
    the corpus knows of it."""

    reading: Reading
    weights: Mapping[str, float]
    asked: tuple[str, ...] = ()
    unknown_names: int = 0
    known_share: float = 1.0
    synonyms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    absent_words: int = 0

    @functools.cached_property
    def rare(self) -> tuple[str, ...]:
        """The question's two rarest terms."""
        return rare_terms(self.reading.terms, self.weights)

    @functools.cached_property
    def kinds(self) -> frozenset[str]:
        """What the question asks for."""
        return question_kinds(self.reading.text)

    @functools.cached_property
    def bigrams(self) -> set[tuple[str, str]]:
        """The question's consecutive term pairs."""
        return set(itertools.pairwise(self.reading.terms))

    @functools.cached_property
    def words(self) -> set[str]:
        """The question's words as typed, lower-cased."""
        return set(self.reading.text.lower().split())


@functools.lru_cache(maxsize=4096)
def sentence_terms(text: str) -> frozenset[str]:
    """Return a sentence's stemmed terms; sentences recur across questions, so this is cached."""
    return frozenset(tokenize(text))


def coverage(terms: Sequence[str], text: str, weights: Mapping[str, float]) -> float:
    """The share of some terms, by weight, that a text holds."""
    if not terms:
        return 0.0
    present = sentence_terms(text)
    total = sum(weights.get(t, 1.0) for t in terms)
    return sum(weights.get(t, 1.0) for t in terms if t in present) / max(total, 1e-9)


def _bigram_share(bigrams: set[tuple[str, str]], sentence: str) -> float:
    """The share of the question's consecutive term pairs that the sentence has consecutively too."""
    if not bigrams:
        return 0.0
    tokens = tokenize(sentence)
    return len(bigrams & set(itertools.pairwise(tokens))) / len(bigrams)


def _chunk_number(chunk_id: str) -> int:
    """The position of a chunk in its article, from its id ('source#3' -> 3)."""
    number = chunk_id.rpartition("#")[2]
    return int(number) if number.isdigit() else 0


def sentence_features(asked: Asked, sentence: str, similarity: float, hit: Hit, speaker: str | None,
                      subject: str | None, pair: bool) -> Features:
    """Return what the ranker reads about one candidate quote of a retrieved passage."""
    reading = asked.reading
    present = sentence_terms(sentence)
    shape = 0.0 if reading.expects is None else (1.0 if has_expected_shape(reading.expects, sentence) else -1.0)
    if not asked.asked:
        voice = 0.0
    elif speaker in asked.asked or subject in asked.asked:
        voice = 1.0
    else:
        voice = -1.0 if speaker is not None else 0.0
    rare = asked.rare
    kinds = asked.kinds
    question_words = asked.words
    predicate = reading.predicate
    synonyms = asked.synonyms
    new_name = any(not all(w.lower() in question_words for w in m.group().split()) for m in _NAME.finditer(sentence))
    new_number = any(m.group().lower().strip(",.") not in question_words for m in _NUMBER.finditer(sentence))
    return Features(
        similarity=similarity, passage=hit.dense_score, coverage=coverage(reading.terms, sentence, asked.weights),
        rare_coverage=sum(1 for t in rare if t in present) / len(rare) if rare else 0.0,
        lexical=hit.lexical_score, retrieved=1.0 / hit.rank if hit.rank > 0 else 0.0, shape=shape, speaker=voice,
        quoted=1.0 if _QUOTE.search(sentence) else 0.0,
        opening=1.0 if _chunk_number(hit.chunk.chunk_id) == 0 else 0.0,
        length=math.log(max(len(sentence), 1)) / 6.0, expects=0.0 if reading.expects is None else 1.0,
        asks_speaker=1.0 if asked.asked else 0.0,
        novelty=len(present - set(reading.terms)) / len(present) if present else 0.0,
        who_person=float("who" in kinds and new_name),
        when_date=float("when" in kinds and bool(_EXACT_DATE.search(sentence))),
        why_cause=float("why" in kinds and bool(_CAUSE.search(sentence))),
        number_new=float("number" in kinds and new_number),
        unknown_names=float(min(asked.unknown_names, 2)), pair=float(pair),
        bigrams=_bigram_share(asked.bigrams, sentence), known_share=asked.known_share,
        predicate=sum(1 for t in predicate if t in present) / len(predicate) if predicate else 1.0,
        predicate_soft=sum(1 for t in predicate if t in present or present & synonyms.get(t, frozenset()))
        / len(predicate) if predicate else 1.0,
        absent_words=float(min(asked.absent_words, 3)),
    )


def predicate_words(reading: Reading) -> dict[str, str]:
    """The question's lower-case content words, each with its stemmed term: what the model compares."""
    wanted = set(reading.predicate)
    words = {}
    for word in re.findall(r"\b[a-z][a-z-]{2,}", reading.text):
        stems = tokenize(word)
        if stems and stems[0] in wanted:
            words[word] = stems[0]
    return words


def logit(p: float) -> float:
    """The log-odds of a probability, bounded."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def read_features(reader: float, first: float, features: Features) -> ReadFeatures:
    """What the second stage reads about a candidate: the reader's probability, the first stage's, and the
    candidate's own facts."""
    return ReadFeatures(reader=logit(reader), first=logit(first), speaker=features.speaker, shape=features.shape,
                        pair=features.pair, quoted=features.quoted, length=features.length)


def question_features(ranked: Sequence[tuple[float, float, float, Features]]) -> QuestionFeatures:
    """Return a question's features from its candidates' (probability, reader's probability, first stage's
    probability, features), best first."""
    if not ranked:
        return QuestionFeatures(*(0.0,) * len(QUESTION_FEATURES))
    best, _, first, top = ranked[0]
    reads = sorted((r for _, r, _, _ in ranked), reverse=True)
    return QuestionFeatures(
        best=best, second=ranked[1][0] if len(ranked) > 1 else 0.0, best_reader=reads[0],
        second_reader=reads[1] if len(reads) > 1 else 0.0,
        reader_strong=math.log1p(sum(1 for r in reads if r >= 0.5)), best_first=first,
        best_similarity=top.similarity, best_coverage=top.coverage, best_predicate=top.predicate_soft,
        best_shape=top.shape, best_speaker=top.speaker, known_share=top.known_share, unknown_names=top.unknown_names,
        absent_words=top.absent_words, expects=top.expects, asks_speaker=top.asks_speaker)
