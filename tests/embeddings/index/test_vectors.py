"""Embedding each distinct text once, with or without the embedder's progress."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.index.vectors import embed_texts


class _Plain:
    model_name = "plain"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return np.eye(len(texts), 4, dtype=np.float32)


class _Reporting(_Plain):
    def embed(self, texts, progress=None):
        if progress:
            progress(len(texts), len(texts))
        return super().embed(texts)


@pytest.mark.fast
def test_repeated_texts_are_embedded_once_and_rows_follow_the_texts() -> None:
    embedder = _Plain()
    vectors, distinct = embed_texts(embedder, ["a", "b", "a"])
    assert distinct == 2 and embedder.calls == [["a", "b"]]
    np.testing.assert_array_equal(vectors[0], vectors[2])


@pytest.mark.fast
def test_progress_reaches_an_embedder_that_takes_it() -> None:
    seen = []
    embed_texts(_Reporting(), ["a", "b"], progress=lambda *args: seen.append(args))
    assert seen and seen[-1][:3] == ("embed", 2, 2)


@pytest.mark.fast
def test_a_type_error_inside_the_model_is_raised_not_retried() -> None:
    class Broken(_Reporting):
        def embed(self, texts, progress=None):
            self.calls.append(list(texts))
            raise TypeError("inside the model")

    embedder = Broken()
    with pytest.raises(TypeError, match="inside the model"):
        embed_texts(embedder, ["a"])
    assert len(embedder.calls) == 1
