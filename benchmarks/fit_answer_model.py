"""Fit the answer model on the training questions: `python -m benchmarks.fit_answer_model` (docs/answer_model.md).

For every training question, newsbot reads, retrieves and gathers its candidate sentences exactly as when answering
(bot/answer/pipeline.py `prepare`; duplicates across passages are resolved by fixed weights, so the fit never sees
its own output); a sentence is a positive when it comes from a gold source and holds a gold evidence phrase. A
logistic regression over bot/answer/features.py's features then gives each sentence the probability that it answers;
a second one, over what a question's best candidates look like, the probability that the articles answer it at all.
Which points to show is chosen on the training questions; when to decline, by k-fold cross-validation over them: the
threshold with the best accuracy whose false declines, on questions each fit did not see, stay within --max-false-
declines. Held-out questions are never read here: `newsbot eval` measures them with the model this writes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import click
import numpy as np

from bot.answer.abstain import decide
from bot.answer.evaluation import Question, answer_correct, read_conversations, read_questions
from bot.answer.features import FEATURES, QUESTION_FEATURES, question_features
from bot.answer.model import MODEL_FILE, AnswerModel, Logistic, logistic_as_dict
from bot.answer.pipeline import Prepared, conclude, prepare
from bot.answer.rank import rank
from bot.answer.service import NewsService
from embeddings.terms import normalize

SEEDS = ("seeds", ".newsbot/index")
NEWSROOM = (".newsbot/corpora/newsroom-txt", ".newsbot/newsroom-index")
# The training conversations count too: each turn's self-contained question, and each first turn as typed (chat
# is written casually: "how many ppl died ... according to crosetto").
SEED_TRAINING = ("../shared/eval/dev_questions.jsonl", "tests/data/questions.jsonl",
                 "tests/data/conversations_train.jsonl")
NEWSROOM_TRAINING = ("tests/data/newsroom/questions_train.jsonl", "tests/data/newsroom/conversations_train.jsonl")
# General questions on no subject of either corpus, written for training only (never evaluated on).
OFF_TOPIC = ("tests/data/offtopic_train.jsonl",)
# The training sets, each with the corpus it is asked of: (seeds directory, index directory, question files, whether
# they are asked of the other corpus). One corpus's questions asked of the other are all unanswerable there: real
# questions on other subjects, which teach the decline model what a question the articles cannot answer looks like.
TRAINING = (
    (*SEEDS, SEED_TRAINING, False),
    (*NEWSROOM, NEWSROOM_TRAINING, False),
    (*SEEDS, NEWSROOM_TRAINING, True),
    (*NEWSROOM, SEED_TRAINING, True),
    (*SEEDS, OFF_TOPIC, False),
    (*NEWSROOM, OFF_TOPIC, False),
)


def _fixed(weights: dict[str, float]) -> Logistic:
    """A logistic over unstandardized features with fixed weights (zero for the rest)."""
    return Logistic(tuple(weights.get(name, 0.0) for name in FEATURES), 0.0, (0.0,) * len(FEATURES),
                    (1.0,) * len(FEATURES))


def _always(names) -> Logistic:
    return Logistic((0.0,) * len(names), 40.0, (0.0,) * len(names), (1.0,) * len(names))


# Resolves duplicate candidates before any model is fit (single sentences first: pairs are for the model to weigh),
# and stands in for the model while the questions are prepared (preparing reads no model).
FIXED = AnswerModel(_fixed({"similarity": 0.5, "passage": 0.25, "coverage": 0.6, "pair": -1.0}),
                    _always(QUESTION_FEATURES), 0.0, 0.0)


@dataclass(frozen=True)
class Example:
    """One training question, prepared once: its candidates' features and labels."""

    question: Question
    prepared: Prepared
    features: np.ndarray
    labels: np.ndarray


def positive(question: Question, source_id: str, text: str) -> bool:
    """A sentence answers when it comes from a gold source and holds a gold evidence phrase."""
    folded = normalize(text)
    return question.answerable and source_id in question.sources and any(
        normalize(p) in folded for p in question.evidence)


def training_questions(path: Path) -> list[Question]:
    """A file's questions; for a conversations file, each turn's self-contained question and each first turn as
    typed (turns answered from an article's metadata are left out: their gold is not a sentence)."""
    if "conversations" not in path.name:
        return read_questions(path)
    found = []
    for _, turns in read_conversations(path):
        for position, turn in enumerate(turns):
            if turn.metadata:
                continue
            found.append(replace(turn.gold, qid=f"{turn.gold.qid}/standalone", question=turn.standalone))
            if position == 0 and turn.gold.question != turn.standalone:
                found.append(turn.gold)
    return found


def examples(seeds: Path, index: Path, files: tuple[str, ...], elsewhere: bool = False) -> list[Example]:
    """Prepare every question of some files against one corpus (as unanswerable, when they are another's)."""
    from bot.settings import Settings

    service = NewsService(Settings.from_env().with_overrides(seeds_dir=seeds, index_dir=index), model=FIXED)
    found = []
    for name in files:
        for question in training_questions(Path(name)):
            if elsewhere:
                question = replace(question, qid=f"{question.qid}@other", answerable=False, sources=(), evidence=())
            answering = service.answering()
            prepared = prepare(answering.library, answering.clean(question.question).text)
            candidates = rank(prepared.quotes, FIXED.score)
            features = np.asarray([c.features.vector() for c in candidates], dtype=np.float64).reshape(
                -1, len(FEATURES))
            labels = np.asarray([positive(question, c.source.source_id, c.text) for c in candidates],
                                dtype=np.float64)
            found.append(Example(question, prepared, features, labels))
    return found


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression by gradient descent, positives and negatives weighed equally."""
    n, d = x.shape
    weight_of = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max(n - y.sum(), 1))
    w, b = np.zeros(d), 0.0
    rate = 0.5
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        error = (p - y) * weight_of
        w -= rate * (x.T @ error + l2 * w / n)
        b -= rate * float(error.sum())
    return w, b


def figures(model: AnswerModel, data: list[Example]) -> dict[str, float]:
    """Answer accuracy, first point answers and false declines of a model over prepared questions."""
    correct = lead = answerable = declined_answerable = 0
    for example in data:
        answer = conclude(example.prepared, model)
        correct += answer_correct(example.question, answer)
        if example.question.answerable:
            answerable += 1
            declined_answerable += not answer.answered
            first = set(answer.points[0].citations) if answer.points else set()
            lead += any(c.n in first and positive(example.question, c.source_id, c.quote) for c in answer.citations)
    return {"accuracy": round(correct / len(data), 4), "lead": round(lead / max(answerable, 1), 4),
            "false_decline_rate": round(declined_answerable / max(answerable, 1), 4), "questions": len(data)}


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> Logistic:
    """A logistic regression over standardized features."""
    means, scales = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    w, b = fit_logistic((x - means) / scales, y, l2)
    return Logistic(tuple(float(v) for v in w), float(b), tuple(float(v) for v in means),
                    tuple(float(v) for v in scales))


def question_rows(ranker: Logistic, data: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Each question the hard rules leave to the decline model: its question features and whether it is
    answerable."""
    model = AnswerModel(ranker, _always(QUESTION_FEATURES), 0.5, 0.0)
    rows, labels = [], []
    for example in data:
        prepared = example.prepared
        ranked = rank(prepared.quotes, model.score, prepared.prefer)
        decision = decide(prepared.reading, ranked, prepared.absent, model, prepared.asked)
        if decision.answer:
            rows.append(question_features([(c.relevance, c.features) for c in decision.candidates]).vector())
            labels.append(float(example.question.answerable))
        elif not example.question.answerable and ranked:
            # Declined by a rule: still an example of what an unanswerable question's best candidates look like.
            rows.append(question_features([(c.relevance, c.features) for c in ranked]).vector())
            labels.append(0.0)
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def fit_models(data: list[Example], l2: float) -> tuple[Logistic, Logistic]:
    """The sentence ranker and the decline model, fit on some prepared questions."""
    x = np.vstack([e.features for e in data if len(e.features)])
    y = np.concatenate([e.labels for e in data if len(e.labels)])
    ranker = fit(x, y, l2)
    qx, qy = question_rows(ranker, data)
    return ranker, fit(qx, qy, l2)


def outcomes(model: AnswerModel, data: list[Example]) -> list[tuple[bool, bool, bool, float]]:
    """Per question, with the decline model's threshold left open: (answerable, declined by a rule, right when
    answered, the decline model's probability that it is answerable)."""
    open_model = replace(model, decline_below=0.0)
    found = []
    for example in data:
        answer = conclude(example.prepared, open_model)
        p = answer.confidence if answer.answered else 0.0
        found.append((example.question.answerable, not answer.answered, answer_correct(example.question, answer), p))
    return found


def threshold(rows: list[tuple[bool, bool, bool, float]], max_false_declines: float) -> tuple[float, dict]:
    """The decline threshold with the best accuracy whose false-decline rate stays within the limit."""
    answerable = sum(1 for a, *_ in rows if a) or 1
    best: tuple[float, float, dict] | None = None
    for below in np.round(np.arange(0.0, 0.951, 0.025), 3):
        correct = declined = 0
        for is_answerable, by_rule, right, p in rows:
            answered = not by_rule and p >= below
            correct += right if answered else not is_answerable
            declined += is_answerable and not answered
        result = {"accuracy": round(correct / len(rows), 4), "false_decline_rate": round(declined / answerable, 4)}
        if result["false_decline_rate"] <= max_false_declines and (best is None or result["accuracy"] > best[1]):
            best = (float(below), result["accuracy"], result)
    if best is None:
        raise click.ClickException("no threshold keeps false declines within the limit")
    return best[0], best[2]


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=MODEL_FILE, show_default=True)
@click.option("--max-false-declines", type=float, default=0.05, show_default=True,
              help="The highest share of answerable questions the decline threshold may decline, as estimated by "
                   "cross-validation over the training questions.")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--l2", type=float, default=1.0, show_default=True)
def main(out: Path, max_false_declines: float, folds: int, l2: float) -> None:
    """Fit the answer model on the training questions and write it with its figures."""
    data = [e for seeds, index, files, elsewhere in TRAINING
            for e in examples(Path(seeds), Path(index), files, elsewhere)]
    rank, decline = fit_models(data, l2)
    # Which points to show: the best accuracy and lead on the training questions, declining nothing by the model.
    point_scores = {}
    for point in np.round(np.arange(0.05, 0.951, 0.05), 3):
        result = figures(AnswerModel(rank, decline, 0.0, float(point)), data)
        point_scores[float(point)] = result["accuracy"] + 0.5 * result["lead"]
    point = max(point_scores, key=lambda p: (point_scores[p], p))
    # When to decline: the threshold whose false declines, estimated on questions each fit has not seen (k-fold
    # cross-validation), stay within the limit; held-out sets stay unseen.
    rows: list[tuple[bool, bool, bool, float]] = []
    for fold in range(folds):
        train = [e for i, e in enumerate(data) if i % folds != fold]
        test = [e for i, e in enumerate(data) if i % folds == fold]
        fold_rank, fold_decline = fit_models(train, l2)
        rows += outcomes(AnswerModel(fold_rank, fold_decline, 0.0, point), test)
    below, cross_validated = threshold(rows, max_false_declines)
    model = AnswerModel(rank, decline, below, point)
    about = {
        "fit_on": [f"{f} on {seeds}" + (" (as unanswerable there)" if elsewhere else "")
                   for seeds, _, files, elsewhere in TRAINING for f in files],
        "questions": len(data), "answerable": sum(1 for e in data if e.question.answerable),
        "candidates": sum(len(e.labels) for e in data), "positives": int(sum(e.labels.sum() for e in data)),
        "cross_validated": cross_validated, "folds": folds, "training_figures": figures(model, data),
        "max_false_declines": max_false_declines, "l2": l2,
        "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m benchmarks.fit_answer_model",
    }
    payload = {"rank": logistic_as_dict(rank, FEATURES), "decline": logistic_as_dict(decline, QUESTION_FEATURES),
               "decline_below": below, "point_below": point, "about": about}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    click.echo(json.dumps({"rank": dict(zip(FEATURES, payload["rank"]["weights"], strict=True)),
                           "decline": dict(zip(QUESTION_FEATURES, payload["decline"]["weights"], strict=True)),
                           "decline_below": below, "point_below": point, **about}, indent=2))


if __name__ == "__main__":
    main()
