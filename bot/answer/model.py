"""The answer model, fit on data: a first stage that ranks every candidate quote by cheap features
(bot/answer/features.py Features) and chooses which the reader reads; a second stage that gives each of those the
probability that it answers, from the reader's judgement and the first stage's (ReadFeatures); and a decline model
that gives the question the probability that the articles answer it at all (QuestionFeatures); with how many
candidates the reader reads and the thresholds to decline and to show a point.

Fit on data, never by hand: `python -m benchmarks.fit_answer_model` (docs/answer_model.md) refits it on the
training questions and writes bot/answer/answer_model.json with its figures; the service loads that file once, and
refuses to answer without it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer.features import (
    FEATURES,
    QUESTION_FEATURES,
    READ_FEATURES,
    Features,
    QuestionFeatures,
    ReadFeatures,
)
from embeddings.errors import ConfigError
from embeddings.logistic import Logistic

MODEL_FILE = Path(__file__).with_name("answer_model.json")
REFIT = "python -m benchmarks.fit_answer_model"


@dataclass(frozen=True)
class AnswerModel:
    """The two ranking stages, the decline model, and their thresholds."""

    rank: Logistic
    judge: Logistic
    decline: Logistic
    decline_below: float
    point_below: float
    # How many candidates (the first stage's best) the reader reads.
    read_count: int = 16
    about: dict = field(default_factory=dict, compare=False)

    def score(self, features: Features) -> float:
        """Return the first stage's probability that a candidate with these features answers its question."""
        return self.rank.probability(features.vector())

    def judged(self, features: ReadFeatures) -> float:
        """Return the probability that a candidate the reader read answers its question."""
        return self.judge.probability(features.vector())

    def answerable(self, features: QuestionFeatures) -> float:
        """Return the probability that a question with these features is answered by the articles."""
        return self.decline.probability(features.vector())


def _logistic(data: dict, names: Sequence[str]) -> Logistic:
    if list(data.get("features", [])) != list(names):
        raise ConfigError(f"the answer model was fit for other features: run `{REFIT}`")
    return Logistic(tuple(float(w) for w in data["weights"]), float(data["bias"]),
                    tuple(float(m) for m in data["means"]), tuple(float(s) for s in data["scales"]))


def logistic_as_dict(model: Logistic, names: Sequence[str]) -> dict:
    """Return a logistic regression in its JSON form."""
    return {"features": list(names), "weights": [round(w, 6) for w in model.weights], "bias": round(model.bias, 6),
            "means": [round(m, 6) for m in model.means], "scales": [round(s, 6) for s in model.scales]}


def model_as_dict(model: AnswerModel) -> dict:
    """Return the whole model in its JSON form."""
    return {"rank": logistic_as_dict(model.rank, FEATURES), "judge": logistic_as_dict(model.judge, READ_FEATURES),
            "decline": logistic_as_dict(model.decline, QUESTION_FEATURES), "read_count": model.read_count,
            "decline_below": model.decline_below, "point_below": model.point_below, "about": model.about}


def model_from_dict(data: dict) -> AnswerModel:
    """Build the model from its JSON form, refusing one made for other features."""
    return AnswerModel(_logistic(data["rank"], FEATURES), _logistic(data["judge"], READ_FEATURES),
                       _logistic(data["decline"], QUESTION_FEATURES), float(data["decline_below"]),
                       float(data["point_below"]), int(data["read_count"]), dict(data.get("about", {})))


def load_model(path: Path = MODEL_FILE, ablation: bool = False) -> AnswerModel:
    """Read the fitted model (or the one fit beside it without the reader, for the ablation); a missing or
    malformed file is refused with the command that refits it."""
    if not path.is_file():
        raise ConfigError(f"no answer model at {path}: run `{REFIT}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return model_from_dict(data["ablation"] if ablation else data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the answer model {path} is unreadable ({exc}): run `{REFIT}`") from None
