"""The recipe's listwise loss: a question's sentences compete with "none of them", in batches of whole questions."""
from __future__ import annotations

import random

import pytest

from training.reader.data import Pair
from training.reader.train import listwise_loss, question_batches


def pairs_of(question: str, labels: list[float]) -> list[Pair]:
    return [Pair(question, f"{question} sentence {n}", label, 1.0, "a1", "what") for n, label in enumerate(labels)]


@pytest.mark.fast
def test_a_batch_holds_whole_questions_and_every_pair_once() -> None:
    pairs = [p for n in range(40) for p in pairs_of(f"question {n}?" + " long" * (n % 7), [1.0] + [0.0] * (n % 9))]
    plan = question_batches(pairs, 16, random.Random(3))
    assert sorted(id(p) for batch in plan for p in batch) == sorted(id(p) for p in pairs)
    assert all(len(batch) <= 16 for batch in plan)
    where = {}
    for at, batch in enumerate(plan):
        for pair in batch:
            assert where.setdefault(pair.question, at) == at
    assert plan == question_batches(pairs, 16, random.Random(3))


@pytest.mark.fast
def test_the_loss_is_low_where_the_answer_wins_and_where_nothing_beats_none() -> None:
    import torch

    answerable = pairs_of("Who won?", [0.0, 1.0, 0.0])
    answer_first = listwise_loss(torch.tensor([-2.0, 3.0, -1.0]), answerable)
    lure_first = listwise_loss(torch.tensor([3.0, -2.0, -1.0]), answerable)
    assert answer_first < 0.1 < lure_first

    unanswerable = pairs_of("What did she say?", [0.0, 0.0])
    all_below = listwise_loss(torch.tensor([-3.0, -4.0]), unanswerable)
    a_lure_above = listwise_loss(torch.tensor([-3.0, 2.0]), unanswerable)
    assert all_below < 0.1 < a_lure_above

    # Two questions in one batch are judged each against its own sentences, and the loss is their mean.
    both = listwise_loss(torch.tensor([-2.0, 3.0, -1.0, 2.0, -4.0]), answerable + unanswerable)
    alone = (listwise_loss(torch.tensor([-2.0, 3.0, -1.0]), answerable)
             + listwise_loss(torch.tensor([2.0, -4.0]), unanswerable)) / 2
    assert torch.isclose(both, alone)

    logits = torch.tensor([3.0, -2.0, -1.0], requires_grad=True)
    listwise_loss(logits, answerable).backward()
    assert logits.grad[1] < 0 < logits.grad[0]
