"""The recipe's data: where an article is not on this machine, the sentences its questions quote stand for it."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from training.reader import data


def write_questions(path: Path) -> Path:
    rows = [
        {"article": "bbc_business_001", "question": "What did the minister say about rates?", "answerable": True,
         "type": "speaker", "answers": ["Rates will fall, the minister said."], "supports": ["The bank met."],
         "lures": []},
        {"article": "bbc_business_001", "question": "How many jobs went?", "answerable": True, "type": "number",
         "answers": ["Some 300 jobs went at the plant."], "supports": [],
         "lures": ["Rates will fall, the minister said."]},
        {"article": "bbc_business_001", "question": "What did the union say about rates?", "answerable": False,
         "type": "speaker", "answers": [], "supports": [], "lures": ["Rates will fall, the minister said."]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.fast
def test_a_missing_article_is_the_sentences_its_questions_quote_in_order(tmp_path: Path) -> None:
    files = [write_questions(tmp_path / "questions_bbc.jsonl")]
    quoted = data.quoted_sentences(files)
    assert quoted == {"bbc_business_001": ("Rates will fall, the minister said.", "The bank met.",
                                           "Some 300 jobs went at the plant.")}
    sources = data.Sources(tmp_path / "absent", tmp_path / "absent", tmp_path / "absent", quoted)
    assert data.is_quoted("bbc_business_001", sources)
    assert data.read_article("bbc_business_001", sources).split("\n\n") == list(quoted["bbc_business_001"])
    assert data.read_article("bbc_business_002", sources) is None


@pytest.mark.fast
def test_the_quoted_article_trains_with_its_other_questions_answers_as_negatives(tmp_path: Path) -> None:
    files = [write_questions(tmp_path / "questions_bbc.jsonl")]
    sources = data.Sources(tmp_path / "absent", tmp_path / "absent", tmp_path / "absent",
                           data.quoted_sentences(files))
    questions, articles = data.news_questions(sources, files)
    assert [q.answers for q in questions] == [(0,), (2,), ()]
    number = questions[1]
    pairs = data.article_pairs(number, articles[number.article], random.Random(0))
    labels = {p.quote: (p.label, p.weight) for p in pairs}
    assert labels["Some 300 jobs went at the plant."] == (1.0, 1.0)
    assert labels["Rates will fall, the minister said."] == (0.0, 2.0)  # its lure, weighed double


@pytest.mark.fast
def test_an_article_on_this_machine_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "business").mkdir()
    (tmp_path / "business" / "001.txt").write_text("Headline\n\nRates will fall, the minister said.", "latin-1")
    sources = data.Sources(tmp_path, tmp_path, tmp_path, {"bbc_business_001": ("Other.",)})
    assert not data.is_quoted("bbc_business_001", sources)
    assert data.read_article("bbc_business_001", sources).startswith("Headline")
