from functools import cache

import pytest

from bot.answer.abstain import Missing
from bot.answer.candidates import candidate_quotes
from bot.answer.compose import disagreement, facts, near_duplicate
from bot.answer.features import Asked
from bot.answer.model import load_model
from bot.answer.pipeline import Prepared, conclude
from bot.answer.questions import read_question
from bot.answer.types import ANSWER_CONFIG, Answer
from embeddings.encoders.reader import SHIPPED_READER, OnnxReader
from embeddings.records import Chunk, Hit, SourceInfo

TROOPS = "What did Crosetto say about troops?"


def answer_from(question: str, hits, texts) -> Answer:
    """The pure steps of answering after retrieval (rank, decide, compose), with nothing missing from the corpus."""
    reading = read_question(question)
    quotes = candidate_quotes(Asked(reading, {}), hits, texts)
    return conclude(Prepared(reading, tuple(hits), tuple(quotes), Missing(), (), None, ANSWER_CONFIG), load_model(),
                    shipped_reader())


@cache
def shipped_reader() -> OnnxReader:
    return OnnxReader(SHIPPED_READER)


def verbatim(answer: Answer, service) -> None:
    for citation in answer.citations:
        text = service.index.articles[citation.source_id].text
        assert text[citation.start : citation.end] == citation.quote
        assert citation.quote in (service.settings.seeds_dir / f"{citation.source_id}.txt").read_text("utf-8")


def test_the_troops_question_cites_the_la_stampa_article_verbatim(service):
    answer = service.ask(TROOPS)
    assert answer.answered
    assert "004_347bbc5789c47b0a" in {c.source_id for c in answer.citations}
    assert any("troops" in c.quote for c in answer.citations)
    assert "[1]" in answer.answer
    verbatim(answer, service)
    assert answer.as_of == "2024-03-10"


def test_the_same_quote_in_three_outlets_is_shown_once_with_three_citations(service):
    answer = service.ask("Which outlets reported Crosetto's call for incisive diplomacy?")
    point = next(p for p in answer.points if "incisive diplomacy" in p.text)
    cited = {answer.citations[n - 1].source_id for n in point.citations}
    assert cited == {"002_bbfe8ec924329285", "003_bd3c63c39b2dbf1a", "004_347bbc5789c47b0a"}
    assert answer.answer.count("incisive diplomacy") == 1
    assert "reported by 3 sources" in answer.answer
    verbatim(answer, service)


def test_sources_that_disagree_on_a_year_are_flagged_with_both_sides(service):
    answer = service.ask("How did Ukraine's counteroffensive go, according to Crosetto?")
    note = " ".join(answer.notes)
    assert "Sources differ on the year" in note and "2022" in note and "2023" in note


def test_a_speaker_question_prefers_that_speakers_words(service):
    answer = service.ask("What did Macron say about Western troops in Ukraine?")
    assert answer.answered
    assert answer.citations[0].speaker == "Emmanuel Macron"
    assert "ruled out" in answer.citations[0].quote


# Near-topic questions the reader (issue 20) still takes for answered: the person asked about is quoted on another
# subject (0.57 for "No to the military in Ukraine" asked about China's role), or the article tells of the person but
# not of the event asked about. Kept as known failures until it learns them.
NEAR_TOPIC = pytest.mark.xfail(reason="issue 20: a statement near the subject still reads as an answer")


@pytest.mark.parametrize("question", [
    "What is the capital of Australia?",
    pytest.param("What did Crosetto say about China's role in the war?", marks=NEAR_TOPIC),
    "How many F-16 fighter jets has Italy delivered to Ukraine?",
    pytest.param("What did Crosetto say about nuclear weapons?", marks=NEAR_TOPIC),
    "What did Giorgia Meloni say about sending Western troops to Ukraine?",
    pytest.param("When was Guido Crosetto appointed Italy's defence minister?", marks=NEAR_TOPIC),
    "How many tanks has Italy sent to Ukraine?",
    "Who won the 2024 European football championship?",
])
def test_unanswerable_questions_are_not_answered(service, question):
    answer = service.ask(question)
    assert not answer.answered, question
    assert answer.answer.startswith("The articles don't say.")
    assert not answer.citations
    assert answer.leads
    assert answer.decline is not None and answer.decline.reason


def test_a_when_question_is_answered_when_its_event_is_told_in_other_words(service):
    # "keep sending" is told as "continue providing military supplies ... through the end-2024".
    answer = service.ask("Until when will Italy keep sending military aid to Kyiv?")
    assert answer.answered
    assert any("2024" in c.quote for c in answer.citations)
    # A verb missing word for word never declines alone: a paraphrase is not absence.
    appointed = service.ask("When was Guido Crosetto appointed Italy's defence minister?")
    assert "“appointed”" not in appointed.answer


def test_a_follow_up_is_read_with_the_earlier_question(service):
    answer = service.ask("and what about France?", context=TROOPS)
    assert answer.answered
    assert any("France" in c.quote for c in answer.citations)


def _hit(source_id: str, text: str, date: str, score: float = 0.8) -> Hit:
    chunk = Chunk(f"{source_id}#0", source_id, 0, len(text), text, ((0, len(text)),))
    return Hit(chunk, score, SourceInfo(source_id, f"Title {source_id}", date), 1, score, 0.5, (score,))


def test_composition_is_pure_and_orders_by_date_with_as_of_the_newest():
    texts = {
        "a": "Crosetto said the counteroffensive of 2022 had failed.",
        "b": "Crosetto said the counteroffensive of 2023 had failed.",
        "c": "The minister's troops plan was rejected by parliament in spring.",
    }
    hits = [_hit("b", texts["b"], "2024-03-10"), _hit("a", texts["a"], "2024-01-10"),
            _hit("c", texts["c"], "2023-05-01", 0.75)]
    first = answer_from("How did the counteroffensive go?", hits, texts)
    assert first == answer_from("How did the counteroffensive go?", hits, texts)
    assert first.answered and first.as_of == "2024-03-10"
    for point in first.points:
        dates = [first.citations[n - 1].date for n in point.citations]
        assert dates == sorted(dates)  # one statement's outlets, oldest first
    assert any("differ" in n for n in first.notes)


def test_a_quote_that_is_not_in_its_source_is_never_shown():
    hits = [_hit("a", "Crosetto said the troops would stay home.", "2024-01-01")]
    answer = answer_from("What did Crosetto say about troops?", hits, {"a": "Something else entirely was said."})
    assert not answer.answered and not answer.citations


def test_near_duplicates_and_disagreements_are_detected_by_content():
    a = "From this perspective ... it would seem that the time has come for incisive diplomacy, Crosetto said."
    b = "“From this perspective… it would seem that the time has come for incisive diplomacy,” Crosetto said."
    assert near_duplicate(a, b)
    assert not near_duplicate(a, "Russia's military currently holds some 20% of Ukrainian territory.")
    assert disagreement([], []) is None


@pytest.mark.fast
def test_numbers_written_out_are_facts_a_source_can_differ_on() -> None:
    assert facts("The crossings carried more than sixty passengers in 2023.") == {"year": {"2023"}, "number": {"60"}}
    assert facts("Forty-five people and twenty one boats, 3,000 homes")["number"] == {"45", "21", "3,000"}
    assert facts("One of the two ferries")["number"] == {"2"}  # "one" is as often a pronoun
