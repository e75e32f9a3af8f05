"""Pick and build the FAISS structure for a number of vectors: exact search while it is fast, IVF beyond.

Figures behind the thresholds are in docs/performance.md (seed-derived vectors, 2 cores, one query at a time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

# Exact search reads every vector per query: ~2.5 ms at 30k x 384 on one core, past 5 ms at 60k.
FLAT_MAX = 30_000
# Past this many bytes of float32 vectors the inverted lists keep 8-bit codes (4x smaller) instead.
FLOAT_BUDGET_BYTES = 1 << 30
# Share of the lists probed per query: 1/32 kept recall@10 >= 0.97 on real questions from 100k to 1M vectors.
PROBE_SHARE = 1 / 32
MIN_PROBES = 16
# At 1M vectors of real text (IVF4096,SQ8) 64 lists keep recall@50 against exact search at 0.988 (0.990 with 128)
# and the hybrid top-5 of all 71 newsroom questions, at half the scan (docs/performance.md).
MAX_PROBES = 64
# k-means needs ~40 training points per list to place the centroids well.
TRAIN_PER_LIST = 40
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
KINDS = ("flat", "ivf", "ivf-sq8", "hnsw", "hnsw-sq8")


@dataclass(frozen=True)
class IndexSpec:
    """What to build: the kind of FAISS index and its parameters (inner-product metric throughout)."""

    kind: str
    dim: int
    nlist: int = 0
    nprobe: int = 0
    m: int = 0
    ef_construction: int = 0
    ef_search: int = 0

    @property
    def factory(self) -> str:
        """Return the FAISS index_factory string."""
        factories = {"flat": "Flat", "ivf": f"IVF{self.nlist},Flat", "ivf-sq8": f"IVF{self.nlist},SQ8",
                     "hnsw": f"HNSW{self.m},Flat", "hnsw-sq8": f"HNSW{self.m},SQ8"}
        if self.kind not in factories:
            raise ValueError(f"unknown index kind {self.kind!r}: one of {', '.join(KINDS)}")
        return factories[self.kind]

    @property
    def training_size(self) -> int:
        """Return how many sample vectors training needs (0: none)."""
        if self.kind.startswith("ivf"):
            return TRAIN_PER_LIST * self.nlist
        return 20_000 if self.kind.endswith("sq8") else 0

    def as_dict(self) -> dict[str, object]:
        """Return the spec for a manifest or a report."""
        return {**asdict(self), "factory": self.factory}


def ivf_lists(n_vectors: int) -> int:
    """Return the number of inverted lists: the power of two nearest 4 * sqrt(n)."""
    return 2 ** max(4, round(math.log2(4 * math.sqrt(max(n_vectors, 1)))))


def probes_for(nlist: int) -> int:
    """Return how many lists a query visits."""
    return min(nlist, max(MIN_PROBES, min(MAX_PROBES, round(nlist * PROBE_SHARE))))


def estimated_bytes(spec: IndexSpec, n_vectors: int) -> int:
    """Return the approximate memory of a built index: stored codes plus ids or graph links."""
    per_vector = spec.dim * (1 if spec.kind.endswith("sq8") else 4)
    if spec.kind.startswith("hnsw"):
        # Level 0 keeps 2*M neighbours, upper levels M each for ~1/M of the vectors; ids are int32.
        per_vector += int(4 * spec.m * (2 + 1 / max(spec.m - 1, 1)))
    elif spec.kind.startswith("ivf"):
        per_vector += 8  # int64 ids in the inverted lists
    return n_vectors * per_vector + spec.nlist * spec.dim * 4


def choose_index(n_vectors: int, dim: int) -> IndexSpec:
    """Choose exact search for small sets, IVF over floats for large ones and IVF over 8-bit codes for huge ones."""
    if n_vectors <= FLAT_MAX:
        return spec_for("flat", n_vectors, dim)
    return spec_for("ivf" if n_vectors * dim * 4 <= FLOAT_BUDGET_BYTES else "ivf-sq8", n_vectors, dim)


def spec_for(kind: str, n_vectors: int, dim: int) -> IndexSpec:
    """Return the parameters this module uses for a kind of index at a size (HNSW is kept for comparison)."""
    if kind == "flat":
        return IndexSpec("flat", dim)
    if kind in ("ivf", "ivf-sq8"):
        nlist = ivf_lists(n_vectors)
        return IndexSpec(kind, dim, nlist=nlist, nprobe=probes_for(nlist))
    if kind in ("hnsw", "hnsw-sq8"):
        # efSearch 512 reached recall@10 0.97 on real questions at 200k; 1M needs 1024 (docs/performance.md).
        ef_search = 512 if n_vectors <= 200_000 else 1024
        return IndexSpec(kind, dim, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, ef_search=ef_search)
    raise ValueError(f"unknown index kind {kind!r}: one of {', '.join(KINDS)}")


def new_index(spec: IndexSpec, training: np.ndarray | None = None):
    """Return an empty FAISS index for a spec, trained on sample vectors when its kind needs it."""
    import faiss

    index = faiss.index_factory(spec.dim, spec.factory, faiss.METRIC_INNER_PRODUCT)
    if spec.kind.startswith("hnsw"):
        hnsw = faiss.downcast_index(index)
        hnsw.hnsw.efConstruction = spec.ef_construction
        hnsw.hnsw.efSearch = spec.ef_search
    if not index.is_trained:
        if training is None or not len(training):
            raise ValueError(f"a {spec.kind} index needs training vectors")
        index.train(np.ascontiguousarray(training, dtype=np.float32))
    if spec.kind.startswith("ivf"):
        faiss.extract_index_ivf(index).nprobe = spec.nprobe
    return index


def training_sample(vectors: np.ndarray, spec: IndexSpec, seed: int = 0) -> np.ndarray | None:
    """Return a random sample of rows big enough to train a spec, or None when it needs no training."""
    if not spec.training_size:
        return None
    if len(vectors) <= spec.training_size:
        return vectors
    rows = np.random.default_rng(seed).choice(len(vectors), spec.training_size, replace=False)
    return vectors[np.sort(rows)]


def build_faiss(vectors: np.ndarray | Iterable[np.ndarray], spec: IndexSpec, training: np.ndarray | None = None,
                n_vectors: int | None = None):
    """Build a FAISS index from an array or from batches of rows; n_vectors (if known) sizes storage up front."""
    if isinstance(vectors, np.ndarray):
        n_vectors = len(vectors)
        if training is None:
            training = training_sample(vectors, spec)
        batches: Iterable[np.ndarray] = [vectors]
    else:
        batches = vectors
    index = None
    for batch in batches:
        rows = np.ascontiguousarray(batch, dtype=np.float32)
        if index is None:
            index = new_index(spec, training if training is not None else training_sample(rows, spec))
            if n_vectors:
                _reserve(index, n_vectors)
        if len(rows):
            index.add(rows)
    return index if index is not None else new_index(spec, training)


def _reserve(index, n_vectors: int) -> None:
    """Give a flat or HNSW index's code storage its final capacity before the first add."""
    import faiss

    inner = faiss.downcast_index(index)
    storage = faiss.downcast_index(inner.storage) if hasattr(inner, "storage") else inner
    codes = getattr(storage, "codes", None)
    if codes is None or not hasattr(codes, "resize") or storage.ntotal:
        return
    # Growing add by add reallocates and copies: at 1M x 384 old and new buffers together near 3 GB.
    # Resizing up then down leaves the capacity (std::vector never shrinks on resize).
    codes.resize(int(n_vectors) * int(storage.code_size))
    codes.resize(0)


def set_search_effort(index, effort: int) -> None:
    """Set the lists probed (IVF) or the search beam (HNSW) of a built or loaded index; exact ones ignore it."""
    import faiss

    inner = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = int(effort)
    elif hasattr(inner, "nprobe"):
        inner.nprobe = int(effort)


def mixture_vectors(base: np.ndarray, n: int, seed: int, noise: float = 0.45) -> np.ndarray:
    """Return n unit vectors like real ones: mixtures of 1-3 real embeddings plus noise shaped like their spread."""
    rng = np.random.default_rng(seed)
    base = np.asarray(base, dtype=np.float32)
    dim = base.shape[1]
    # Noise follows the real vectors' principal directions, plus an isotropic part for unseen directions.
    centered = base - base.mean(axis=0)
    _, singular, vt = np.linalg.svd(centered, full_matrices=False)
    shape = (singular[:, None] * vt) / np.sqrt(float((singular**2).sum()))
    parents = rng.integers(0, len(base), size=(n, 3))
    weights = rng.dirichlet([1.0, 0.35, 0.15], size=n).astype(np.float32)
    out = np.einsum("nk,nkd->nd", weights, base[parents])
    out += noise * 0.8 * (rng.standard_normal((n, len(singular)), dtype=np.float32) @ shape)
    out += noise * 0.6 * rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32, copy=False)
