"""IVF lists probed at scale: recall@50 of the FAISS candidates against exact search, the hybrid top-5 against the
index's own setting, and search p50 with FAISS run beside BM25 or after it, per `nprobe`:
`python -m benchmarks.probes INDEX_DIR` over an index that `python -m benchmarks.realscale write` made."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from benchmarks.common import load_average, read_questions, summarize, timed

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests/data/newsroom/questions_train.jsonl"
ONNX = ROOT / ".newsbot/bench-archive/onnx"


def exact_top(vectors_path: Path, queries: np.ndarray, k: int, block: int = 200_000) -> list[set[int]]:
    """The k rows of the memory-mapped float vectors with the highest inner product, per query."""
    vectors = np.load(vectors_path, mmap_mode="r")
    best = [np.zeros(0, dtype=np.int64)] * len(queries)
    scores = [np.zeros(0, dtype=np.float32)] * len(queries)
    for start in range(0, vectors.shape[0], block):
        part = np.asarray(vectors[start : start + block]) @ queries.T
        for j in range(len(queries)):
            ids = np.concatenate([best[j], np.arange(start, start + len(part))])
            values = np.concatenate([scores[j], part[:, j]])
            keep = np.argpartition(-values, k)[:k] if len(values) > k else np.arange(len(values))
            best[j], scores[j] = ids[keep], values[keep]
    return [set(ids.tolist()) for ids in best]


@click.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--questions", type=click.Path(exists=True, path_type=Path), default=QUESTIONS, show_default=True)
@click.option("--onnx-dir", type=click.Path(exists=True, path_type=Path), default=ONNX, show_default=True)
@click.option("--probes", default="128,96,64,32", show_default=True, help="nprobe values to measure.")
@click.option("--rounds", default=3, show_default=True)
def main(index_dir: Path, questions: Path, onnx_dir: Path, probes: str, rounds: int) -> None:
    """Print one JSON line per nprobe."""
    import faiss

    from bot.answer.service import NewsService
    from bot.settings import Settings
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder

    texts = read_questions(questions)
    embedder = OnnxQueryEncoder(onnx_dir)
    faiss.omp_set_num_threads(1)
    settings = Settings(seeds_dir=index_dir.parent / ".no-seeds", index_dir=index_dir, model=embedder.model_name)
    service = NewsService(settings, embedder)
    service.load(check_corpus=False)
    retriever = service.retriever
    vectors = [retriever.embed_query(text) for text in texts]
    ivf = faiss.extract_index_ivf(service.index.faiss_index)
    truth = exact_top(index_dir / "chunk_vectors.npy", np.stack(vectors), 50)
    own, reference = ivf.nprobe, None
    for nprobe in [int(p) for p in probes.split(",") if p.strip()]:
        ivf.nprobe = nprobe
        found = [set(service.index.faiss_index.search(v.reshape(1, -1), 50)[1][0].tolist()) for v in vectors]
        top5 = [[h.chunk.chunk_id for h in retriever.search(t, 5, query_vector=v)]
                for t, v in zip(texts, vectors, strict=True)]
        reference = reference or top5
        figures: dict[str, object] = {
            "nprobe": nprobe, "nlist": ivf.nlist, "index_nprobe": own,
            "recall_at_50": round(float(np.mean([len(f & t) / 50 for f, t in zip(found, truth, strict=True)])), 4),
            "top5_same_as_first": round(float(np.mean([a == b for a, b in zip(top5, reference, strict=True)])),
                                        4)}
        for overlap in (False, True):
            retriever.source._overlap = overlap
            seconds = [s for _ in range(rounds) for t, v in zip(texts, vectors, strict=True)
                       for s in timed(lambda t=t, v=v: retriever.search(t, 5, query_vector=v))]
            figures["beside_bm25" if overlap else "after_bm25"] = summarize(seconds)
        figures["load_average"] = load_average()
        click.echo(json.dumps(figures))


if __name__ == "__main__":
    main()
