"""Timelines: every distinct statement on a topic, oldest first, with verbatim citations."""

TOPIC = "negotiations with Russia"


def test_a_timeline_lists_statements_oldest_first_with_verbatim_citations(service):
    result = service.timeline(TOPIC)
    assert result.answered and len(result.points) >= 3
    dates = [p.date for p in result.points]
    assert dates == sorted(dates)
    assert {"2024-01-10", "2025-10-29"} <= set(dates)
    for citation in result.citations:
        text = service.index.articles[citation.source_id].text
        assert text[citation.start : citation.end] == citation.quote
    assert result.as_of == dates[-1]


def test_a_timeline_on_a_topic_the_articles_never_mention_says_so(service):
    result = service.timeline("Crosetto on Gaza")
    assert not result.answered and "Gaza" in result.answer
