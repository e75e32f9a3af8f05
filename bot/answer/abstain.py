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


# What a 'how many' question counts: "How many tanks has Italy sent?" -> tanks.
_COUNTED = re.compile(
    r"^\s*how (?:many|much)\s+(?P<topic>(?:(?!(?:has|have|had|did|does|do|is|are|was|were|will|would|can|could)\b)"
    r"[\w’'/-]+\s*)+)", re.I
)


def topic_terms(question: str) -> list[str]:
    """Return the content words of what a question is explicitly about ('... say about X?', '... warned that X?',
    'how many X ...?')."""
    match = _TOPIC.search(question) or _THING.search(question) or _COUNTED.search(question)
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


# Questions that ask for the date or size of an event: "When was X appointed ...?", "How many ... has X lost?".
_ASKS_FOR_EVENT = re.compile(
    r"^\s*(?:until |since |by |from |on |in )?(?:when|(?:what|which) (?:year|date|day|month)|how (?:many|much|long))\b",
    re.I,
)
# Words after which the next one is the verb: auxiliaries, modals, "to" and "not".
_BEFORE_VERB = _AUXILIARY | frozenset("will would can could shall should may might must to not never".split())
# Light verbs take their meaning from their object ("take Kharkiv" is "capture the city"): they name no event.
_LIGHT_VERBS = frozenset(
    """take takes took taken taking make makes made making give gives gave given giving get gets getting go goes
    went gone going come comes came coming put puts putting keep keeps kept keeping hold holds held holding set
    sets setting let lets""".split()
)


def event_verbs(question: str) -> list[str]:
    """Return the verbs of the event a 'when' or 'how many' question asks about ('appointed', 'lost', 'rule')."""
    if not _ASKS_FOR_EVENT.search(question):
        return []
    words = re.findall(r"[\w’'-]+", question)
    verbs = []
    for previous, word in zip(["", *words], words, strict=False):
        if previous.lower() in _BEFORE_VERB or (len(word) > 4 and word.lower().endswith(("ed", "ing"))):
            verbs.append(word)
    # A verb after a named subject ("When did Russia plan ...") is left out: unmarked, it cannot be told from a noun.
    return _event_words(verbs)


def _event_words(words: list[str]) -> list[str]:
    return list(dict.fromkeys(
        w.lower() for w in words
        if not w[:1].isupper() and w.lower() not in _NOT_NAMES and w.lower() not in _LIGHT_VERBS and tokenize(w)
    ))


def missing_event(question: str, vocabulary: Container[str]) -> list[str]:
    """Return the event's verbs when none of them is in any article (one known verb is enough: the rest may be
    paraphrases)."""
    verbs = event_verbs(question)
    if any(all(t in vocabulary for t in tokenize(v)) for v in verbs):
        return []
    return verbs


def missing_names(question: str, vocabulary: Container[str], prefixes: Container[str]) -> list[str]:
    """Return the names in a question that no article mentions."""
    return [name for name in question_names(question) if not _known(name, vocabulary, prefixes)]


def missing_topic_words(question: str, vocabulary: Container[str]) -> list[str]:
    """Return the words of the question's explicit topic that no article contains."""
    return [w for w in topic_terms(question) if not all(t in vocabulary for t in tokenize(w))]
