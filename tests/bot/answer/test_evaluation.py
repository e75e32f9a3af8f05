"""Regression floors for retrieval and answer quality on the dev questions and our own question set."""

from pathlib import Path

import pytest

from bot.answer.evaluation import evaluate, read_questions
from tests.conftest import DEV_QUESTIONS, HELDOUT_QUESTIONS, OWN_QUESTIONS

# Figures the code reaches today (see the README's quality table); a change that lowers them fails here.
FLOORS = {
    "dev": {"hit@5": 1.0, "mrr@10": 0.94, "evidence_all_coverage": 1.0, "answer_accuracy": 0.94, "lead": 0.85,
            "quotes_verbatim": 1.0, "answered_unanswerable": 1},
    "own": {"hit@5": 0.97, "mrr@10": 0.9, "evidence_all_coverage": 1.0, "answer_accuracy": 0.88, "lead": 0.89,
            "quotes_verbatim": 1.0, "answered_unanswerable": 3},
    # Written after the abstention rules, to check that they generalize (see tests/data/README.md). Since the reader
    # (issue 20) replaced word rules in declining, near-topic questions whose subject the articles touch are left to
    # the fitted decline model: one of the six unanswerable is answered. The floors hold what the code reaches now.
    "heldout": {"hit@5": 1.0, "mrr@10": 0.95, "answer_accuracy": 0.87, "lead": 0.9, "quotes_verbatim": 1.0,
                "answered_unanswerable": 1},
}


def run_eval(service, path: Path) -> dict:
    texts = {sid: (service.settings.seeds_dir / f"{sid}.txt").read_text(encoding="utf-8")
             for sid in service.index.articles}
    return evaluate(read_questions(path), service.search, service.ask, texts)


@pytest.mark.parametrize(("name", "path"), [("dev", DEV_QUESTIONS), ("own", OWN_QUESTIONS),
                                                    ("heldout", HELDOUT_QUESTIONS)])
def test_quality_floors(service, name, path):
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    figures = run_eval(service, path)
    floors = FLOORS[name]
    for key, floor in floors.items():
        if key == "answered_unanswerable":
            assert figures[key] <= floor, (key, figures[key])
        else:
            assert figures[key] >= floor, (key, figures[key], figures["per_question"])


def test_own_question_set_is_large_and_varied():
    questions = read_questions(OWN_QUESTIONS)
    assert len(questions) >= 40
    kinds = {q.kind for q in questions}
    assert {"paraphrase", "name", "number", "multi_source", "date", "speaker", "unanswerable_near_topic"} <= kinds
