"""ANN and whole-index runs at scale over synthetic chunks drawn from the seeds' vectors."""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from benchmarks.common import StreamingTopK, peak_rss_mb, read_questions, recall_at, run_json_child, summarize, timed

SCALE_BATCH = 50_000


SCALE_QUERIES = 200


INDEX_SCALE_ROUNDS = 3


def scale_run(size: int, base_path: Path, queries_path: Path, real_queries: int, kind: str = "auto") -> dict:
    """Build the chosen ANN index over `size` seed-derived vectors and measure recall@10, latency and memory."""
    import faiss

    from embeddings.index.ann import build_faiss, choose_index, estimated_bytes, mixture_vectors, spec_for

    base = np.load(base_path)
    queries = np.load(queries_path)
    spec = choose_index(size, base.shape[1]) if kind == "auto" else spec_for(kind, size, base.shape[1])
    truth = StreamingTopK(queries, 10)

    def batches():
        for offset in range(0, size, SCALE_BATCH):
            rows = mixture_vectors(base, min(SCALE_BATCH, size - offset), seed=offset + 1)
            truth.update(rows, offset)
            yield rows

    # Trained on a separate sample drawn like the corpus, as a real build trains on part of its vectors.
    training = mixture_vectors(base, min(size, spec.training_size), seed=2**32 - 1) if spec.training_size else None
    start = time.perf_counter()
    index = build_faiss(batches(), spec, training=training, n_vectors=size)
    build_s = time.perf_counter() - start
    del training
    # One query at a time is the serving case; OpenMP's wake-ups cost more than they save for it.
    faiss.omp_set_num_threads(1)
    found = index.search(queries, 10)[1]
    latencies = []
    for _ in range(3):
        for row in queries:
            latencies.extend(timed(lambda r=row: index.search(r.reshape(1, -1), 10)))
    return {
        "size": size, "spec": spec.as_dict(), "build_s": round(build_s, 2),
        "recall@10": round(recall_at(found, truth.ids), 4),
        "recall@10_real_questions": round(recall_at(found[:real_queries], truth.ids[:real_queries]), 4),
        "search": summarize(latencies), "estimated_index_mb": round(estimated_bytes(spec, size) / 2**20, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


@dataclass(frozen=True)
class SyntheticCorpus:
    """Seed articles repeated under new ids up to a number of chunks; texts are the seeds' own, nothing embedded.

    Each copy gets its own content hash, so its sentences get their own vector rows as distinct articles would.
    `chunks()` and `sentence_rows()` are generators over the shared seed texts: a million chunks are never held.
    """

    articles: tuple
    plan: tuple[tuple[object, tuple], ...]
    sentences: int

    @classmethod
    def repeat(cls, seed_articles: Sequence, chunker, size: int) -> SyntheticCorpus:
        """Repeat the seeds (whole articles, the last one cut) until there are `size` chunks."""
        from dataclasses import replace

        from embeddings.ingest.chunking import chunk_article

        seeds = [(a, chunk_article(a, chunker)) for a in sorted(seed_articles, key=lambda a: a.source_id)]
        seeds = [(article, chunks) for article, chunks in seeds if chunks]
        if size and not seeds:
            raise click.ClickException("the seeds have no passages to repeat")
        plan, total, sentences, copy = [], 0, 0, 0
        while total < size:
            for article, chunks in seeds[:]:
                if total >= size:
                    break
                taken = chunks[: size - total]
                copied = replace(article, source_id=f"{article.source_id}-{copy:07d}",
                                 content_hash=f"{article.content_hash[:48]}{copy:016x}")
                plan.append((copied, taken))
                total += len(taken)
                sentences += len({span for chunk in taken for span in chunk.sentences})
            copy += 1
        return cls(tuple(article for article, _ in plan), tuple(plan), sentences)

    def chunks(self) -> Iterator:
        """Yield the chunks in index row order."""
        from embeddings.records import Chunk

        for article, chunks in self.plan:
            for n, chunk in enumerate(chunks):
                yield Chunk(f"{article.source_id}#{n}", article.source_id, chunk.start, chunk.end, chunk.text,
                            chunk.sentences)

    def sentence_rows(self) -> Iterator[tuple[int, ...]]:
        """Yield each chunk's sentence vector rows, numbered as the index build numbers them."""
        row = 0
        for _, chunks in self.plan:
            seen: dict[tuple[int, int], int] = {}
            for chunk in chunks:
                for span in chunk.sentences:
                    if span not in seen:
                        seen[span] = row
                        row += 1
                yield tuple(seen[span] for span in chunk.sentences)


def _mixture_file(path: Path, base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Write n seed-derived vectors to an .npy file batch by batch; return it memory-mapped."""
    from embeddings.index.ann import mixture_vectors

    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for offset in range(0, n, SCALE_BATCH):
        out[offset : offset + SCALE_BATCH] = mixture_vectors(base, min(SCALE_BATCH, n - offset), seed=seed + offset)
    out.flush()
    return np.load(path, mmap_mode="r")


def write_mixed_index(index_dir: Path, base: np.ndarray, corpus, chunk_count: int, sentence_count: int, *,
                      seed: int, model: str, chunker) -> tuple[Path, float, float]:
    """Write a corpus's index with vectors mixed from real embeddings (scratch files beside it, removed after);
    return the generation and the seconds spent mixing and writing."""
    from embeddings.index.directory import write_index

    scratch = index_dir.parent / f".{index_dir.name}-vectors"
    scratch.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chunk_vectors = _mixture_file(scratch / "chunks.npy", base, chunk_count, seed=1)
    sentence_vectors = _mixture_file(scratch / "sentences.npy", base, sentence_count, seed=seed + 1)
    vectors_s = time.perf_counter() - start
    start = time.perf_counter()
    generation = write_index(index_dir, corpus.articles, corpus.chunks(), corpus.sentence_rows(), chunk_vectors,
                             sentence_vectors, model=model, chunker=chunker)
    write_s = time.perf_counter() - start
    del chunk_vectors, sentence_vectors
    for path in scratch.iterdir():
        path.unlink()
    scratch.rmdir()
    return generation, vectors_s, write_s


def index_scale_write(size: int, base_path: Path, seeds_dir: Path, index_dir: Path, model: str) -> dict:
    """Write a real newsbot index of `size` chunks from the seeds, with mixture vectors instead of embeddings."""
    from embeddings.ingest.corpus import read_corpus
    from embeddings.records import ChunkerConfig

    chunker = ChunkerConfig()
    corpus = SyntheticCorpus.repeat(read_corpus(seeds_dir).articles, chunker, size)
    generation, vectors_s, write_s = write_mixed_index(index_dir, np.load(base_path), corpus, size, corpus.sentences,
                                                       seed=size, model=model, chunker=chunker)
    files = {path.name: path.stat().st_size for path in generation.iterdir() if path.is_file()}
    return {"size": size, "articles": len(corpus.articles), "sentences": corpus.sentences,
            "vectors_s": round(vectors_s, 2), "write_s": round(write_s, 2),
            "disk_mb": round(sum(files.values()) / 2**20, 1),
            "files_mb": {name: round(n / 2**20, 1) for name, n in sorted(files.items())},
            "peak_rss_mb": peak_rss_mb()}


def index_scale_load(index_dir: Path, questions_file: Path, onnx_dir: Path, rounds: int) -> dict:
    """Load an index as the service does, then time search and ask over the questions, one at a time."""
    from dataclasses import replace

    import faiss

    from bot.answer.service import NewsService
    from bot.settings import Settings
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder
    from embeddings.index.directory import load_index
    from embeddings.search.retrieval import Retriever

    questions = read_questions(questions_file)
    embedder = OnnxQueryEncoder(onnx_dir)
    embedder.embed(["warm up"])
    # One query at a time is the serving case; OpenMP's wake-ups cost more than they save for it.
    faiss.omp_set_num_threads(1)
    before_mb = peak_rss_mb()
    # No seeds beside it: the synthetic index is not checked against the real seeds.
    settings = Settings(seeds_dir=index_dir.parent / ".no-seeds", index_dir=index_dir, model=embedder.model_name)
    service = NewsService(settings, embedder)
    start = time.perf_counter()
    service.load(check_corpus=False)
    load_s = time.perf_counter() - start
    loaded_mb = peak_rss_mb()
    index, retriever = service.index, service.retriever
    vectors = [retriever.embed_query(q) for q in questions]
    search, search_embed, ask = [], [], []
    for _ in range(rounds):
        for question, vector in zip(questions, vectors, strict=True):
            search.extend(timed(lambda q=question, v=vector: retriever.search(q, 5, query_vector=v)))
            search_embed.extend(timed(lambda q=question: service.search(q)))
            ask.extend(timed(lambda q=question: service.ask(q)))
    peak_mb = peak_rss_mb()
    # Up to RetrievalConfig.max_sentence_scan sentences every query scores every sentence; the same search with the
    # sentences re-ranking the dense and BM25 candidates only shows what that scan costs.
    unscanned = Retriever(index, embedder, replace(settings.retrieval_config, max_sentence_scan=0))
    without_scan = [seconds for _ in range(rounds) for question, vector in zip(questions, vectors, strict=True)
                    for seconds in timed(lambda q=question, v=vector: unscanned.search(q, 5, query_vector=v))]
    figures = {"chunks": len(index.chunks), "articles": len(index.articles),
               "bm25_top50": bm25_passes(retriever.bm25, questions, rounds),
               "sentences": len(index.sentence_vectors), "faiss": index.manifest.get("faiss", {}).get("factory"),
               "load_s": round(load_s, 3), "rss_before_load_mb": before_mb, "peak_rss_after_load_mb": loaded_mb,
               "sentence_scan": retriever.scans_every_sentence, "search": summarize(search),
               "search_without_sentence_scan": summarize(without_scan),
               "search_with_embedding": summarize(search_embed), "ask": summarize(ask), "peak_rss_mb": peak_mb}
    # What the load spends on checksums: the same load without them (after the peak above is taken, as this
    # holds a second copy of the FAISS index).
    figures["load_unverified_s"] = round(sum(timed(
        lambda: load_index(index_dir, embedder.model_name, settings.chunker, verify=False))), 3)
    return figures


def bm25_passes(bm25, questions: list[str], rounds: int) -> dict:
    """BM25's top 50 per question scored over every document and bounded by the top k (the same lists)."""
    from embeddings.index.postings import bounded_top_k, dense_scores, top_k

    lists = [bm25.postings(q) for q in questions]
    exhaustive = [s for _ in range(rounds) for p in lists
                  for s in timed(lambda p=p: top_k(dense_scores(p, bm25.size), 50))]
    bounded = [s for _ in range(rounds) for p in lists
               for s in timed(lambda p=p: bounded_top_k(p, bm25.size, 50, bm25.scratch))]
    same = all(bounded_top_k(p, bm25.size, 50, bm25.scratch) == top_k(dense_scores(p, bm25.size), 50) for p in lists)
    return {"exhaustive": summarize(exhaustive), "bounded": summarize(bounded), "same_top_k": same}


def index_scale(size: int, base_path: Path, seeds_dir: Path, questions_file: Path, onnx_dir: Path, work: Path,
                rounds: int = INDEX_SCALE_ROUNDS) -> dict:
    """Write an index of `size` chunks in one subprocess, then load and query it in a fresh one."""
    from embeddings.encoders.onnx_runtime import read_export_info

    model = str(read_export_info(onnx_dir)["model"])
    index_dir = work / f"index-{size}"
    try:
        written = run_json_child(["-m", "benchmarks.child", "index-write", str(size), str(base_path), str(seeds_dir),
                                  str(index_dir), model])
        loaded = run_json_child(["-m", "benchmarks.child", "index-load", str(index_dir), str(questions_file),
                                 str(onnx_dir), str(rounds)])
    finally:
        for path in work.glob(f".index-{size}-*"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (index_dir, work / f".index-{size}.lock"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return {"size": size, "write": written, "load": loaded}


def seed_base_vectors(embedder, index) -> tuple[np.ndarray, int]:
    """Real seed embeddings for synthetic scale: the index's chunks and sentences plus the sentences' clauses."""
    sentences = sorted({text for chunk in index.chunks for text in chunk.sentence_texts()})
    clauses = sorted({part.strip() for s in sentences for part in re.split(r"[,;:]", s)
                      if len(part.split()) >= 4} - set(sentences))
    extra = embedder.embed(clauses) if clauses else np.zeros((0, index.chunk_vectors.shape[1]), np.float32)
    base = np.vstack([index.chunk_vectors, index.sentence_vectors, extra]).astype(np.float32)
    return base, len(base)
