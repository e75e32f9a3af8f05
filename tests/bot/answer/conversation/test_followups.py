"""Reading a conversation's turns, by rules over any corpus: a known of its names, pronouns, fragments, topic
shifts, questions about the last answer; the state's bounds (pure functions, fast tier)."""

from __future__ import annotations

import pytest

from bot.answer.conversation.followups import read_turn, strip_shift
from bot.answer.conversation.state import (
    ABOUT,
    FIRST,
    FOLLOW_UP,
    MAX_TURNS,
    SHIFT,
    STANDALONE,
    Conversation,
    ConversationStore,
    Turn,
    TurnReading,
    add_turn,
    focus_after,
    reading_from_shown,
)
from bot.answer.names import PERSON, PLACE, build_names
from bot.answer.types import Answer, Citation, Point

pytestmark = pytest.mark.fast

# A corpus nobody's rules were written for: invented people, places and a newspaper.
ARTICLES = (
    "Mayor Jane Doe said the harbour bridge in Atlantis would open in June 2019. The Harbor Gazette Weekly "
    "reported the plan. Doe added that the budget was safe.",
    "Governor Rob Roe said in Atlantis that the bridge would cost more. Roe told the Harbor Gazette Weekly that "
    "tolls would rise in 2020.",
    "The ferry Blue Heron sailed from Atlantis to Lemuria on Monday.",
)
NAMES = build_names(ARTICLES, people=("Jane Doe", "Rob Roe"))


def answered(question: str, quote: str, source_id: str = "a1", speaker: str | None = None) -> Answer:
    citation = Citation(1, source_id, f"{source_id}#0", quote, 0, len(quote), "A title", "2019-05-01",
                        speaker=speaker)
    return Answer(question, True, f"{quote} [1]", (citation,), (Point(quote, (1,), speaker),))


def after(*turns: tuple[str, Answer]) -> Conversation:
    conversation = Conversation()
    for question, answer in turns:
        reading = read_turn(question, conversation, NAMES)[0]
        focus = focus_after(reading.standalone, answer, NAMES, conversation.last.focus if conversation.last
                            else None)
        conversation = add_turn(conversation, Turn(reading, answer, focus))
    return conversation


BRIDGE = ("what did doe say about the bridge?", answered("What did Doe say about the bridge?",
                                                        "Mayor Jane Doe said the harbour bridge would open.",
                                                        speaker="Doe"))


def test_the_lexicon_spells_and_sorts_a_corpus_names() -> None:
    assert NAMES.lookup("doe") == "Doe" and NAMES.kind("Doe") == PERSON
    assert NAMES.lookup("atlantis") == "Atlantis" and NAMES.kind("Atlantis") == PLACE
    assert NAMES.lookup("hgw") == "Harbor Gazette Weekly"  # initials typed for a name
    assert NAMES.lookup("doe's") == "Doe"
    # Words the articles write in lower case are words, whatever a headline capitalizes.
    assert NAMES.lookup("bridge") is None and NAMES.lookup("the") is None


def test_a_first_question_is_read_as_typed_with_lower_case_names_spelled() -> None:
    [reading] = read_turn("what did doe say about the bridge?", None, NAMES)
    assert reading.kind == FIRST and reading.standalone == "what did Doe say about the bridge?"
    assert not reading.rewritten


def test_a_pronoun_is_the_last_person_in_play() -> None:
    [reading] = read_turn("why did he say it?", after(BRIDGE), NAMES)
    assert reading.kind == FOLLOW_UP
    assert reading.standalone.startswith("Why did Doe say it")
    assert "harbour bridge would open" in reading.context  # "it" is what the last answer said
    assert reading.rewritten and "— following “" in reading.shown


def test_a_fragment_is_completed_from_the_last_question() -> None:
    [swapped] = read_turn("and roe?", after(BRIDGE), NAMES)
    assert swapped.standalone == "What did Roe say about the bridge?"
    [when] = read_turn("until when?", after(("is the bridge open in atlantis?", answered("q", "It opened."))),
                       NAMES)
    assert when.standalone == "Until when is the bridge open in Atlantis?"


def test_a_topic_shift_starts_afresh() -> None:
    assert strip_shift("ok different thing - what about tolls?") == ("what about tolls?", True)
    [reading] = read_turn("btw what did roe say about tolls", after(BRIDGE), NAMES)
    assert reading.kind == SHIFT and reading.standalone == "what did Roe say about tolls"
    [own] = read_turn("what did roe say about tolls in atlantis", after(BRIDGE), NAMES)
    assert own.kind == STANDALONE


@pytest.mark.parametrize(("question", "about", "choices"), [
    ("which outlet reported that?", "outlet", ()),
    ("when was that?", "date", ()),
    ("what year tho", "date", ()),
    ("did anyone else say the same?", "others", ()),
    ("is it 2019 or 2020?", "choice", ("2019", "2020")),
    ("says who?", "speaker", ()),
    ("who took the photo?", "photo", ()),
    ("which article was that from?", "article", ()),
    ("where did he say that?", "venue", ()),
    ("who was she talking to", "venue", ()),
])
def test_questions_about_the_last_answer(question: str, about: str, choices: tuple[str, ...]) -> None:
    [reading] = read_turn(question, after(BRIDGE), NAMES)
    assert (reading.kind, reading.about, reading.choices) == (ABOUT, about, choices)


def test_an_answer_question_needs_an_answer_to_ask_about() -> None:
    declined = ("what did doe say about ferries?", Answer("q", False, "The articles don't say."))
    [reading] = read_turn("which outlet reported that?", after(declined), NAMES)
    assert reading.kind != ABOUT


def test_what_is_in_play_after_a_turn() -> None:
    focus = after(BRIDGE).last.focus
    assert focus.people[0] == "Doe"
    assert "harbour bridge" in focus.statement


def test_how_a_turn_was_shown_reads_back_as_it_was() -> None:
    reading = TurnReading("when?", "When did Doe say it?", FOLLOW_UP, context="the bridge would open")
    back = reading_from_shown("when?", reading.shown, first=False)
    assert (back.standalone, back.context) == ("When did Doe say it?", "the bridge would open")
    assert reading_from_shown("q", "What did Doe say?", first=True).standalone == "What did Doe say?"


def test_a_conversation_keeps_its_last_turns_and_counts_them_all() -> None:
    conversation = Conversation()
    turn = after(BRIDGE).last
    for _ in range(MAX_TURNS + 3):
        conversation = add_turn(conversation, turn)
    assert len(conversation.turns) == MAX_TURNS and conversation.count == MAX_TURNS + 3


def test_the_store_forgets_the_least_recently_used_conversation() -> None:
    store = ConversationStore(limit=2)
    store.put("a", Conversation())
    store.put("b", Conversation())
    assert store.get("a") is not None  # "a" is now the most recent
    store.put("c", Conversation())
    assert "b" not in store and "a" in store and "c" in store and len(store) == 2
