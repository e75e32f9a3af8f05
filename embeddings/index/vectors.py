"""Every sentence embedded once and the passage vectors made from them: the vectors both stores write
(embeddings/index/directory.py for the directory, embeddings/postgres/ for PostgreSQL)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.encoders import Embedder
from embeddings.encoders.onnx_export import ensure_onnx
from embeddings.encoders.onnx_runtime import ENCODER_DIR, read_export_info
from embeddings.errors import ModelLoadError
from embeddings.progress import Progress, Report, silent
from embeddings.records import Article, Chunk


@dataclass(frozen=True)
class Reusable:
    """A previous index's sentence vectors (memory-mapped) and where each sentence's vector is in them."""

    sentence_vectors: np.ndarray
    sentence_rows: dict[tuple[str, int, int], int]


def plan_vectors(articles: Sequence[Article], chunks: Sequence[Chunk], embedder: Embedder, reuse: Reusable | None,
                 say: Report, progress: Progress = silent) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray, int]:
    """Number every distinct sentence, embed those `reuse` lacks; return each chunk's sentence rows, the sentence
    and passage vectors, and how many texts were embedded (every store builds its vectors here)."""
    by_id = {a.source_id: a for a in articles}
    sentence_keys: dict[tuple[str, int, int], int] = {}
    sentence_rows: list[tuple[int, ...]] = []
    for chunk in chunks:
        content = by_id[chunk.source_id].content_hash
        rows = []
        for start, end in chunk.sentences:
            rows.append(sentence_keys.setdefault((content, start, end), len(sentence_keys)))
        sentence_rows.append(tuple(rows))
    sentence_list = list(sentence_keys)
    texts_of = {a.content_hash: a.text for a in articles}

    todo = [i for i, key in enumerate(sentence_list) if reuse is None or key not in reuse.sentence_rows]
    texts = [texts_of[sentence_list[i][0]][sentence_list[i][1] : sentence_list[i][2]] for i in todo]
    if texts:
        say(f"embedding {len(texts)} sentences with {embedder.model_name}")
    fresh, embedded = embed_texts(embedder, texts, progress)
    dimension = fresh.shape[1] if len(texts) else _dimension_of(reuse)
    sentence_vectors = np.zeros((len(sentence_list), dimension), dtype=np.float32)
    if texts:
        sentence_vectors[todo] = fresh
    if reuse is not None:
        kept = [i for i, key in enumerate(sentence_list) if key in reuse.sentence_rows]
        sentence_vectors[kept] = reuse.sentence_vectors[[reuse.sentence_rows[sentence_list[i]] for i in kept]]
    return sentence_rows, sentence_vectors, passage_vectors(sentence_vectors, sentence_rows), embedded


def passage_vectors(sentence_vectors: np.ndarray, sentence_rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Return each passage's vector: the normalized mean of its sentences' vectors.

    Every sentence is embedded once, and a passage (a window of whole sentences that overlaps its neighbours) is
    not embedded again: 2.5x less model work per build than embedding passages and sentences, with the same
    hit@5 and answer accuracy on the dev, own and held-out questions (docs/performance.md).
    """
    dimension = sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else 0
    vectors = np.zeros((len(sentence_rows), dimension), dtype=np.float32)
    for position, rows in enumerate(sentence_rows):
        if len(rows):
            vectors[position] = sentence_vectors[list(rows)].sum(axis=0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _dimension_of(reuse: Reusable | None) -> int:
    return int(reuse.sentence_vectors.shape[1]) if reuse is not None and reuse.sentence_vectors.ndim == 2 else 0


def _takes_progress(embedder: Embedder) -> bool:
    """True when the embedder's embed accepts progress= (the one-method interface does not require it)."""
    try:
        return "progress" in inspect.signature(embedder.embed).parameters
    except (TypeError, ValueError):  # a callable without a readable signature
        return False


def embed_texts(embedder: Embedder, texts: Sequence[str], progress: Progress = silent) -> tuple[np.ndarray, int]:
    """Embed each distinct text once (boilerplate and syndicated sentences repeat); return a row per text and how
    many distinct texts were embedded."""
    if not len(texts):
        return np.zeros((0, 0), dtype=np.float32), 0
    first: dict[str, int] = {}
    which = np.fromiter((first.setdefault(text, len(first)) for text in texts), dtype=np.int64, count=len(texts))
    distinct = list(first)
    del first

    unit = getattr(embedder, "progress_unit", "texts")

    def report(done: int, total: int) -> None:
        progress("embed", done, total, unit)

    with_progress = {"progress": report} if _takes_progress(embedder) else {}
    vectors = embedder.embed(distinct, **with_progress)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return (vectors if len(distinct) == len(texts) else vectors[which]), len(distinct)


def export_encoder(embedder: Embedder, index_dir: Path, generation: Path, say: Report) -> dict | None:
    """Put an ONNX export of the model in the new generation (copied from the last one when still current)."""
    reuse = getattr(embedder, "encoder_dir", None) or index_dir / ENCODER_DIR
    try:
        target = ensure_onnx(embedder.model_name, generation / ENCODER_DIR, reuse_from=reuse)
    except ModelLoadError as exc:
        # Queries then run on sentence-transformers, as before.
        say(f"no ONNX query encoder in the index: {exc}")
        return None
    return {"dir": ENCODER_DIR, "files": read_export_info(target)["files"]}


def sentence_plan(articles: Sequence[Article], chunks: Sequence[Chunk]
                   ) -> tuple[list[tuple[str, int, int]], list[tuple[int, ...]]]:
    """Number every distinct sentence (by article content and span) and give each chunk its sentence rows."""
    by_id = {a.source_id: a for a in articles}
    sentence_keys: dict[tuple[str, int, int], int] = {}
    sentence_rows: list[tuple[int, ...]] = []
    for chunk in chunks:
        content = by_id[chunk.source_id].content_hash
        sentence_rows.append(tuple(sentence_keys.setdefault((content, start, end), len(sentence_keys))
                                   for start, end in chunk.sentences))
    return list(sentence_keys), sentence_rows
