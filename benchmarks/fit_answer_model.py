"""Fit the answer model on the training questions: `python -m benchmarks.fit_answer_model` (docs/answer_model.md).

Every training question is read, retrieved for and given its candidate quotes exactly as when answering
(bot/answer/pipeline.py `prepare`); a candidate is a positive when it comes from a gold source and holds a gold
evidence phrase. Three logistic regressions are then fit, each on what the one before gives:

1. the first stage, over every candidate's cheap features (bot/answer/features.py Features): which candidates the
   reader reads (its best `--read-count`, chosen as the fewest that keep nearly every positive within reach);
2. the second stage, over the candidates the reader read (ReadFeatures: the reader's judgement, the first stage's,
   who speaks, the kind of answer): the probability that a candidate answers;
3. the decline model, over what a question's best candidates look like (QuestionFeatures): the probability that the
   articles answer it at all.

Which points to show is chosen on the training questions (`point_below`); when to decline, by k-fold
cross-validation over them (`decline_below`): the threshold with the best accuracy whose false declines, on
questions each fit did not see, stay within --max-false-declines. Held-out questions are never read here: `newsbot
eval` measures them with the model this writes.
"""

from __future__ import annotations

import json
import pickle
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import click
import numpy as np

from bot.answer.abstain import decide
from bot.answer.evaluation import Question, answer_correct, read_conversations, read_questions
from bot.answer.features import FEATURES, QUESTION_FEATURES, READ_FEATURES, question_features, read_features
from bot.answer.model import MODEL_FILE, AnswerModel, Logistic, model_as_dict
from bot.answer.pipeline import Prepared, conclude, judge, prepare
from bot.answer.rank import rank, to_read
from bot.answer.service import NewsService
from bot.answer.types import Candidate
from embeddings.encoders.reader import NoReader, OnnxReader, Reader
from embeddings.terms import normalize

SEEDS = ("seeds", ".newsbot/index")
CACHE = Path(".newsbot/fit-cache")
NEWSROOM = (".newsbot/corpora/newsroom-txt", ".newsbot/newsroom-index")
# The written questions' corpus (python -m training.reader.corpus): its training half only.
WRITTEN = (".newsbot/corpora/written/seeds", ".newsbot/written-index")
# The training conversations count too: each turn's self-contained question, and each first turn as typed (chat
# is written casually: "how many ppl died ... according to crosetto").
SEED_TRAINING = ("../shared/eval/dev_questions.jsonl", "tests/data/questions.jsonl",
                 "tests/data/conversations_train.jsonl")
NEWSROOM_TRAINING = ("tests/data/newsroom/questions_train.jsonl", "tests/data/newsroom/conversations_train.jsonl")
WRITTEN_TRAINING = (".newsbot/corpora/written/questions_train.jsonl",)
# General questions on no subject of either corpus, written for training only (never evaluated on).
OFF_TOPIC = ("tests/data/offtopic_train.jsonl",)
# The training sets, each with the corpus it is asked of: (seeds directory, index directory, question files, whether
# they are asked of another corpus, how many at most). One corpus's questions asked of another are all unanswerable
# there: real questions on other subjects, which teach the decline model what an off-topic question looks like.
TRAINING = (
    (*SEEDS, SEED_TRAINING, False, 0),
    (*NEWSROOM, NEWSROOM_TRAINING, False, 0),
    # A sample of the written questions: 9,000 would take the fit most of an hour for a model of a few dozen weights.
    (*WRITTEN, WRITTEN_TRAINING, False, 2000),
    (*SEEDS, NEWSROOM_TRAINING, True, 0),
    (*NEWSROOM, SEED_TRAINING, True, 0),
    (*SEEDS, WRITTEN_TRAINING, True, 400),
    (*NEWSROOM, WRITTEN_TRAINING, True, 400),
    (*SEEDS, OFF_TOPIC, False, 0),
    (*NEWSROOM, OFF_TOPIC, False, 0),
    (*WRITTEN, OFF_TOPIC, False, 0),
)


def _fixed(weights: dict[str, float], names: Sequence[str]) -> Logistic:
    """A logistic over unstandardized features with fixed weights (zero for the rest)."""
    return Logistic(tuple(weights.get(name, 0.0) for name in names), 0.0, (0.0,) * len(names), (1.0,) * len(names))


# Stands in for the model while the questions are prepared (preparing reads no model), and resolves duplicate
# candidates for the first stage's fit (single sentences first: pairs are for the model to weigh).
FIXED = AnswerModel(_fixed({"similarity": 0.5, "passage": 0.25, "coverage": 0.6, "pair": -1.0}, FEATURES),
                    _fixed({"reader": 1.0}, READ_FEATURES), _fixed({}, QUESTION_FEATURES), 0.0, 0.0)


class CachedReader:
    """The reader, each (question, quote) read once: the folds and thresholds reread the same candidates; with a
    file, what was read is kept there for the next fit with the same reader weights."""

    def __init__(self, inner: Reader, file: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.file = file
        self.seen: dict[tuple[str, str], float] = {}
        if file is not None and file.is_file():
            self.seen = pickle.loads(file.read_bytes())

    def read(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        """Return each quote's probability, reading only those not read before."""
        fresh = [q for q in dict.fromkeys(quotes) if (question, q) not in self.seen]
        if fresh:
            for quote, p in zip(fresh, self.inner.read(question, fresh), strict=True):
                self.seen[(question, quote)] = float(p)
        return np.asarray([self.seen[(question, q)] for q in quotes], dtype=np.float32)

    def save(self) -> None:
        """Keep what was read, for the next fit."""
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.with_suffix(".part").write_bytes(pickle.dumps(self.seen))
            self.file.with_suffix(".part").replace(self.file)


@dataclass(frozen=True)
class Example:
    """One training question, prepared once: its candidates' first-stage features and labels."""

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


def examples(seeds: Path, index: Path, files: tuple[str, ...], elsewhere: bool, most: int,
             reader: Reader) -> list[Example]:
    """Prepare every question of some files against one corpus (as unanswerable, when they are another's)."""
    from bot.settings import Settings

    service = NewsService(Settings.from_env().with_overrides(seeds_dir=seeds, index_dir=index), model=FIXED,
                          reader=reader)
    answering = service.answering()
    questions = [q for name in files for q in training_questions(Path(name))]
    if most and len(questions) > most:
        questions = random.Random(7).sample(questions, most)
    found = []
    for question in questions:
        if elsewhere:
            question = replace(question, qid=f"{question.qid}@other", answerable=False, sources=(), evidence=())
        prepared = prepare(answering.library, answering.clean(question.question).text)
        candidates = rank(prepared.quotes, FIXED.score)
        features = np.asarray([c.features.vector() for c in candidates], dtype=np.float64).reshape(-1, len(FEATURES))
        labels = np.asarray([positive(question, c.source.source_id, c.text) for c in candidates], dtype=np.float64)
        found.append(Example(question, prepared, features, labels))
    click.echo(f"prepared {len(found)} questions of {', '.join(files)} on {seeds}", err=True)
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


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> Logistic:
    """A logistic regression over standardized features."""
    means, scales = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    w, b = fit_logistic((x - means) / scales, y, l2)
    return Logistic(tuple(float(v) for v in w), float(b), tuple(float(v) for v in means),
                    tuple(float(v) for v in scales))


def read_rows(model: AnswerModel, data: list[Example], reader: Reader) -> tuple[np.ndarray, np.ndarray]:
    """The second stage's rows: each candidate the reader reads (as answering reads them), with its label."""
    rows, labels = [], []
    for example in data:
        for c in judge(example.prepared, model, reader):
            rows.append(read_features(c.read, c.first, c.features).vector())
            labels.append(float(positive(example.question, c.source.source_id, c.text)))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(READ_FEATURES)), np.asarray(labels, dtype=np.float64)


def question_rows(model: AnswerModel, data: list[Example], reader: Reader) -> tuple[np.ndarray, np.ndarray]:
    """Each question the rules leave to the decline model (and each unanswerable one they decline): its question
    features and whether it is answerable."""
    rows, labels = [], []
    for example in data:
        prepared = example.prepared
        ranked = judge(prepared, model, reader)
        decision = decide(prepared.reading, ranked, prepared.absent, model, prepared.asked)
        if decision.answer or (not example.question.answerable and ranked):
            shown = decision.candidates if decision.answer else ranked
            rows.append(question_features([(c.relevance, c.read, c.first, c.features) for c in shown]).vector())
            labels.append(float(example.question.answerable))
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def fit_models(data: list[Example], l2: float, read_count: int, reader: Reader) -> AnswerModel:
    """The first stage, the second and the decline model, fit on some prepared questions (no thresholds yet)."""
    x = np.vstack([e.features for e in data if len(e.features)])
    y = np.concatenate([e.labels for e in data if len(e.labels)])
    open_model = replace(FIXED, rank=fit(x, y, l2), read_count=read_count, decline_below=0.0, point_below=0.0)
    rx, ry = read_rows(open_model, data, reader)
    open_model = replace(open_model, judge=fit(rx, ry, l2))
    qx, qy = question_rows(open_model, data, reader)
    return replace(open_model, decline=fit(qx, qy, l2))


def figures(model: AnswerModel, data: list[Example], reader: Reader,
            ranked: Sequence[tuple[Candidate, ...]] | None = None) -> dict[str, float]:
    """Answer accuracy, first point answers and false declines of a model over prepared questions (`ranked`: each
    question's candidates as this model judges them, when already at hand)."""
    correct = lead = answerable = declined_answerable = 0
    for i, example in enumerate(data):
        answer = conclude(example.prepared, model, reader, ranked[i] if ranked is not None else None)
        correct += answer_correct(example.question, answer)
        if example.question.answerable:
            answerable += 1
            declined_answerable += not answer.answered
            first = set(answer.points[0].citations) if answer.points else set()
            lead += any(c.n in first and positive(example.question, c.source_id, c.quote) for c in answer.citations)
    return {"accuracy": round(correct / len(data), 4), "lead": round(lead / max(answerable, 1), 4),
            "false_decline_rate": round(declined_answerable / max(answerable, 1), 4), "questions": len(data)}


def outcomes(model: AnswerModel, data: list[Example], reader: Reader) -> list[tuple[bool, bool, bool, float]]:
    """Per question, with the decline threshold left open: (answerable, declined whatever the threshold, right when
    answered, the decline model's probability that it is answerable)."""
    open_model = replace(model, decline_below=0.0)
    found = []
    for example in data:
        answer = conclude(example.prepared, open_model, reader)
        p = answer.confidence if answer.answered else 0.0
        found.append((example.question.answerable, not answer.answered, answer_correct(example.question, answer), p))
    return found


def threshold(rows: list[tuple[bool, bool, bool, float]], max_false_declines: float) -> tuple[float, dict]:
    """The decline threshold with the best accuracy whose false-decline rate stays within the limit; when the rules
    alone decline more than that (the model without the reader can), the threshold that declines fewest."""
    answerable = sum(1 for a, *_ in rows if a) or 1
    tried = []
    for below in np.round(np.arange(0.0, 0.951, 0.025), 3):
        correct = declined = 0
        for is_answerable, by_rule, right, p in rows:
            answered = not by_rule and p >= below
            correct += right if answered else not is_answerable
            declined += is_answerable and not answered
        tried.append((float(below), {"accuracy": round(correct / len(rows), 4),
                                     "false_decline_rate": round(declined / answerable, 4)}))
    within = [t for t in tried if t[1]["false_decline_rate"] <= max_false_declines]
    if within:
        return max(within, key=lambda t: (t[1]["accuracy"], -t[0]))
    below, result = min(tried, key=lambda t: (t[1]["false_decline_rate"], -t[1]["accuracy"], t[0]))
    return below, {**result, "limit_met": False}


def reach(data: list[Example], counts: Sequence[int]) -> dict[int, float]:
    """The share of answerable questions with a positive among the first stage's best n, for each n."""
    x = np.vstack([e.features for e in data if len(e.features)])
    y = np.concatenate([e.labels for e in data if len(e.labels)])
    first = replace(FIXED, rank=fit(x, y, 1.0))
    answerable = [e for e in data if e.labels.any()]
    found = {}
    for n in counts:
        hits = 0
        for example in answerable:
            chosen = to_read(rank(example.prepared.quotes, first.score), example.prepared.asked, n)
            hits += any(positive(example.question, c.source.source_id, c.text) for c in chosen)
        found[n] = round(hits / max(len(answerable), 1), 4)
    return found


def fit_all(data: list[Example], reader: Reader, max_false_declines: float, read_count: int, folds: int,
            l2: float) -> tuple[AnswerModel, dict]:
    """The whole model with its thresholds, fit with one reader, and its figures."""
    counts = (4, 8, 12, 16, 24, 32)
    within = reach(data, counts)
    # The fewest candidates that keep the positives within reach: within a point of the most the reader could read.
    read_count = read_count or next(n for n in counts if within[n] >= within[counts[-1]] - 0.01)
    click.echo(f"{reader.name}: reading the best {read_count} candidates", err=True)
    model = fit_models(data, l2, read_count, reader)
    # Which points to show: the best accuracy and lead on the training questions, declining nothing by the model.
    # The point threshold changes neither ranking nor reading: each question is judged once for the whole sweep.
    ranked = [judge(e.prepared, model, reader) for e in data]
    point_scores = {}
    for point in np.round(np.arange(0.05, 0.951, 0.05), 3):
        result = figures(replace(model, decline_below=0.0, point_below=float(point)), data, reader, ranked)
        point_scores[float(point)] = result["accuracy"] + 0.5 * result["lead"]
    point = max(point_scores, key=lambda p: (point_scores[p], p))
    # When to decline: the threshold whose false declines, estimated on questions each fit has not seen (k-fold
    # cross-validation), stay within the limit; held-out sets stay unseen.
    rows: list[tuple[bool, bool, bool, float]] = []
    for fold in range(folds):
        train = [e for i, e in enumerate(data) if i % folds != fold]
        test = [e for i, e in enumerate(data) if i % folds == fold]
        rows += outcomes(replace(fit_models(train, l2, read_count, reader), point_below=point), test, reader)
        click.echo(f"{reader.name}: fold {fold + 1} of {folds}", err=True)
    below, cross_validated = threshold(rows, max_false_declines)
    model = replace(model, decline_below=below, point_below=point)
    about = {"reader": reader.name, "positive_within_first_n": within, "read_count": read_count,
             "cross_validated": cross_validated, "folds": folds, "training_figures": figures(model, data, reader)}
    return model, about


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=MODEL_FILE, show_default=True)
@click.option("--reader", "reader_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The reader to fit with (default: the one newsbot ships).")
@click.option("--max-false-declines", type=float, default=0.05, show_default=True,
              help="The highest share of answerable questions the decline threshold may decline, as estimated by "
                   "cross-validation over the training questions.")
@click.option("--read-count", type=click.IntRange(0, 64), default=16, show_default=True,
              help="Candidates the reader reads: the most a whole ask reads within its budget (p50 150 ms on two "
                   "cores, make bench-reader); 0: the fewest that keep the positives within a point of reading 32.")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--l2", type=float, default=1.0, show_default=True)
def main(out: Path, reader_dir: Path | None, max_false_declines: float, read_count: int, folds: int,
         l2: float) -> None:
    """Fit the answer model on the training questions and write it with its figures; beside it, the same model fit
    without the reader (for `newsbot eval --ablation`)."""
    from embeddings.encoders.reader import SHIPPED_READER

    onnx = OnnxReader(reader_dir or SHIPPED_READER)
    # The reader's judgements, kept by its weights' checksum: a refit after a change of features reads nothing again.
    digest = str(onnx.manifest.get("files", {}).get("model.onnx", "unknown"))[:16]
    reader = CachedReader(onnx, CACHE / f"reader-{digest}.pickle")
    data = [e for seeds, index, files, elsewhere, most in TRAINING if Path(index).exists()
            for e in examples(Path(seeds), Path(index), files, elsewhere, most, reader)]
    try:
        model, about = fit_all(data, reader, max_false_declines, read_count, folds, l2)
    finally:
        reader.save()
    ablation, ablation_about = fit_all(data, NoReader(), max_false_declines, about["read_count"], folds, l2)
    about |= {
        "fit_on": [f"{f} on {seeds}" + (" (as unanswerable there)" if elsewhere else "")
                   + (f" (at most {most})" if most else "")
                   for seeds, index, files, elsewhere, most in TRAINING if Path(index).exists() for f in files],
        "questions": len(data), "answerable": sum(1 for e in data if e.question.answerable),
        "candidates": sum(len(e.labels) for e in data), "positives": int(sum(e.labels.sum() for e in data)),
        "max_false_declines": max_false_declines, "l2": l2,
        "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m benchmarks.fit_answer_model",
    }
    payload = model_as_dict(replace(model, about=about))
    payload["ablation"] = model_as_dict(replace(ablation, about=ablation_about))
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    click.echo(json.dumps({"rank": dict(zip(FEATURES, payload["rank"]["weights"], strict=True)),
                           "judge": dict(zip(READ_FEATURES, payload["judge"]["weights"], strict=True)),
                           "decline": dict(zip(QUESTION_FEATURES, payload["decline"]["weights"], strict=True)),
                           **about, "ablation": ablation_about}, indent=2))


if __name__ == "__main__":
    main()
