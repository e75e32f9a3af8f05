"""The one place that decides to decline, and says why: a name, topic or event the articles never mention, an
answer of the wrong kind, a speaker they never quote on it, or nothing relevant enough.

Pure functions: the service measures word similarity with the model and passes the figures in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.answer.attribution import same_person, speaker_bonus
from bot.answer.features import question_features
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
    """The question's words that no article contains in any form: names it uses, the person it asks about, words
    of its explicit topic, its event's verbs."""

    names: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    event: tuple[str, ...] = ()
    speaker: tuple[str, ...] = ()
    # The question's lower-case content words that no article has in any form.
    predicate: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorpusWords:
    """The articles' stemmed terms, sorted too, to find a word in any form they use (west ~ western)."""

    terms: Container[str]
    ordered: tuple[str, ...]

    def has_form(self, token: str) -> bool:
        """True when the articles hold the stemmed token, a longer form of it, or a spelling variant of a name."""
        if token in self.terms:
            return True
        for prefix in ([token] if len(token) >= 4 else []) + ([token[:6]] if len(token) >= 6 else []):
            at = bisect.bisect_left(self.ordered, prefix)
            if at < len(self.ordered) and self.ordered[at].startswith(prefix):
                return True
        return False


def corpus_words(vocabulary: Iterable[str]) -> CorpusWords:
    """Return the articles' words, ready for has_form."""
    ordered = tuple(sorted(vocabulary))
    return CorpusWords(frozenset(ordered), ordered)


@dataclass(frozen=True)
class Decision:
    """Whether to answer and, if not, why; when answering, the sentences that may carry the answer, best first."""

    answer: bool
    reason: str = ""
    candidates: tuple[Candidate, ...] = ()
    confidence: float = 0.0
    # The full names of the people the question asks about, when it asks what someone said.
    asked: tuple[str, ...] = ()


def _known(word: str, words: CorpusWords) -> bool:
    tokens = tokenize(word, keep_stopwords=True)
    return all(words.has_form(t) for t in tokens)


def unknown_words(reading: Reading, words: CorpusWords) -> Unknown:
    """Return what the question names, asks about or asks the date or size of that no article mentions in any
    form."""
    names = tuple(name for name in reading.names if not _known(name, words)
                  and (not reading.speaker or name.casefold() != reading.speaker.casefold()))
    speaker = (reading.speaker,) if reading.speaker and not _known(reading.speaker, words) else ()
    topic = tuple(w for w in reading.topic if not _known(w, words))
    verbs = reading.event_verbs
    # One verb of the event in the articles is enough: the rest may be paraphrases.
    told = any(_known(v, words) for v in verbs)
    absent = {t for t in reading.predicate if not words.has_form(t)}
    surface = tuple(dict.fromkeys(w for w in re.findall(r"\b[a-z][a-z-]{2,}", reading.text)
                                  if (s := tokenize(w)) and s[0] in absent))
    # What the question asks about its names that is nowhere in the articles: it weighs (the answer model reads
    # it), it does not decide alone, since a question may say in its own words what the articles say in theirs.
    predicate = surface
    return Unknown(names, topic, () if told else verbs, speaker, predicate)


def passage_words(hits: Sequence[Hit]) -> tuple[str, ...]:
    """The words of the closest passages, which may say the question's words in other words."""
    return tuple(sorted({w for hit in hits[:SYNONYM_PASSAGES]
                         for w in re.findall(r"[a-z][a-z-]{2,}", normalize(hit.chunk.text)) if w not in STOPWORDS}))


def synonym_checks(unknown: Unknown, hits: Sequence[Hit]) -> dict[str, tuple[str, ...]]:
    """Return, for each missing name, topic word or event verb, the words of the closest passages that may say it
    ("West" ~ "Western", "died" ~ "deaths")."""
    if not (unknown.topic or unknown.event or unknown.names or unknown.predicate) or not hits:
        return {}
    words = passage_words(hits)
    verbs = tuple(w for w in words if _VERB_FORM.fullmatch(w))
    checks = {word: tuple(words) for word in (*unknown.topic, *unknown.predicate,
                                              *(n for n in unknown.names if " " not in n))}
    checks.update({word: verbs for word in unknown.event})
    return {word: candidates for word, candidates in checks.items() if candidates}


def missing(unknown: Unknown, similarity: Mapping[str, float],
            config: AnswerConfig) -> tuple[list[str], list[str], list[str]]:
    """The missing words that no word of the closest passages says in other words: those that decide (the asked
    person, the explicit topic, the event), and those that only weigh: other names, and the other words of what
    the question asks."""
    def unmatched(words: Sequence[str]) -> list[str]:
        return [w for w in words if similarity.get(w, 0.0) < config.synonym_similarity]

    event = unmatched(unknown.event)
    # One event verb told in other words is enough.
    if len(event) < len(unknown.event):
        event = []
    return [*unknown.speaker, *unmatched(unknown.topic), *event], unmatched(unknown.names), unmatched(
        unknown.predicate)


def decide(reading: Reading, candidates: Sequence[Candidate], unknown: Unknown, similarity: Mapping[str, float],
           config: AnswerConfig, asked: Sequence[str] = ()) -> Decision:
    """Decide whether the verified candidate sentences answer the question; say why not when they don't.

    `asked` holds the people the articles name that the question's speaker means, found across every article
    that names them; the candidates then include every sentence the articles attribute to them.
    """
    deciding, names, words = missing(unknown, similarity, config)
    if deciding:
        return Decision(False, _never_mention(deciding))
    if not candidates:
        return Decision(False)
    if reading.expects is not None:
        candidates = [c for c in candidates if has_expected_shape(reading.expects, c.text)]
        if not candidates:
            return Decision(False, "No passage gives what the question asks for.")
    asked = tuple(asked)
    if asked:
        # Their words, or what the text says they did as its subject ("X had already called for talks", "X
        # distanced himself"): what someone said may be reported as an act.
        spoken = [c for c in candidates if same_person(c.speaker, asked) or same_person(c.subject, asked)]
        if not spoken and reading.reaction:
            # "The allies, as well as X, have distanced themselves from ...": a reaction told in a compound subject.
            surnames = {name.split()[-1] for name in asked}
            spoken = [c for c in candidates if any(re.search(rf"\b{re.escape(s)}\b", c.text) for s in surnames)]
        if not spoken:
            names = " or ".join(asked[:3])
            return Decision(False, f"They quote nobody as {names} on this.", confidence=candidates[0].relevance)
        if config.model is None:
            candidates = sorted(spoken, key=lambda c: -(c.relevance + speaker_bonus(c.speaker, c.text, asked,
                                                                                       config)))
        else:
            candidates = sorted(spoken, key=lambda c: -c.relevance)
    if config.model is not None:
        confidence = config.model.answerable(question_features([(c.relevance, c.features) for c in candidates]))
        floor = config.model.decline_below
    else:
        confidence, floor = candidates[0].relevance, config.min_relevance
    if confidence < floor:
        # Said only when true: names and words of the question that no article has in any form.
        absent = [*names, *words]
        return Decision(False, _never_mention(absent) if absent else "", confidence=confidence)
    return Decision(True, candidates=tuple(candidates), confidence=confidence, asked=asked)


def _never_mention(words: Sequence[str]) -> str:
    listed = ", ".join(f"“{w}”" for w in dict.fromkeys(words))
    return f"They never mention {listed}."


# What a question about the last answer asked for, as a decline says it.
_ABOUT_ANSWER = {"date": "when the cited articles were published", "outlet": "which outlet reported it",
                 "article": "which article it came from", "speaker": "who said it", "photo": "who took the photo",
                 "choice": "either value", "others": "whether other articles report it",
                 "venue": "where it was said"}


def decide_from_sources(found: bool, what: str) -> Decision:
    """Decline a question about the last answer when its cited articles do not tell (its date, outlet, speaker...)."""
    if found:
        return Decision(True, confidence=1.0)
    return Decision(False, f"The cited articles do not say {_ABOUT_ANSWER.get(what, what)}.")
