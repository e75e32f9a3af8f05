"""Deterministic stand-ins for what the fast tier must not load: an embedder without a model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from embeddings.terms import stem

DIMENSION = 96


class HashingEmbedder:
    """Embeds a text as the normalized sum of its stemmed words' hashed directions: same text, same vector,
    texts sharing words are close. No model, no randomness, microseconds per text."""

    model_name = "test/hashing-embedder"

    def __init__(self, dimension: int = DIMENSION) -> None:
        self.dimension = dimension
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vector = self._words.get(word)
        if vector is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            self._words[word] = vector
        return vector

    def embed(self, texts: Sequence[str], progress=None) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                rows[i] += self._word(stem(word))
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        if progress:
            progress(len(texts), len(texts))
        return rows
