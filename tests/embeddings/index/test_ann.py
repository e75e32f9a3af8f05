"""Choosing and building the FAISS structure: exact for small sets, HNSW with recall@10 >= 0.95 for large ones."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.index.ann import (
    FLAT_MAX,
    IndexSpec,
    build_faiss,
    choose_index,
    estimated_bytes,
    ivf_lists,
    mixture_vectors,
    probes_for,
    set_search_effort,
    spec_for,
    training_sample,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One OpenMP thread: on a shared 2-core machine FAISS's thread wake-ups cost more than the small builds."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def base(service) -> np.ndarray:
    """Real seed embeddings: the index's chunk and sentence vectors."""
    return np.vstack([service.index.chunk_vectors, service.index.sentence_vectors])


def exact(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_small_sets_are_searched_exactly() -> None:
    assert choose_index(40, 384) == IndexSpec("flat", 384)
    assert choose_index(FLAT_MAX, 384).kind == "flat"


def test_large_sets_get_ivf_probing_more_lists_as_they_grow_up_to_a_cap() -> None:
    spec = choose_index(100_000, 384)
    assert spec.kind == "ivf" and spec.factory == "IVF1024,Flat" and spec.nprobe == probes_for(1024) == 32
    assert spec.training_size == 40 * 1024
    assert probes_for(2048) == 64 and ivf_lists(1_000_000) == 4096 and probes_for(4096) == 64
    assert probes_for(16) == 16 and probes_for(256) == 16


def test_a_million_vectors_keep_8_bit_codes_under_the_memory_budget() -> None:
    spec = choose_index(1_000_000, 384)
    assert spec.kind == "ivf-sq8" and spec.factory == "IVF4096,SQ8" and spec.nprobe == 64
    assert estimated_bytes(spec, 1_000_000) < 500_000_000
    assert estimated_bytes(spec_for("hnsw", 1_000_000, 384), 1_000_000) > 1_500_000_000


def test_every_kind_has_a_factory() -> None:
    for kind in ("flat", "ivf", "ivf-sq8", "hnsw", "hnsw-sq8"):
        assert spec_for(kind, 100_000, 384).factory
    with pytest.raises(ValueError, match="unknown index kind"):
        spec_for("lsh", 10, 384)


def test_mixture_vectors_are_unit_rows_near_the_real_ones(base: np.ndarray) -> None:
    vectors = mixture_vectors(base, 500, seed=1)
    assert vectors.dtype == np.float32 and vectors.shape == (500, base.shape[1])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors, mixture_vectors(base, 500, seed=1))
    nearest_real = (vectors @ base.T).max(axis=1)
    assert 0.6 < float(np.median(nearest_real)) < 0.98  # close to real text, not a copy of it


def test_flat_build_matches_exact_search(base: np.ndarray) -> None:
    vectors = mixture_vectors(base, 2000, seed=2)
    queries = mixture_vectors(base, 20, seed=3)
    index = build_faiss(vectors, choose_index(len(vectors), vectors.shape[1]))
    np.testing.assert_array_equal(index.search(queries, 10)[1], exact(vectors, queries))


@pytest.mark.parametrize("kind", ["ivf", "ivf-sq8", "hnsw"])
def test_approximate_recall_at_10(base: np.ndarray, kind: str) -> None:
    vectors = mixture_vectors(base, 2000, seed=4)
    queries = np.vstack([base[:30], mixture_vectors(base, 30, seed=5)])
    spec = spec_for(kind, len(vectors), vectors.shape[1])
    batches = (vectors[i : i + 500] for i in range(0, len(vectors), 500))
    training = mixture_vectors(base, spec.training_size, seed=6) if spec.training_size else None
    index = build_faiss(batches, spec, training=training, n_vectors=len(vectors))
    assert index.ntotal == len(vectors)
    assert recall(index.search(queries, 10)[1], exact(vectors, queries)) >= 0.95


def test_training_sample_is_a_subset_of_the_rows(base: np.ndarray) -> None:
    vectors = mixture_vectors(base, 5000, seed=7)
    spec = spec_for("ivf", 5000, vectors.shape[1])
    sample = training_sample(vectors, spec)
    assert sample is not None and len(sample) == min(5000, spec.training_size)
    assert training_sample(vectors, spec_for("flat", 5000, 384)) is None


@pytest.mark.parametrize("spec", [IndexSpec("hnsw", 16, m=16, ef_construction=40, ef_search=123),
                                  IndexSpec("ivf", 16, nlist=32, nprobe=7)])
def test_search_effort_survives_write_and_read(spec: IndexSpec, tmp_path) -> None:
    import faiss

    vectors = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)
    faiss.write_index(build_faiss(vectors, spec), str(tmp_path / "index.faiss"))
    raw = faiss.read_index(str(tmp_path / "index.faiss"))  # owns the index: keep it alive beside the downcast
    loaded = faiss.downcast_index(raw)
    assert (loaded.hnsw.efSearch if spec.kind == "hnsw" else loaded.nprobe) == (spec.ef_search or spec.nprobe)
    set_search_effort(loaded, 5)
    assert (loaded.hnsw.efSearch if spec.kind == "hnsw" else loaded.nprobe) == 5
