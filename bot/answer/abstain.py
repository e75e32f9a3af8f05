"""The one place that decides to decline, and says why: a name, topic or event the articles never mention, an
answer of the wrong kind, a speaker they never quote on it, or nothing relevant enough.

Pure functions: the service measures word similarity with the model and passes the figures in.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

from bot.answer.attribution import same_person, speaker_bonus
from bot.answer.questions import Reading, has_expected_shape
from bot.answer.types import AnswerConfig, Candidate
from embeddings.lexical import STOPWORDS, normalize, tokenize
from embeddings.records import Hit

# A verb form, for comparing an event's verb with the passages' verbs only: as bare words, verbs sit close to the
# nouns of their context (elected ~ political 0.64, appointed ~ minister 0.54).
_VERB_FORM = re.compile(r"[a-z]{3,}(?:ed|ing)")
# How many of the closest passages may say a missing word in other words.
SYNONYM_PASSAGES = 3


@dataclass(frozen=True)
class Unknown:
    """The question's words that no article contains: names, words of its explicit topic, its event's verbs."""

    names: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    event: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Whether to answer and, if not, why; when answering, the sentences that may carry the answer, best first."""

    answer: bool
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()
    confidence: float = 0.0


def vocabulary_prefixes(vocabulary: Sequence[str]) -> frozenset[str]:
    """Return the six-letter prefixes of a vocabulary, for spelling variants of names (Tchaikovsky/Tchaikovskiy)."""
    return frozenset(term[:6] for term in vocabulary if len(term) >= 6)


def _known(word: str, vocabulary: Container[str], prefixes: Container[str]) -> bool:
    tokens = tokenize(word, keep_stopwords=True)
    if not tokens:
        return True
    return all(t in vocabulary or (len(t) >= 6 and t[:6] in prefixes) for t in tokens)


def unknown_words(reading: Reading, vocabulary: Container[str], prefixes: Container[str]) -> Unknown:
    """Return what the question names, asks about or asks the date or size of that no article mentions."""
    names = tuple(name for name in reading.names if not _known(name, vocabulary, prefixes))
    topic = tuple(w for w in reading.topic if not all(t in vocabulary for t in tokenize(w)))
    verbs = reading.event_verbs
    # One verb of the event in the articles is enough: the rest may be paraphrases.
    told = any(all(t in vocabulary for t in tokenize(v)) for v in verbs)
    return Unknown(names, topic, () if told else verbs)


def synonym_checks(unknown: Unknown, hits: Sequence[Hit]) -> dict[str, tuple[str, ...]]:
    """Return, for each missing topic word or event verb, the words of the closest passages that may say it."""
    if not (unknown.topic or unknown.event) or not hits:
        return {}
    words = sorted({w for hit in hits[:SYNONYM_PASSAGES]
                    for w in re.findall(r"[a-z][a-z-]{2,}", normalize(hit.chunk.text)) if w not in STOPWORDS})
    verbs = tuple(w for w in words if _VERB_FORM.fullmatch(w))
    checks = {word: tuple(words) for word in unknown.topic}
    checks.update({word: verbs for word in unknown.event})
    return {word: candidates for word, candidates in checks.items() if candidates}


def _missing(unknown: Unknown, similarity: Mapping[str, float], config: AnswerConfig) -> list[str]:
    """The missing words that no word of the closest passages says in other words."""
    topic = [w for w in unknown.topic if similarity.get(w, 0.0) < config.synonym_similarity]
    event = [w for w in unknown.event if similarity.get(w, 0.0) < config.synonym_similarity]
    # One event verb told in other words is enough.
    if len(event) < len(unknown.event):
        event = []
    return [*unknown.names, *topic, *event]


def decide(reading: Reading, candidates: Sequence[Candidate], unknown: Unknown, similarity: Mapping[str, float],
           config: AnswerConfig) -> Decision:
    """Decide whether the verified candidate sentences answer the question; say why not when they don't."""
    missing = _missing(unknown, similarity, config)
    if missing:
        listed = ", ".join(f"“{m}”" for m in dict.fromkeys(missing))
        return Decision(False, f"They never mention {listed}.")
    if not candidates:
        return Decision(False)
    if reading.expects is not None:
        candidates = [c for c in candidates if has_expected_shape(reading.expects, c.text)]
        if not candidates:
            return Decision(False, "No passage gives what the question asks for.")
    speaker = reading.speaker
    if speaker:
        if not any(same_person(c.speaker, speaker) for c in candidates):
            return Decision(False, f"They quote nobody as {speaker} on this.", confidence=candidates[0].relevance)
        candidates = sorted(candidates, key=lambda c: -(c.relevance + speaker_bonus(c.speaker, c.text, speaker,
                                                                                       config)))
    confidence = candidates[0].relevance
    if confidence < config.min_relevance:
        return Decision(False, confidence=confidence)
    return Decision(True, candidates=tuple(candidates), confidence=confidence)
