"""What the answer model reads about a candidate sentence: how close it is to the question, what of the question it
holds, whether it has the kind of answer asked for, and who speaks in it. Pure functions over plain values."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from bot.answer.questions import Reading, has_expected_shape
from embeddings.lexical import tokenize

# The order of the values in a feature vector, and of the weights in bot/answer/answer_model.json.
FEATURES = (
    "similarity",      # cosine of the sentence to the question
    "passage",         # cosine of its passage to the question
    "coverage",        # share of the question's terms it holds, by IDF
    "rare_coverage",   # share of the question's two rarest terms it holds
    "lexical",         # its passage's BM25 score, relative to the best
    "retrieved",       # 1 / rank of its passage among the retrieved, 0 for a passage found by its speaker
    "shape",           # +1 has the kind of answer asked for (a date, a number...), -1 lacks it, 0 none asked
    "speaker",         # +1 spoken (or done) by the person asked about, -1 by someone else, 0 neither
    "quoted",          # holds a quotation
    "opening",         # in the first passage of its article
    "length",          # log of its length in characters
    "expects",         # the question asks for a date, a number, a duration or an age
    "asks_speaker",    # the question asks what someone the articles name said
    "novelty",         # share of its terms that the question does not have: an answer tells something new
    "who_person",      # a "who" question and a name the question does not have
    "when_date",       # a "when" question and an exact date or time (a day, a month and day, a clock time)
    "why_cause",       # a "why" question and a word of cause (because, due to, after, led to...)
    "number_new",      # a "how many/much" question and a number the question does not have
    "unknown_names",   # names of the question that no article has in any form (0, 1, 2 or more)
    "pair",            # two consecutive sentences quoted together
    "bigrams",         # share of the question's consecutive terms found consecutive in it
    "known_share",     # share of the question's terms, by IDF, that the articles have at all
    "predicate",       # share of the question's lower-case content terms (what it asks of its names) it holds
    "predicate_soft",  # the same, counting a word the model puts close to the question's ('deaths' for 'died')
    "absent_words",    # the question's lower-case content words no article has in any form (0 to 3)
)
_QUOTE = re.compile(r"[“”\"]")
_NAME = re.compile(r"\b[A-Z][a-z’'-]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-z’'-]+)+")
_NUMBER = re.compile(r"\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundred|thousand|million|billion|dozens?)\b", re.IGNORECASE)
_MONTHS = (r"January|February|March|April|May|June|July|August|September|October|November|December|"
           r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec")
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


def sentence_features(reading: Reading, sentence: str, present: frozenset[str], *, similarity: float,
                      passage: float, coverage: float, rare: Sequence[str], lexical: float, rank: int,
                      chunk_number: int, speaker: str | None, subject: str | None,
                      asked: Sequence[str], kinds: frozenset[str] = frozenset(),
                      unknown_names: int = 0, pair: bool = False, bigrams: float = 0.0, known_share: float = 1.0,
                      predicate: Sequence[str] = (),
                      synonyms: Mapping[str, frozenset[str]] | None = None,
                      absent_words: int = 0) -> tuple[float, ...]:
    """Return one candidate sentence's feature vector, in the order of FEATURES."""
    shape = 0.0 if reading.expects is None else (1.0 if has_expected_shape(reading.expects, sentence) else -1.0)
    if not asked:
        voice = 0.0
    elif speaker in asked or subject in asked:
        voice = 1.0
    else:
        voice = -1.0 if speaker is not None else 0.0
    rare_share = sum(1 for t in rare if t in present) / len(rare) if rare else 0.0
    question_words = set(reading.text.lower().split())
    novelty = len(present - set(reading.terms)) / len(present) if present else 0.0
    new_name = any(not all(w.lower() in question_words for w in m.group().split()) for m in _NAME.finditer(sentence))
    new_number = any(m.group().lower().strip(",.") not in question_words for m in _NUMBER.finditer(sentence))
    return (
        similarity, passage, coverage, rare_share, lexical, 1.0 / rank if rank > 0 else 0.0, shape, voice,
        1.0 if _QUOTE.search(sentence) else 0.0, 1.0 if chunk_number == 0 else 0.0,
        math.log(max(len(sentence), 1)) / 6.0, 0.0 if reading.expects is None else 1.0,
        1.0 if asked else 0.0, novelty,
        float("who" in kinds and new_name), float("when" in kinds and bool(_EXACT_DATE.search(sentence))),
        float("why" in kinds and bool(_CAUSE.search(sentence))), float("number" in kinds and new_number),
        float(min(unknown_names, 2)), float(pair), bigrams, known_share,
        sum(1 for t in predicate if t in present) / len(predicate) if predicate else 1.0,
        sum(1 for t in predicate if t in present or present & (synonyms or {}).get(t, frozenset())) / len(predicate)
        if predicate else 1.0,
        float(min(absent_words, 3)),
    )


def predicate_words(reading: Reading) -> dict[str, str]:
    """The question's lower-case content words, each with its stemmed term: what the model compares."""
    wanted = set(reading.predicate)
    question = reading.text
    words = {}
    for word in re.findall(r"\b[a-z][a-z-]{2,}", question):
        stems = tokenize(word)
        if stems and stems[0] in wanted:
            words[word] = stems[0]
    return words


# What the decline model reads about a question: how its best candidates look, and what the corpus lacks of it.
QUESTION_FEATURES = (
    "best",            # the ranker's probability for the best candidate
    "second",          # and for the second best
    "best_similarity", # the best candidate's cosine to the question
    "best_coverage",   # its coverage of the question's terms
    "best_predicate",  # its share of the question's lower-case content terms, synonyms counted
    "best_shape",      # whether it has the kind of answer asked for
    "best_speaker",    # whether the person asked about speaks in it
    "known_share",     # share of the question's terms the articles have at all
    "unknown_names",   # names of the question no article has
    "absent_words",    # lower-case content words of the question no article has
    "expects",         # the question asks for a date or a number
    "asks_speaker",    # the question asks what someone said
    "strong",          # how many candidates the ranker gives at least 0.5 (log)
)
_AT = {name: i for i, name in enumerate(FEATURES)}


def question_features(ranked: Sequence[tuple[float, Sequence[float]]]) -> tuple[float, ...]:
    """Return a question's features from its candidates' (probability, features), best first."""
    if not ranked:
        return (0.0,) * len(QUESTION_FEATURES)
    best, top = ranked[0]
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    strong = sum(1 for p, _ in ranked if p >= 0.5)
    picked = [top[_AT[name]] for name in ("similarity", "coverage", "predicate_soft", "shape", "speaker",
                                          "known_share", "unknown_names", "absent_words", "expects", "asks_speaker")]
    return (best, second, *picked, math.log1p(strong))
