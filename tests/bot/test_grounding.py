from bot.grounding import missing_names, missing_topic_words, question_names, topic_terms

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
