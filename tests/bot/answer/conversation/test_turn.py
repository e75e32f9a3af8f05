"""Turns of a conversation through the whole answering flow on the fast tier's fake embedder: how a turn is said
to be read, answers about the last answer quoted verbatim, declines with a reason, the retrieval preference."""

from __future__ import annotations

import pytest

from bot.answer.conversation.state import ABOUT, Conversation, Preference
from bot.answer.conversation.turn import READING_AS, preference
from bot.answer.pipeline import PREFER_EXTRA
from bot.answer.rank import favour_passages

pytestmark = pytest.mark.fast


def turns(service, *questions: str):
    conversation: Conversation | None = None
    replies = []
    for question in questions:
        reply = service.converse(question, conversation)
        conversation = reply.conversation
        replies.append(reply)
    return replies


def verbatim(service, answer) -> None:
    for citation in answer.citations:
        assert service.index.articles[citation.source_id].text[citation.start:citation.end] == citation.quote


def test_a_rewritten_follow_up_says_how_it_was_read(fake_service) -> None:
    first, second = turns(fake_service, "What did crosetto say about troops?", "what did he say about diplomacy?")
    assert first.turn == 1 and second.turn == 2
    assert not any(n.startswith(READING_AS) for n in first.answer.notices)
    assert second.reading.standalone == "What did Crosetto say about diplomacy?"
    # One topic word: read with the last question too, and shown so.
    assert second.answer.notices[0] == (READING_AS + "What did Crosetto say about diplomacy? — following “What did "
                                        "Crosetto say about troops?”")
    assert second.answer.question == "what did he say about diplomacy?"  # the answer keeps what was typed


def test_the_date_of_an_answer_is_quoted_from_its_dateline(fake_service) -> None:
    replies = turns(fake_service, "What did Crosetto say in parliament about signals from both sides?",
                    "when was that?")
    about = replies[-1]
    assert about.reading.kind == ABOUT and about.reading.about == "date"
    assert about.answer.answered
    verbatim(fake_service, about.answer)
    assert any(c.date and c.date in about.answer.answer for c in about.answer.citations)


def test_the_outlets_of_an_answer_are_the_sentences_that_name_them(fake_service) -> None:
    replies = turns(fake_service, "Did Crosetto say Russia is attacking Italy with a hybrid war?",
                    "which news agencies reported this")
    about = replies[-1].answer
    assert about.answered
    verbatim(fake_service, about)


def test_a_follow_up_about_what_no_article_mentions_is_declined_with_why(fake_service) -> None:
    replies = turns(fake_service, "What did Crosetto say about troops?", "and what did he say about Gaza?")
    assert not replies[-1].answer.answered
    assert "“Gaza”" in replies[-1].answer.answer


def test_a_question_without_words_adds_no_turn(fake_service) -> None:
    [first] = turns(fake_service, "What did Crosetto say about troops?")
    empty = fake_service.converse("???", first.conversation)
    assert not empty.answer.answered and empty.conversation is first.conversation


def test_the_preference_favours_cited_passages_without_hiding_better_ones(fake_service) -> None:
    [first] = turns(fake_service, "What did Crosetto say about troops?")
    prefer = preference(first.conversation, "and the Pokrovsk front?")
    assert isinstance(prefer, Preference) and prefer.chunks
    query = "Pokrovsk logistical hub captured"
    hits = favour_passages(fake_service.retriever.search(query, 5 + PREFER_EXTRA), prefer, 5)
    assert hits[0].chunk.source_id == "001_886bf2f9db0ce233"  # the one article about it still ranks first
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert preference(None) is None and preference(Conversation()) is None


def test_what_else_gives_other_sentences(fake_service) -> None:
    first, second = turns(fake_service, "What did Crosetto say about troops?", "what else did he say?")
    given = {(c.source_id, c.start) for c in first.answer.citations}
    assert given.isdisjoint({(c.source_id, c.start) for c in second.answer.citations})


HOSTILE = ["", "   ", "\u200b\u202e", "?" * 5000, "he " * 3000, "and " * 2000 + "?", "x — following “y”",
           "is it " + "a or " * 500 + "b?", "when was that" * 300, "<@123> **bold** `code` @everyone",
           "it it it it it", "and?", "ok different thing -", "why not" + "\x00" * 10, "what year tho" + " 2024" * 400]


def test_hostile_turns_are_answered_or_declined_never_raised(fake_service) -> None:
    conversation = None
    for text in HOSTILE:
        reply = fake_service.converse(text, conversation)
        conversation = reply.conversation
        assert isinstance(reply.answer.answer, str) and reply.answer.answer
        assert len(reply.reading.shown) <= 3 * fake_service.settings.max_question_chars + 1000
    assert conversation.count <= len(HOSTILE)
