from pathlib import Path

import pytest

from embeddings.errors import CorpusError
from embeddings.ingest.corpus import read_corpus
from embeddings.ingest.plaintext import parse_article

pytestmark = pytest.mark.fast


def by_id(articles):
    return {a.source_id: a for a in articles}


def test_every_seed_is_read_with_metadata(articles):
    found = by_id(articles)
    assert sorted(found) == [
        "000_3981da90ea887150", "001_886bf2f9db0ce233", "002_bbfe8ec924329285",
        "003_bd3c63c39b2dbf1a", "004_347bbc5789c47b0a",
    ]
    assert all(a.date for a in articles)


def test_date_glued_to_first_line_is_read_from_text(articles):
    article = by_id(articles)["000_3981da90ea887150"]
    assert article.date == "2025-10-29"
    assert ("date", "text") in article.provenance
    assert not article.span_text(article.body[0]).startswith("date")
    assert article.span_text(article.body[0]).startswith("Italian Defense Minister")


def test_title_and_dateline_are_read_from_text(articles):
    article = by_id(articles)["003_bd3c63c39b2dbf1a"]
    assert article.title == 'Italy Sees "Important Signals" for Starting Peace Talks between Russia and Ukraine'
    assert article.date == "2024-01-10"
    assert dict(article.provenance) == {"title": "text", "date": "text"}


def test_inferred_values_come_from_the_metadata_file(articles):
    article = by_id(articles)["004_347bbc5789c47b0a"]
    assert article.date == "2024-03-10"
    assert ("date", "metadata (inferred)") in article.provenance


@pytest.mark.parametrize(
    ("source_id", "kind", "fragment"),
    [
        ("001_886bf2f9db0ce233", "caption", "via AFP"),
        ("002_bbfe8ec924329285", "read-more", "Read more:"),
        ("002_bbfe8ec924329285", "read-more", "Putin wants to freeze war in Ukraine, claims NYT"),
        ("003_bd3c63c39b2dbf1a", "boilerplate", "select the required text"),
        ("000_3981da90ea887150", "metadata", "date 2025-10-29"),
        ("003_bd3c63c39b2dbf1a", "dateline", "Wednesday, 10 January 2024"),
    ],
)
def test_noise_is_found_and_left_out_of_the_body(articles, source_id, kind, fragment):
    article = by_id(articles)[source_id]
    assert any(k == kind and fragment in article.span_text(span) for k, span in article.noise)
    assert fragment not in article.clean_text


def test_body_spans_are_exact_substrings(articles):
    for article in articles:
        for start, end in article.body:
            assert article.text[start:end] == article.text[start:end].strip()
            assert article.text[start:end]


def test_a_short_line_between_paragraphs_is_judged_with_them_and_a_photo_credit_goes():
    # A short line between two paragraphs is judged by the chrome model with its neighbours (a rule that dropped
    # every short line lost subheads); the paragraphs on either side stay, the last one too; a credit is a caption.
    text = ("The council met on Tuesday to discuss the new budget for the harbour and its ferry terminal.\n\n"
            "Repairs to the old pier\n\nPhoto: Staff Photographer / Example Agency\n\n"
            "Members said the repairs would begin in the spring and would take about two years to finish.")
    article = parse_article("x", text)
    assert article.clean_text.startswith("The council met on Tuesday")
    assert article.clean_text.endswith("about two years to finish.")
    assert "Staff Photographer" not in article.clean_text
    assert ("caption", (text.index("Photo:"), text.index("Agency") + len("Agency"))) in article.noise


def test_bad_seed_files_are_skipped_with_a_warning_naming_them(tmp_path: Path):
    (tmp_path / "good.txt").write_text("A real article sentence. Another one.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me.".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    load = read_corpus(tmp_path)
    assert [a.source_id for a in load.articles] == ["good"]
    joined = "\n".join(load.warnings)
    for name in ("empty.txt", "latin1.txt", "binary.txt"):
        assert name in joined


def test_identical_articles_are_both_indexed_with_a_warning(tmp_path: Path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Same story. Same words.", encoding="utf-8")
    load = read_corpus(tmp_path)
    assert [a.source_id for a in load.articles] == ["a", "b"]
    assert any("b.txt" in w and "a.txt" in w for w in load.warnings)


def test_missing_seeds_directory_is_a_corpus_error(tmp_path: Path):
    with pytest.raises(CorpusError):
        read_corpus(tmp_path / "nope")
