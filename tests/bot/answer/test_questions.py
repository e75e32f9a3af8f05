import pytest

from bot.answer.abstain import corpus_words, unknown_words
from bot.answer.questions import event_verbs, question_names, read_question, topic_terms

pytestmark = pytest.mark.fast


def missing_names(question, vocabulary, prefixes):
    unknown = unknown_words(read_question(question), corpus_words(vocabulary))
    return list(unknown.names + unknown.speaker)


def missing_topic_words(question, vocabulary):
    return list(unknown_words(read_question(question), corpus_words(vocabulary)).topic)


def missing_event(question, vocabulary):
    return list(unknown_words(read_question(question), corpus_words(vocabulary)).event)


VOCABULARY = {"crosetto", "russia", "use", "weapon", "troop", "italian", "moscow", "itali", "defens", "2024"}


def test_names_skip_the_capitalized_first_word_and_calendar_words():
    assert question_names("What did Crosetto tell parliament in January 2024?") == ["Crosetto"]
    assert question_names("Who won the 2022 FIFA World Cup?") == ["FIFA World Cup"]


def test_a_name_no_article_mentions_is_missing_but_spelling_variants_are_not():
    prefixes = {"zelens"}
    assert missing_names("What did Crosetto say about China?", VOCABULARY | {"zelenskyy"}, prefixes) == ["China"]
    assert missing_names("What did Zelenskiy say?", VOCABULARY | {"zelenskyy"}, prefixes) == []


def test_the_topic_of_about_questions_claims_and_what_is_the_questions():
    assert topic_terms("What did Crosetto say about troops?") == ["troops"]
    assert topic_terms("Has Crosetto warned that Russia could use nuclear weapons?") == [
        "Russia", "use", "nuclear", "weapons"]
    assert topic_terms("What is the size of Italy's defence budget for 2024?")[-2:] == ["budget", "2024"]
    # Verbs in a claim may be paraphrases of the article's words; only nouns must be there.
    assert topic_terms("Does Crosetto claim that some Italians have been bought off or bribed by Moscow?") == [
        "Italians", "Moscow"]
    assert topic_terms("Does Crosetto believe Ukraine can take back the territory?") == []


def test_missing_topic_words_are_those_no_article_contains():
    assert missing_topic_words("Has Crosetto warned that Russia could use nuclear weapons?", VOCABULARY) == [
        "nuclear"]
    assert missing_topic_words("What did Crosetto say about troops?", VOCABULARY) == []


def test_the_event_of_a_when_or_how_many_question_is_its_marked_verb():
    assert event_verbs("When was Guido Crosetto appointed Italy's defence minister?") == ["appointed"]
    assert event_verbs("When did Sikorski say he would not rule out NATO troops in Ukraine?") == ["rule"]
    assert event_verbs("Until when will Italy keep sending military aid to Kyiv?") == ["sending"]
    assert event_verbs("How many F-16 fighter jets has Italy delivered to Ukraine?") == ["delivered"]
    # Light verbs name no event of their own; other questions have none.
    assert event_verbs("By what year does Russia plan to take Kharkiv?") == []
    assert event_verbs("What did Crosetto say about troops?") == []


def test_an_event_is_missing_only_when_none_of_its_verbs_is_in_the_articles():
    vocabulary = VOCABULARY | {"send", "call"}
    assert missing_event("When was Crosetto appointed defence minister?", vocabulary) == ["appointed"]
    assert missing_event("When had Crosetto called for talks?", vocabulary) == []
    assert missing_event("When did Italy promise to keep sending weapons?", vocabulary) == []


def test_what_a_how_many_question_counts_is_its_topic():
    assert topic_terms("How many tanks has Italy sent to Ukraine?") == ["tanks"]
    assert topic_terms("How many F-16 fighter jets has Italy delivered?") == ["F-16", "fighter", "jets"]
    assert missing_topic_words("How much money has Italy spent?", VOCABULARY) == ["money"]
