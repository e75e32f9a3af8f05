"""The on-disk index: a directory with a manifest, written atomically and checked when loaded."""

from __future__ import annotations

import array
import contextlib
import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.ann import build_faiss, choose_index
from embeddings.checksums import cached_sha256, file_sha256
from embeddings.chunking import chunk_article
from embeddings.encoders import Embedder
from embeddings.encoders.onnx_export import ensure_onnx
from embeddings.encoders.onnx_runtime import ENCODER_DIR, backend_files, read_export_info
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError, ModelLoadError
from embeddings.generations import checked_index_path, clean_leftovers, fsync_tree, index_lock, new_generation, switch
from embeddings.lexical import BM25, BM25Arrays, BM25Builder
from embeddings.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    check_manifest,
    corpus_digest,
    expected_manifest_fields,
    read_manifest,
)
from embeddings.records import Article, BuildReport, Chunk, ChunkerConfig, SourceInfo
from embeddings.store import LazyArticles, LazyChunks, MetadataStore, SentenceRows, write_metadata
from embeddings.vectors import Reusable, plan_vectors

log = logging.getLogger(__name__)

METADATA = "metadata.sqlite"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_ROWS = "sentence_rows.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
BM25_TERMS = "bm25_terms.json"
BM25_DATA = "bm25_data.npy"
BM25_INDICES = "bm25_indices.npy"
BM25_INDPTR = "bm25_indptr.npy"
BM25_IDF = "bm25_idf.npy"
BM25_LENGTHS = "bm25_lengths.npy"
BM25_ARRAYS = {"data": BM25_DATA, "indices": BM25_INDICES, "indptr": BM25_INDPTR, "idf": BM25_IDF,
               "lengths": BM25_LENGTHS}
FAISS_INDEX = "chunks.faiss"
DATA_FILES = (METADATA, CHUNK_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS, SENTENCE_OFFSETS, BM25_TERMS,
              *BM25_ARRAYS.values(), FAISS_INDEX)

Report = Callable[[str], None]


@dataclass
class NewsIndex:
    """A loaded index: articles and chunks (read on demand), memory-mapped vectors, BM25 and FAISS."""

    path: Path
    manifest: dict
    articles: Mapping[str, Article]
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_rows: Sequence[tuple[int, ...]]
    faiss_index: object = field(repr=False)
    bm25: BM25 | None = field(default=None, repr=False)
    store: MetadataStore | None = field(default=None, repr=False)

    @property
    def model(self) -> str:
        """Return the model the vectors were made with."""
        return str(self.manifest["model"])

    def source(self, source_id: str) -> SourceInfo:
        """Return citation metadata for an article."""
        if self.store is not None:
            return self.store.source_info(source_id)
        return self.articles[source_id].info

    def sources(self) -> list[SourceInfo]:
        """Return every article's citation metadata, by id."""
        if self.store is not None:
            return self.store.sources()
        return [self.source(source_id) for source_id in sorted(self.articles)]

    def date_range(self) -> tuple[str | None, str | None]:
        """Return the first and last article date."""
        if self.store is not None:
            return self.store.date_range()
        dates = sorted(a.date for a in self.articles.values() if a.date)
        return (dates[0], dates[-1]) if dates else (None, None)

    def sentence_texts(self) -> list[str]:
        """Return every sentence's text, in the order of the sentence vectors."""
        texts = [""] * len(self.sentence_vectors)
        for chunk, rows in zip(self.chunks, self.sentence_rows, strict=True):
            for text, row in zip(chunk.sentence_texts(), rows, strict=True):
                texts[row] = text
        return texts

    def rows_of(self, source_id: str) -> list[int]:
        """Return the FAISS rows of an article's chunks, in order."""
        if self.store is not None:
            return self.store.rows_of(source_id)
        return [row for row, chunk in enumerate(self.chunks) if chunk.source_id == source_id]

    def sources_of_rows(self, rows: Sequence[int]) -> dict[int, str]:
        """Return the article id of each chunk row."""
        if self.store is not None:
            return self.store.sources_of_rows(rows)
        return {row: self.chunks[row].source_id for row in rows}

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""
        if self.store is not None:
            return self.store.chunks_of(source_id)
        return [chunk for chunk in self.chunks if chunk.source_id == source_id]


def load_index(index_dir: Path, model: str, chunker: ChunkerConfig, verify: bool = True,
               backend: str | None = None) -> NewsIndex:
    """Load an index after checking its manifest, settings and file checksums; large parts stay on disk.

    The ONNX encoder's files are checked too: those the backend reads (None: all; torch: none).
    """
    import faiss

    # One generation throughout, even if a build switches the link while this reads.
    root = index_dir.resolve()
    manifest = read_manifest(root if root.is_dir() else index_dir)
    check_manifest(manifest, model, chunker, index_dir)
    files, encoder = manifest.get("files", {}), manifest.get("encoder") or {"files": {}}
    checked = [(name, root / name, files.get(name)) for name in DATA_FILES] + [
        (f"{ENCODER_DIR}/{name}", root / ENCODER_DIR / name, encoder["files"][name])
        for name in backend_files(encoder["files"], backend)]
    for name, path, digest in checked:
        # The encoder by identity (once per process): it is ~90 MB, and also checked by the encoder that reads it.
        hashed = cached_sha256 if name.startswith(ENCODER_DIR) else file_sha256
        if not path.is_file() or (verify and hashed(path) != digest):
            raise IndexCorruptError(
                f"index file {index_dir / name} is missing or fails its checksum: run `newsbot index --rebuild`"
            )
    try:
        store = MetadataStore(root / METADATA)
        chunk_vectors = _mapped(root / CHUNK_VECTORS)
        sentence_vectors = _mapped(root / SENTENCE_VECTORS)
        sentence_rows = SentenceRows(_mapped(root / SENTENCE_ROWS), _mapped(root / SENTENCE_OFFSETS))
        terms = json.loads((root / BM25_TERMS).read_text(encoding="utf-8"))
        bm25 = BM25(arrays=BM25Arrays(tuple(terms), **{key: _mapped(root / name) for key, name in BM25_ARRAYS.items()}))
        faiss_index = faiss.read_index(str(root / FAISS_INDEX))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, sqlite3.Error) as exc:
        raise IndexCorruptError(f"index at {index_dir} cannot be read ({exc}): run `newsbot index --rebuild`") from exc
    size = store.chunk_count
    if (faiss_index.ntotal != size or chunk_vectors.shape[0] != size or len(sentence_rows) != size
            or bm25.size != size or len(bm25.arrays.indptr) != len(terms) + 1):
        raise IndexCorruptError(f"index at {index_dir} is inconsistent: run `newsbot index --rebuild`")
    return NewsIndex(index_dir, manifest, LazyArticles(store), LazyChunks(store), chunk_vectors, sentence_vectors,
                     sentence_rows, faiss_index, bm25, store)


def _mapped(path: Path) -> np.ndarray:
    """Return a read-only array backed by the file's pages (an empty one is simply read)."""
    try:
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except ValueError:
        return np.load(path, allow_pickle=False)


def _reusable(index_dir: Path, model: str, chunker: ChunkerConfig) -> Reusable | None:
    """Return a previous compatible, intact index's sentence vectors, keyed by article content and span."""
    try:
        old = load_index(index_dir, model, chunker)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError) as exc:
        if not isinstance(exc, IndexMissingError):
            log.warning("previous index not reused: %s", exc)
        return None
    content = old.manifest.get("articles", {})
    sentence_rows: dict[tuple[str, int, int], int] = {}
    for chunk, rows in zip(old.chunks, old.sentence_rows, strict=True):
        content_hash = content.get(chunk.source_id, "")
        for (start, end), row in zip(chunk.sentences, rows, strict=True):
            sentence_rows[(content_hash, start, end)] = row
    return Reusable(old.sentence_vectors, sentence_rows)


def build_index(
    articles: Sequence[Article],
    embedder: Embedder,
    chunker: ChunkerConfig,
    index_dir: Path,
    *,
    rebuild: bool = False,
    warnings: Sequence[str] = (),
    report: Report | None = None,
) -> BuildReport:
    """Bring the index in line with the articles, embedding only what is new or changed."""
    say = report or (lambda message: None)
    articles = sorted(articles, key=lambda a: a.source_id)
    model = embedder.model_name
    index_dir = checked_index_path(index_dir)
    with index_lock(index_dir):
        manifest = None
        with contextlib.suppress(IndexMissingError, IndexCorruptError):
            manifest = read_manifest(index_dir)
        indexed = (manifest or {}).get("articles", {})
        current = {a.source_id: a.content_hash for a in articles}
        added = tuple(sorted(current.keys() - indexed.keys()))
        removed = tuple(sorted(indexed.keys() - current.keys()))
        changed = tuple(sorted(k for k in current.keys() & indexed.keys() if current[k] != indexed[k]))
        unchanged = tuple(sorted(k for k in current.keys() & indexed.keys() if current[k] == indexed[k]))
        compatible = manifest is not None and all(
            manifest.get(k) == v for k, v in expected_manifest_fields(model, chunker).items()
        )
        if compatible and not rebuild and not (added or removed or changed):
            try:
                load_index(index_dir, model, chunker)
                clean_leftovers(index_dir)
                return BuildReport(str(index_dir), unchanged=unchanged, chunks=int(manifest.get("chunks", 0)),
                                   up_to_date=True, warnings=tuple(warnings))
            except IndexCorruptError as exc:
                say(f"rebuilding: {exc}")
        reuse = None if rebuild or not compatible else _reusable(index_dir, model, chunker)
        if manifest is not None and not compatible:
            say("settings changed since the last build: re-embedding every article")
        chunks = [chunk for article in articles for chunk in chunk_article(article, chunker)]
        embedded = _write(index_dir, articles, chunks, embedder, chunker, reuse, say)
        if reuse is None:
            added, changed, unchanged = tuple(current), (), ()
        return BuildReport(str(index_dir), added, changed, removed, unchanged, len(chunks), embedded,
                           warnings=tuple(warnings))


def _write(
    index_dir: Path,
    articles: list[Article],
    chunks: list[Chunk],
    embedder: Embedder,
    chunker: ChunkerConfig,
    reuse: Reusable | None,
    say: Report,
) -> int:
    """Embed what cannot be reused, write a new generation and switch the index to it."""
    sentence_rows, sentence_vectors, chunk_vectors, embedded = plan_vectors(articles, chunks, embedder, reuse, say)
    _write_generation(index_dir, articles, chunks, sentence_rows, chunk_vectors, sentence_vectors,
                      model=embedder.model_name, chunker=chunker,
                      encoder=lambda generation: _export_encoder(embedder, index_dir, generation, say))
    return embedded


def write_index(
    index_dir: Path,
    articles: Sequence[Article],
    chunks: Iterable[Chunk],
    sentence_rows: Iterable[Sequence[int]],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    *,
    model: str,
    chunker: ChunkerConfig,
) -> Path:
    """Write an index from precomputed vectors (row i of chunk_vectors is chunk i) and switch to it.

    `chunks` and `sentence_rows` may be generators: they are read once, in step, and never held in a list.
    Returns the new generation's directory.
    """
    index_dir = checked_index_path(index_dir)
    with index_lock(index_dir):
        return _write_generation(index_dir, articles, chunks, sentence_rows, chunk_vectors, sentence_vectors,
                                 model=model, chunker=chunker)


def _write_generation(
    index_dir: Path,
    articles: Sequence[Article],
    chunks: Iterable[Chunk],
    sentence_rows: Iterable[Sequence[int]],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    *,
    model: str,
    chunker: ChunkerConfig,
    encoder: Callable[[Path], dict | None] | None = None,
) -> Path:
    """Write every file of a new generation beside the index, fsync it and switch the index to it."""
    import faiss

    dimension = int(chunk_vectors.shape[1]) if chunk_vectors.ndim == 2 else 0
    generation: Path | None = None
    try:
        generation = new_generation(index_dir)
        lexical = BM25Builder()
        flat_rows = array.array("q")
        offsets = array.array("q", [0])

        def each_chunk() -> Iterator[Chunk]:
            for chunk, rows in zip(chunks, sentence_rows, strict=True):
                lexical.add(chunk.text)
                flat_rows.extend(rows)
                offsets.append(len(flat_rows))
                yield chunk

        count = write_metadata(generation / METADATA, articles, each_chunk())
        if count != len(chunk_vectors):
            raise ValueError(f"{count} chunks but {len(chunk_vectors)} chunk vectors")
        np.save(generation / SENTENCE_ROWS, np.frombuffer(flat_rows, dtype=np.int64))
        np.save(generation / SENTENCE_OFFSETS, np.frombuffer(offsets, dtype=np.int64))
        postings = lexical.finish()
        (generation / BM25_TERMS).write_text(json.dumps(postings.terms), encoding="utf-8")
        for key, name in BM25_ARRAYS.items():
            np.save(generation / name, getattr(postings, key))
        np.save(generation / CHUNK_VECTORS, chunk_vectors)
        np.save(generation / SENTENCE_VECTORS, sentence_vectors)
        # Exact search while it is fast, IVF past embeddings.ann.FLAT_MAX passages.
        spec = choose_index(count, dimension)
        faiss.write_index(build_faiss(chunk_vectors, spec), str(generation / FAISS_INDEX))
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": model,
            "dimension": dimension,
            "chunker": chunker.as_dict(),
            "faiss": spec.as_dict(),
            "encoder": encoder(generation) if encoder else None,
            "chunks": count,
            "sentences": len(sentence_vectors),
            "corpus_hash": corpus_digest(articles),
            "articles": {a.source_id: a.content_hash for a in articles},
            "files": {name: file_sha256(generation / name) for name in DATA_FILES},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (generation / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        fsync_tree(generation)
        switch(index_dir, generation)
    except BaseException as exc:
        if generation is not None:
            shutil.rmtree(generation, ignore_errors=True)
        if isinstance(exc, OSError | sqlite3.Error):  # no permission, a read-only or full disk
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise IndexWriteError(f"cannot write the index at {index_dir} ({detail}): the previous index is "
                                  f"unchanged") from exc
        raise
    return generation


def _export_encoder(embedder: Embedder, index_dir: Path, generation: Path, say: Report) -> dict | None:
    """Put an ONNX export of the model in the new generation (copied from the last one when still current)."""
    reuse = getattr(embedder, "encoder_dir", None) or index_dir / ENCODER_DIR
    try:
        target = ensure_onnx(embedder.model_name, generation / ENCODER_DIR, reuse_from=reuse)
    except ModelLoadError as exc:
        # Queries then run on sentence-transformers, as before.
        say(f"no ONNX query encoder in the index: {exc}")
        return None
    return {"dir": ENCODER_DIR, "files": read_export_info(target)["files"]}
