"""The one place that decides to decline, names the rule that fired and says why: a name the articles never
mention in any form, no passage, a speaker they never quote on it, or the answer model's judgement (the reader's,
weighed with the rest) that the best candidates do not answer.

Pure functions: the pipeline measures word similarity with the encoder and passes the figures in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.answer.attribution import same_person
from bot.answer.features import question_features
from bot.answer.model import AnswerModel
from bot.answer.questions import Reading
from bot.answer.types import AnswerConfig, Candidate, Decline
from embeddings.records import Hit
from embeddings.terms import STOPWORDS, normalize, tokenize

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


# Every rule that declines, and when it fires: a declined answer names one (`--json` "declined", `newsbot eval`).
NO_WORDS_RULE = "no_words"            # the question has no words to look for
NEVER_MENTIONED = "never_mentioned"   # the person, or a name the question is about, is in no article in any form
NO_PASSAGES = "no_passages"           # retrieval found no passage with a quotable sentence
NOT_QUOTED = "not_quoted"             # the articles attribute nothing relevant to the person asked about
NOT_ANSWERED = "not_answered"         # the answer model finds the question unanswered by the candidates the reader read
NOT_IN_CITATIONS = "not_in_citations"  # a question about the last answer that its cited articles do not settle
RULES = (NO_WORDS_RULE, NEVER_MENTIONED, NO_PASSAGES, NOT_QUOTED, NOT_ANSWERED, NOT_IN_CITATIONS)


@dataclass(frozen=True)
class Decision:
    """Whether to answer and, if not, the rule that declined and why; when answering, the sentences that may carry
    the answer, best first."""

    answer: bool
    decline: Decline | None = None
    candidates: tuple[Candidate, ...] = ()
    confidence: float = 0.0
    # The full names of the people the question asks about, when it asks what someone said.
    asked: tuple[str, ...] = ()


def declining(rule: str, reason: str, confidence: float = 0.0) -> Decision:
    """A decision to decline by a rule, with its reason (never empty)."""
    assert rule in RULES and reason, (rule, reason)
    return Decision(False, Decline(rule, reason), confidence=confidence)


@dataclass(frozen=True)
class Missing:
    """The question's words that no article has in any form and no word of the closest passages says in other
    words: the names that decide (the person asked about, a name the question is explicitly about), and those that
    only weigh: other names, the words of its explicit subject, the other words of what it asks, the event."""

    deciding: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    # Lower-case words of the explicit subject ("... about nuclear weapons"): a reason may name them.
    subject: tuple[str, ...] = ()


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


def missing(unknown: Unknown, similarity: Mapping[str, float], config: AnswerConfig) -> Missing:
    """The missing words that no word of the closest passages says in other words."""
    def unmatched(words: Sequence[str]) -> list[str]:
        return [w for w in words if similarity.get(w, 0.0) < config.synonym_similarity]

    topic = unmatched(unknown.topic)
    # A name no article has in any form decides; a word or a verb may be a paraphrase ("found" for "discovery",
    # "died" for "passed away"): it weighs, and the reader judges.
    named = [w for w in topic if w[:1].isupper()]
    return Missing((*unknown.speaker, *named), tuple(unmatched(unknown.names)),
                   tuple(dict.fromkeys([*unmatched(unknown.predicate), *unmatched(unknown.event)])),
                   tuple(w for w in topic if w not in named))


def decide(reading: Reading, candidates: Sequence[Candidate], absent: Missing, model: AnswerModel,
           asked: Sequence[str] = ()) -> Decision:
    """Decide whether the ranked, verified candidate sentences answer the question; name the rule when they don't.

    `asked` holds the people the articles name that the question's speaker means, found across every article
    that names them; the candidates then include every sentence the articles attribute to them.
    """
    if absent.deciding:
        return declining(NEVER_MENTIONED, _never_mention(absent.deciding))
    if not candidates:
        return declining(NO_PASSAGES, "No passage of the articles comes close to the question.")
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
            return declining(NOT_QUOTED, f"They quote nobody as {names} on this.", candidates[0].relevance)
        candidates = spoken
    confidence = model.answerable(question_features([(c.relevance, c.read, c.first, c.features) for c in candidates]))
    if confidence < model.decline_below or candidates[0].relevance < model.point_below:
        # Said only when true, and only of names and of the words of its explicit subject: a verb of the question
        # missing word for word says nothing (the articles may say it in other words).
        words = [*absent.names, *absent.subject]
        reason = ("The closest passages do not answer it" + (f"; they never mention {_listed(words)}." if words
                                                              else "."))
        return declining(NOT_ANSWERED, reason, confidence)
    return Decision(True, candidates=tuple(candidates), confidence=confidence, asked=asked)


def no_words(reason: str) -> Decision:
    """Turn away a question with no words to look for."""
    return declining(NO_WORDS_RULE, reason)


def _listed(words: Sequence[str]) -> str:
    return ", ".join(f"“{w}”" for w in dict.fromkeys(words))


def _never_mention(words: Sequence[str]) -> str:
    return f"They never mention {_listed(words)}."


# What a question about the last answer asked for, as a decline says it.
_ABOUT_ANSWER = {"date": "when the cited articles were published", "outlet": "which outlet reported it",
                 "article": "which article it came from", "speaker": "who said it", "photo": "who took the photo",
                 "choice": "either value", "others": "whether other articles report it",
                 "venue": "where it was said"}


def decide_from_sources(found: bool, what: str) -> Decision:
    """Decline a question about the last answer when its cited articles do not tell (its date, outlet, speaker...)."""
    if found:
        return Decision(True, confidence=1.0)
    return declining(NOT_IN_CITATIONS, f"The cited articles do not say {_ABOUT_ANSWER.get(what, what)}.")
