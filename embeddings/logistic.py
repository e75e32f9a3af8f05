"""A logistic regression over standardized features: the form of every model newsbot fits on data (the chrome
model, the answer model's stages); fitting lives beside the data (benchmarks.fit_answer_model.fit)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardized features."""

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def parts(self, features: Sequence[float]) -> list[float]:
        """Return each feature's share of the log-odds."""
        return [w * (x - m) / s for w, x, m, s in zip(self.weights, features, self.means, self.scales, strict=True)]

    def probability(self, features: Sequence[float]) -> float:
        """Return the model's probability for one feature vector."""
        return squash(self.bias + sum(self.parts(features)))


def squash(total: float) -> float:
    """Return the logistic function of a log-odds, clipped so that it never overflows."""
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, total))))
