"""Is a question about something the articles mention at all? Names and topics checked against the corpus."""

from __future__ import annotations

import re
from collections.abc import Container, Sequence

from embeddings.lexical import STOPWORDS, tokenize

# Words that frame a question rather than name its subject.
FRAMING_WORDS = frozenset(
    """what which who whom whose when where why how many much does did do doing done think thinks believe
    believes view views say said says tell told mention mentioned report reported reports according give
    gave might may must can could would should shall will article articles outlet outlets source sources
    quote quotes cite cites cited coverage behalf regard regarding concerning position stance opinion
    opinions way ways""".split()
)
# Dates are answered from article metadata, not from words in the text.
_CALENDAR = frozenset(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday today yesterday tomorrow""".split()
)
_NOT_NAMES = STOPWORDS | FRAMING_WORDS | _CALENDAR
_NAME = re.compile(r"[A-Z][\w’'/-]*(?:\s+(?:of\s+|de\s+|la\s+)?[A-Z][\w’'/-]*)*")
_TOPIC = re.compile(
    r"\b(?:about|regarding|concerning|re|on the (?:subject|topic|issue|question) of|(?:position|stance|views?|"
    r"opinions?|thoughts) on)\s+(?P<topic>[^?.!;]+)", re.I
)


def _known(word: str, vocabulary: Container[str], prefixes: Container[str]) -> bool:
    tokens = tokenize(word, keep_stopwords=True)
    if not tokens:
        return True
    return all(t in vocabulary or (len(t) >= 6 and t[:6] in prefixes) for t in tokens)


def vocabulary_prefixes(vocabulary: Sequence[str]) -> frozenset[str]:
    """Return the six-letter prefixes of a vocabulary, for spelling variants of names (Zelensky/Zelenskyy)."""
    return frozenset(term[:6] for term in vocabulary if len(term) >= 6)


def question_names(question: str) -> list[str]:
    """Return the capitalized names in a question, leaving out a sentence's capitalized first word."""
    names = []
    for match in _NAME.finditer(question):
        words = match.group().split()
        starts_sentence = match.start() == 0 or question[: match.start()].rstrip().endswith((".", "?", "!", ":"))
        if starts_sentence:
            words = words[1:]
        words = [w for w in words if w.lower().strip("’'") not in _NOT_NAMES]
        if words:
            names.append(" ".join(words))
    return names


# The claim a yes/no question asks about ("Has X warned that <claim>?"), and "What is the <thing>?".
_CLAIM = re.compile(
    r"\b(?:warn|warned|say|said|claim|claimed|believe|believes|think|thinks|suggest|suggested|argue|argued|"
    r"insist|insisted|admit|admitted|deny|denied|fear|feared)\s+that\s+(?P<topic>[^?.!;]+)", re.I
)
_THING = re.compile(r"^\s*what (?:is|are|was|were) the\s+(?P<topic>[^?.!;]+)", re.I)
# In a claim, a verb may be a paraphrase ("bribed" for "corrupted"); a missing noun means another subject.
_AUXILIARY = frozenset("be been being is are was were has have had do does did get got".split())


def topic_terms(question: str) -> list[str]:
    """Return the content words of what a question is explicitly about ('... say about X?', '... warned that X?')."""
    match = _TOPIC.search(question) or _THING.search(question)
    if match:
        words = re.findall(r"[\w’'/-]+", match.group("topic"))
        return [w for w in words if tokenize(w) and w.lower() not in FRAMING_WORDS]
    claim = _CLAIM.search(question)
    if not claim:
        return []
    words = re.findall(r"[\w’'/-]+", claim.group("topic"))
    kept = []
    for previous, word in zip(["", *words], words, strict=False):
        verb_like = previous.lower() in _AUXILIARY or word.lower().endswith(("ed", "ing"))
        if tokenize(word) and word.lower() not in FRAMING_WORDS and not verb_like:
            kept.append(word)
    return kept


def missing_names(question: str, vocabulary: Container[str], prefixes: Container[str]) -> list[str]:
    """Return the names in a question that no article mentions."""
    return [name for name in question_names(question) if not _known(name, vocabulary, prefixes)]


def missing_topic_words(question: str, vocabulary: Container[str]) -> list[str]:
    """Return the words of the question's explicit topic that no article contains."""
    return [w for w in topic_terms(question) if not all(t in vocabulary for t in tokenize(w))]
