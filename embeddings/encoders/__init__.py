"""Turn texts into normalized float32 vectors: the one-method Embedder interface and the backends behind it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.encoders.names import DEFAULT_MODEL, canonical_model_name
from embeddings.errors import ConfigError

Progress = Callable[[int, int], None]

# Embedding backends (docs/performance.md). onnx gives fp32's vectors (cosine >= 0.99999, same top-5) at half the
# query latency, a seventh of the cold start, no torch when serving and, with the export's fused model, 1.3-1.9x
# torch's ingestion rate on 2 idle cores (~28 passages/s); onnx-int8 changes the top-5 of most dev
# questions and torch-bf16 is emulated (8x slower) on CPUs without AVX512-BF16 and, with AMX, still no faster than
# onnx's fp32 builds: neither is a default.
BACKENDS = ("onnx", "torch", "onnx-int8", "torch-bf16")
DEFAULT_BACKEND = "onnx"


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds texts into unit-length float32 rows."""

    model_name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalized float32 row per text."""
        ...


def make_embedder(model_name: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, batch_size: int = 32, *,
                  onnx_dir: str | Path | None = None, export_dir: str | Path | None = None,
                  int8_dir: str | Path | None = None, device: str = "cpu") -> Embedder:
    """Build an embedder of the configured model for a backend: torch, torch-bf16, onnx or onnx-int8.

    The ONNX ones read the export in onnx_dir when it is an intact export of this model, else the one in
    export_dir (by default onnx_dir), exported there from the model when missing; int8_dir holds the int8 copy.
    """
    if backend in ("torch", "torch-bf16"):
        from embeddings.encoders.sentence_transformers import SentenceTransformerEmbedder

        precision = "bf16" if backend == "torch-bf16" else "fp32"
        return SentenceTransformerEmbedder(model_name, batch_size, device, precision=precision)
    if backend in ("onnx", "onnx-int8"):
        if onnx_dir is None:
            raise ConfigError(f"the {backend} backend needs the directory of an ONNX export (onnx_dir)")
        from embeddings.encoders.onnx_export import export_onnx
        from embeddings.encoders.onnx_runtime import OnnxQueryEncoder

        # The configured model, whatever an export holds: an export of another model is never used for it.
        # Builds embed on one single-threaded session per core: as fast as one session of every core on idle
        # cores, 1.5x faster when other work shares them (docs/performance.md); a query runs on one session.
        return OnnxQueryEncoder(onnx_dir, quantized=backend == "onnx-int8", batch_size=batch_size,
                                model_name=canonical_model_name(model_name), export_dir=export_dir,
                                int8_dir=int8_dir, exporter=lambda target: export_onnx(model_name, target),
                                workers=os.cpu_count() or 1)
    raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
