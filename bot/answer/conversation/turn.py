"""Take one turn of a conversation: read it against the last turns, answer it (from the articles, or from the last
answer's citations when it asks about them), say how it was read, and return the conversation with the turn added.
The same code serves `newsbot chat`, `ask --from-file` conversations and Discord threads, replies and DMs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.answer.conversation import about_answer
from bot.answer.conversation.followups import read_turn
from bot.answer.conversation.state import (
    ABOUT,
    FIRST,
    FOLLOW_UP,
    SHIFT,
    STANDALONE,
    Conversation,
    Preference,
    Reply,
    Turn,
    TurnReading,
    add_turn,
    focus_after,
    reading_from_shown,
)
from bot.answer.inputs import Cleaned
from bot.answer.names import CorpusNames
from bot.answer.pipeline import turned_away
from bot.answer.types import Answer, Candidate

READING_AS = "Reading this as: "
# Retrieval for a follow-up: a passage the conversation cited gains this share of its score, its article half as
# much (measured on the conversation sets: README, "Conversations").
CHUNK_BOOST = 0.10
SOURCE_BOOST = 0.05
# A sentence of a cited passage gains this much relevance; one the last answer gave loses this much (a follow-up
# asks for more). Follow-ups right on the seed conversations: 0.768 with no preference, 0.805 with this one.
SENTENCE_BOOST = 0.03
REPEAT_PENALTY = 0.03
# Another reading of "it" or "they" replaces the most salient one only when the corpus supports it this much better
# (its best passage's BM25 score): on the conversation sets, the same answers right, more of them as the gold's.
SUPPORT_MARGIN: float | None = 0.15
_WIDE = 16


class Answerer(Protocol):
    """What a turn needs answered (pipeline.Answering): cleaning, the corpus's names, answers, sentences and sources."""

    def clean(self, text: str) -> Cleaned: ...

    def names(self) -> CorpusNames: ...

    def ask(self, question: str, context: str | None = None, prefer: Preference | None = None) -> Answer: ...

    def sentences(self, query: str, k: int, prefer: Preference | None = None) -> list[Candidate]: ...

    def cited_sources(self, source_ids: Sequence[str]) -> about_answer.CitedSources: ...

    def support(self, names: str, text: str) -> float: ...


Condense = Callable[[Sequence[tuple[str, str]], str], "str | None"]


_ELSE = re.compile(r"\b(?:else|besides|other than|apart from|on top of)\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def preference(conversation: Conversation | None, question: str = "") -> Preference | None:
    """Return what retrieval favours for a follow-up in this conversation (nothing for a first question): the cited
    passages and articles, articles of a year the question names; for 'what else', not the sentences given."""
    if conversation is None or not conversation.turns:
        return None
    chunks, sources = conversation.cited()
    last = conversation.turns[-1].answer
    # "what else", "besides that": something other than what the last answer said.
    other = _ELSE.search(question)
    avoid = frozenset((c.source_id, c.start) for c in last.citations) if other else frozenset()
    given = frozenset((c.source_id, c.start) for c in last.citations)
    return Preference(chunks, sources, CHUNK_BOOST, SOURCE_BOOST, avoid, SENTENCE_BOOST,
                      frozenset(_YEAR.findall(question)), given, REPEAT_PENALTY)


def choose(readings: Sequence[TurnReading], support: Callable[[str, str], float]) -> TurnReading:
    """Pick the reading whose pronouns the corpus supports best (the question's words in a passage that names what
    they were read as), keeping the most salient unless another is clearly better."""
    if len(readings) == 1 or SUPPORT_MARGIN is None:
        return readings[0]
    scores = [support(" ".join(r.resolved), r.question) for r in readings]
    best = max(range(len(readings)), key=lambda i: scores[i])
    return readings[best] if scores[best] > scores[0] * (1 + SUPPORT_MARGIN) else readings[0]


def _history(conversation: Conversation | None) -> list[tuple[str, str]]:
    if conversation is None:
        return []
    return [(t.reading.shown, t.answer.answer) for t in conversation.turns]


def read(answering: Answerer, text: str, conversation: Conversation | None,
         condense: Condense | None = None) -> TurnReading:
    """Read a cleaned turn: by rules, or by the configured model when it answers (the rules otherwise)."""
    reading = choose(read_turn(text, conversation, answering.names()), answering.support)
    if condense is None or reading.kind in (FIRST, ABOUT) or conversation is None or not conversation.turns:
        return reading
    rewritten = condense(_history(conversation), text)
    if not rewritten:
        return reading
    return replace(reading, standalone=rewritten, context="", topic=rewritten, by="model",
                   kind=reading.kind if reading.kind not in (STANDALONE, SHIFT) else FOLLOW_UP)


def answer_reading(answering: Answerer, reading: TurnReading, conversation: Conversation | None) -> Answer:
    """Answer a reading: from the last answer's citations when it asks about them, else from the articles."""
    last = conversation.last if conversation else None
    prefer = None if reading.kind in (FIRST, SHIFT) else preference(conversation, reading.question)
    if reading.kind != ABOUT or last is None:
        return answering.ask(reading.standalone, context=reading.context or None, prefer=prefer)
    about = _about(answering, reading, last.reading.standalone, last.answer, prefer)
    if about.answered:
        return about
    # The citations do not tell: the articles may still say it elsewhere; if not, the citations' reason stands.
    asked = answering.ask(reading.standalone, context=reading.context or None, prefer=prefer)
    return asked if asked.answered else about


def _about(answering: Answerer, reading: TurnReading, previous_question: str, previous: Answer,
           prefer: Preference | None) -> Answer:
    if reading.about in ("others", "choice"):
        # "did others report the budget remarks?": what the question names, and what the last one asked.
        query = f"{reading.standalone} {previous_question}" + (" " + " ".join(reading.choices) if reading.choices
                                                              else "")
        candidates = answering.sentences(query, _WIDE, prefer)
        if reading.about == "others":
            return about_answer.about_others(reading.question, previous, candidates)
        return about_answer.about_choice(reading.question, previous, reading.choices, candidates)
    if reading.about == "article":
        return about_answer.about_article(reading.question, previous)
    sources = answering.cited_sources([c.source_id for c in previous.citations])
    compose = {"date": about_answer.about_date, "outlet": about_answer.about_outlet, "venue": about_answer.about_venue,
               "speaker": about_answer.about_speaker, "photo": about_answer.about_photo}[reading.about or "date"]
    return compose(reading.question, previous, sources)


def take_turn(answering: Answerer, question: str, conversation: Conversation | None = None,
              condense: Condense | None = None, reading: TurnReading | None = None) -> Reply:
    """Answer one turn and return it with the conversation that includes it (unchanged for a question without
    words). A given `reading` is answered as it is (a turn read back from a Discord thread)."""
    conversation = conversation or Conversation()
    cleaned = answering.clean(question)
    away = turned_away(cleaned)
    if away is not None:
        return Reply(TurnReading(cleaned.text, cleaned.text, FIRST), away, conversation)
    reading = reading or read(answering, cleaned.text, conversation, condense)
    answer = answer_reading(answering, reading, conversation)
    notices = [*cleaned.notices, *(n for n in answer.notices if n not in cleaned.notices)]
    if reading.rewritten:
        notices.insert(0, READING_AS + reading.shown)
    answer = replace(answer, question=cleaned.text, notices=tuple(dict.fromkeys(notices)))
    last = conversation.last
    focus = focus_after(reading.standalone, answer, answering.names(), last.focus if last else None)
    # A kept turn needs its citations, not its leads (the passages shown with a decline): memory stays bounded.
    return Reply(reading, answer, add_turn(conversation, Turn(reading, replace(answer, leads=()), focus)))


def resume(answering: Answerer, turns: Sequence[tuple[str, str]]) -> Conversation:
    """Rebuild a conversation from (question, how it was shown) pairs read back from a Discord thread: each turn is
    answered as it was read, so the state is what it was."""
    conversation = Conversation()
    for question, shown in turns:
        reading = reading_from_shown(question, shown, not conversation.turns)
        conversation = take_turn(answering, question, conversation, reading=reading).conversation
    return conversation
