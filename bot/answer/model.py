"""The answer model, two logistic regressions fit on data: one gives a candidate sentence the probability that it
answers its question (bot/answer/features.py FEATURES), the other the probability that the question is answered by
the articles at all, from what the best candidates look like (QUESTION_FEATURES); with the thresholds to decline and
to show a point.

Fit on data, never by hand: `python -m benchmarks.fit_answer_model` (docs/answer_model.md) refits both on the
training questions and writes bot/answer/answer_model.json with its figures; the service loads that file once, and
refuses to answer without it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer.features import FEATURES, QUESTION_FEATURES, Features, QuestionFeatures
from embeddings.errors import ConfigError

MODEL_FILE = Path(__file__).with_name("answer_model.json")
REFIT = "python -m benchmarks.fit_answer_model"


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardized features."""

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def probability(self, features: Sequence[float]) -> float:
        """Return the model's probability for one feature vector."""
        total = self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, features, self.means,
                                                                      self.scales, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, total))))


@dataclass(frozen=True)
class AnswerModel:
    """The sentence ranker, the decline model and their thresholds."""

    rank: Logistic
    decline: Logistic
    decline_below: float
    point_below: float
    about: dict = field(default_factory=dict, compare=False)

    def score(self, features: Features) -> float:
        """Return the probability that a candidate with these features answers its question."""
        return self.rank.probability(features.vector())

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


def model_from_dict(data: dict) -> AnswerModel:
    """Build the model from its JSON form, refusing one made for other features."""
    return AnswerModel(_logistic(data["rank"], FEATURES), _logistic(data["decline"], QUESTION_FEATURES),
                       float(data["decline_below"]), float(data["point_below"]), dict(data.get("about", {})))


def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """Read the fitted model; a missing or malformed file is refused with the command that refits it."""
    if not path.is_file():
        raise ConfigError(f"no answer model at {path}: run `{REFIT}`")
    try:
        return model_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the answer model {path} is unreadable ({exc}): run `{REFIT}`") from None
