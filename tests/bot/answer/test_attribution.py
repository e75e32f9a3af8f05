"""Who speaks: people named in full or by title, short forms within an article, organisations and places never
people, speech verbs of general English, attributions before, after and in the next sentence."""

from __future__ import annotations

import pytest

from bot.answer.attribution import find_people, matching_people, read_voices
from embeddings.ingest.sentences import split_sentences

pytestmark = pytest.mark.fast


def voices_of(text: str) -> tuple[dict[str, str | None], list[str]]:
    spans = split_sentences(text, 0, len(text))
    voices = read_voices(text, spans)
    return {text[a:b]: voices.speaker((a, b)) for a, b in spans}, [p.name for p in voices.people]


def test_a_full_name_then_its_surname_and_a_pronoun_are_one_speaker() -> None:
    text = ("The Foreign Affairs Minister Alexander Downer has refused to say how long the claims are on hold. "
            "But he says the major threat is no longer there. "
            '"The Taliban is finished," Mr Downer said.')
    speakers, people = voices_of(text)
    assert people == ["Alexander Downer"]
    assert list(speakers.values()) == [None, "Alexander Downer", "Alexander Downer"]


def test_organisations_and_places_are_nobodys_voice() -> None:
    text = ("IDFC First Bank said profits rose. The Board said nothing more. "
            "Australia said it would reply. The Kremlin said talks were off.")
    speakers, people = voices_of(text)
    assert people == [] and set(speakers.values()) == {None}


def test_the_person_after_an_organisations_role_word_speaks() -> None:
    text = '"We will review the tour," said Cricket Australia chair Mike Baird.'
    speakers, _ = voices_of(text)
    assert list(speakers.values()) == ["Mike Baird"]


def test_an_act_is_not_speech_and_an_agent_is_not_a_subject() -> None:
    text = "The side coached by Mike Hesson continued to snub the veterans. Mike Hesson called for calm."
    speakers, _ = voices_of(text)
    assert set(speakers.values()) == {None}


def test_two_people_with_one_surname_stay_two() -> None:
    text = ("Student leader Kanhaiya Kumar said the vote was rigged. "
            "Election commissioner Gyanesh Kumar said the rolls were clean. "
            "Kumar added that an inquiry would follow.")
    speakers, people = voices_of(text)
    assert people == ["Kanhaiya Kumar", "Gyanesh Kumar"]
    assert list(speakers.values()) == ["Kanhaiya Kumar", "Gyanesh Kumar", "Gyanesh Kumar"]
    found = find_people(text, [(0, len(text))])
    assert [p.name for p in matching_people("Gyanesh Kumar", found)] == ["Gyanesh Kumar"]
    assert {p.name for p in matching_people("kumar", found)} == {"Kanhaiya Kumar", "Gyanesh Kumar"}
    assert matching_people("Sonia Kumar", found) == []


def test_a_first_name_alone_is_the_person_named_with_it() -> None:
    text = "Former cricketer Yograj Singh spoke to reporters. Yograj observed that the team lacked spirit."
    speakers, people = voices_of(text)
    assert people == ["Yograj Singh"]
    assert list(speakers.values())[-1] == "Yograj Singh"


@pytest.mark.parametrize("verb", ["observed", "opined", "posted", "revealed", "quipped", "told reporters"])
def test_speech_verbs_beyond_said(verb: str) -> None:
    speakers, _ = voices_of(f"Coach Jane Doe {verb} that the pitch was slow.")
    assert list(speakers.values()) == ["Jane Doe"]


def test_a_lower_case_title_before_an_inverted_name() -> None:
    speakers, _ = voices_of('"He is ready," said national selector Luke Wright.')
    assert list(speakers.values()) == ["Luke Wright"]


def test_a_participle_speaks_with_its_clause() -> None:
    speakers, _ = voices_of("President Ana Lima has dismissed any talks, telling the paper she would not yield.")
    assert list(speakers.values()) == ["Ana Lima"]


def test_a_quote_takes_the_attribution_of_the_next_sentence() -> None:
    text = ('Captain Steve Waugh is not reading too much into it. "It will be significant later. '
            '"It\'s nice for the family," he said.')
    speakers, _ = voices_of(text)
    assert set(list(speakers.values())[1:]) == {"Steve Waugh"}


def test_a_spokesperson_speaks_for_someone_without_being_them() -> None:
    text = ("A spokesman for Immigration Minister Philip Ruddock says damage is estimated at $2 million. "
            "He says six officers were injured.")
    speakers, _ = voices_of(text)
    assert set(speakers.values()) == {None}


def test_a_pronoun_is_the_person_named_earlier_in_its_sentence() -> None:
    text = ("Minister Rosa Keller said talks must go on. "
            "During President Omar Said's visit to Lyon, he said there was no pressure.")
    speakers, _ = voices_of(text)
    assert list(speakers.values()) == ["Rosa Keller", "Omar Said"]
