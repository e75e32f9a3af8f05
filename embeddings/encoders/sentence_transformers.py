"""The torch backend: a sentence-transformers model, loaded once per process and shared by its embedders."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from embeddings.encoders.names import DEFAULT_MODEL, canonical_model_name, resolve_model_path
from embeddings.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
PRECISIONS = ("fp32", "bf16")

# One loaded model per (path, device, precision) per process, whatever the number of embedders over it.
_MODELS: dict[tuple[str, str, str], object] = {}
_MODELS_LOCK = threading.Lock()


def load_sentence_transformer(model_name: str, device: str = "cpu", precision: str = "fp32"):
    """Return the process's one loaded SentenceTransformer for a model, device and precision."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    path = resolve_model_path(model_name)
    key = (path, device, precision)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            log.info("loading embedding model %s (%s, %s)", path, device, precision)
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                model = SentenceTransformer(path, device=device)
                if precision == "bf16":
                    import torch

                    model = model.to(torch.bfloat16)
            except Exception as exc:  # any loader failure becomes one clear error
                raise ModelLoadError(
                    f"cannot load model {model_name!r}: {type(exc).__name__}: {exc}".splitlines()[0]
                ) from exc
            _MODELS[key] = model
        return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use and shared by every embedder of the process."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 32, device: str = "cpu",
                 *, precision: str = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.model_name = canonical_model_name(model_name)
        self._configured = model_name
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                self._model = load_sentence_transformer(self._configured, self.device, self.precision)
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
            vectors = model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True)
            if self.precision != "fp32":
                # Normalized in bf16, rows are unit length to ~3 digits only.
                vectors = np.asarray(vectors, dtype=np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            rows.append(vectors)
            if progress:
                progress(min(offset + self.batch_size, len(texts)), len(texts))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)
