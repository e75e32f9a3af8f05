import itertools

import pytest

from embeddings.ingest.chunking import chunk_article, split_sentences
from embeddings.records import ChunkerConfig

pytestmark = pytest.mark.fast


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, 0, len(text))]


def test_abbreviations_and_ellipses_do_not_end_sentences():
    text = "The U.S. and Mr. Smith agreed. “From this perspective … it would seem so,” he said. Next one."
    assert sentences(text) == [
        "The U.S. and Mr. Smith agreed.",
        "“From this perspective … it would seem so,” he said.",
        "Next one.",
    ]


def test_a_quote_stays_whole_with_its_attribution():
    text = 'He replied: "I don\'t know. It is only for them to decide." Then he left.'
    assert sentences(text) == ['He replied: "I don\'t know. It is only for them to decide."', "Then he left."]


def test_line_breaks_end_sentences():
    assert sentences("No full stop here\nNew line starts. Two.") == ["No full stop here", "New line starts.", "Two."]


def test_chunks_are_exact_substrings_made_of_whole_sentences(articles):
    config = ChunkerConfig()
    for article in articles:
        body = [span for span in article.body]
        for chunk in chunk_article(article, config):
            assert chunk.text == article.text[chunk.start : chunk.end]
            assert chunk.sentences[0][0] == chunk.start and chunk.sentences[-1][1] == chunk.end
            assert any(s <= chunk.start and chunk.end <= e for s, e in article.segments)
            assert any(s <= chunk.start < e for s, e in body)


def test_noise_never_reaches_a_chunk(articles):
    noise = [a.span_text(span) for a in articles for _, span in a.noise]
    for article in articles:
        for chunk in chunk_article(article, ChunkerConfig()):
            for fragment in noise:
                assert fragment not in chunk.text


@pytest.mark.parametrize("max_chars", [120, 480, 2000])
def test_windows_overlap_by_one_sentence_and_cover_every_sentence(articles, max_chars):
    config = ChunkerConfig(max_chars=max_chars, overlap_sentences=1)
    for article in articles:
        chunks = chunk_article(article, config)
        covered = {span for chunk in chunks for span in chunk.sentences}
        every = {span for s, e in article.segments for span in split_sentences(article.text, s, e)}
        assert covered == every
        for before, after in itertools.pairwise(chunks):
            same_segment = any(s <= before.start and after.end <= e for s, e in article.segments)
            if same_segment and len(before.sentences) > 1:
                assert before.sentences[-1] == after.sentences[0]


def test_chunk_ids_are_stable_and_unique(articles):
    ids = [c.chunk_id for a in articles for c in chunk_article(a, ChunkerConfig())]
    assert len(ids) == len(set(ids))
    assert ids[0] == "000_3981da90ea887150#0"
