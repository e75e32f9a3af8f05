"""The on-disk index: a directory with a manifest, written atomically and checked when loaded."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from embeddings.checksums import cached_sha256, file_sha256
from embeddings.encoders import Embedder
from embeddings.encoders.onnx_runtime import ENCODER_DIR, backend_files
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.index.ann import build_faiss, choose_index
from embeddings.index.deltas import (
    RowStack,
    SegmentedBM25,
    SegmentedStore,
    append_delta,
    can_append,
    joined_rows,
    open_segment,
    write_segment,
)
from embeddings.index.generations import (
    checked_index_path,
    clean_leftovers,
    discard_generation,
    fsync_tree,
    index_lock,
    new_generation,
    switch,
)
from embeddings.index.layout import (
    BM25_ARRAYS,
    BM25_DATA,
    BM25_TERMS,
    CHUNK_VECTORS,
    DATA_FILES,
    DELTAS,
    FAISS_INDEX,
    METADATA,
    SEGMENT_FILES,
    SENTENCE_OFFSETS,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
)
from embeddings.index.lexical import BM25
from embeddings.index.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    article_changes,
    check_manifest,
    check_shrink,
    chunker_fields,
    corpus_digest,
    expected_manifest_fields,
    read_manifest,
    source_files,
)
from embeddings.index.metadata import LazyArticles, LazyChunks, MetadataStore
from embeddings.index.vectors import embed_texts, export_encoder, passage_vectors, sentence_plan
from embeddings.ingest.chunking import chunk_articles
from embeddings.progress import Progress, Report, silent
from embeddings.records import Article, BuildReport, Chunk, ChunkerConfig, SourceInfo

log = logging.getLogger(__name__)

# Besides what is defined here, the generation's file names and the helpers other modules import from here.
__all__ = ["BM25_ARRAYS", "BM25_DATA", "BM25_TERMS", "CHUNK_VECTORS", "DATA_FILES", "DELTAS", "FAISS_INDEX",
           "MANIFEST", "METADATA", "SEGMENT_FILES", "SENTENCE_OFFSETS", "SENTENCE_ROWS", "SENTENCE_VECTORS",
           "BuildReport", "NewsIndex", "build_index", "index_lock", "load_index", "passage_vectors", "write_index"]



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

    def cited_chunks(self, positions: Sequence[int]) -> list[tuple[Chunk, SourceInfo]]:
        """Return chunks with their articles' citation metadata, in the order given (one read from the store)."""
        if self.store is not None:
            return self.store.cited_chunks(positions)
        return [(chunk, self.source(chunk.source_id)) for chunk in (self.chunks[p] for p in positions)]

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

    def searcher(self, max_sentence_scan: int) -> None:
        """None: the index directory is searched in this process (embeddings.search.embedded.EmbeddedSearch)."""
        return None

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""
        if self.store is not None:
            return self.store.chunks_of(source_id)
        return [chunk for chunk in self.chunks if chunk.source_id == source_id]


def load_index(index_dir: Path, model: str, chunker: ChunkerConfig, verify: bool = True,
               backend: str | None = None) -> NewsIndex:
    """Load an index after checking its manifest, settings and file checksums; large parts stay on disk.

    The ONNX encoder's files are checked too: those the backend reads (None: all; torch: none). Delta segments
    (embeddings.index.deltas) are joined to the base as one index.
    """
    import faiss

    # One generation throughout, even if a build switches the link while this reads.
    root = index_dir.resolve()
    manifest = read_manifest(root if root.is_dir() else index_dir)
    check_manifest(manifest, model, chunker, index_dir)
    files, encoder = manifest.get("files", {}), manifest.get("encoder") or {"files": {}}
    deltas = manifest.get("deltas") or []
    checked = [(name, root / name, files.get(name)) for name in DATA_FILES] + [
        (f"{ENCODER_DIR}/{name}", root / ENCODER_DIR / name, encoder["files"][name])
        for name in backend_files(encoder["files"], backend)] + [
        (f"{delta['dir']}/{name}", root / delta["dir"] / name, delta["files"].get(name))
        for delta in deltas for name in SEGMENT_FILES]
    for name, path, digest in checked:
        # The encoder by identity (once per process): it is ~90 MB, and also checked by the encoder that reads it.
        hashed = cached_sha256 if name.startswith(ENCODER_DIR) else file_sha256
        if not path.is_file() or (verify and hashed(path) != digest):
            raise IndexCorruptError(
                f"index file {index_dir / name} is missing or fails its checksum: run `newsbot index --rebuild`"
            )
    try:
        segments = [open_segment(root)] + [open_segment(root / delta["dir"]) for delta in deltas]
        faiss_index = faiss.read_index(str(root / FAISS_INDEX))
        base_size = segments[0][0].chunk_count
        if faiss_index.ntotal == base_size:
            for _, chunk_vectors, *_ in segments[1:]:
                if len(chunk_vectors):
                    faiss_index.add(np.ascontiguousarray(chunk_vectors, dtype=np.float32))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, sqlite3.Error) as exc:
        raise IndexCorruptError(f"index at {index_dir} cannot be read ({exc}): run `newsbot index --rebuild`") from exc
    for store, chunk_vectors, _sentence_vectors, sentence_rows, bm25 in segments:
        size = store.chunk_count
        if (chunk_vectors.shape[0] != size or len(sentence_rows) != size or bm25.size != size
                or len(bm25.arrays.indptr) != len(bm25.arrays.terms) + 1):
            raise IndexCorruptError(f"index at {index_dir} is inconsistent: run `newsbot index --rebuild`")
    if faiss_index.ntotal != sum(segment[0].chunk_count for segment in segments):
        raise IndexCorruptError(f"index at {index_dir} is inconsistent: run `newsbot index --rebuild`")
    if len(segments) == 1:
        store, chunk_vectors, sentence_vectors, sentence_rows, bm25 = segments[0]
        return NewsIndex(index_dir, manifest, LazyArticles(store), LazyChunks(store), chunk_vectors,
                         sentence_vectors, sentence_rows, faiss_index, bm25, store)
    joined = SegmentedStore([segment[0] for segment in segments])
    return NewsIndex(index_dir, manifest, LazyArticles(joined), LazyChunks(joined),  # type: ignore[arg-type]
                     RowStack([segment[1] for segment in segments]),  # type: ignore[arg-type]
                     RowStack([segment[2] for segment in segments]),  # type: ignore[arg-type]
                     joined_rows([segment[3] for segment in segments], [len(segment[2]) for segment in segments]),
                     faiss_index, SegmentedBM25([segment[4] for segment in segments]),  # type: ignore[arg-type]
                     joined)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Reusable:
    """A previous index's sentence vectors (memory-mapped) and the row of each sentence's text in them."""

    sentence_vectors: np.ndarray
    sentence_rows: dict[str, int]
    index: NewsIndex


def _reusable(index_dir: Path, model: str, chunker: ChunkerConfig) -> _Reusable | None:
    """Return a previous compatible, intact index's sentence vectors, keyed by sentence text (a changed article's
    unchanged sentences, and a sentence another article also has, are not embedded again)."""
    try:
        old = load_index(index_dir, model, chunker)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError) as exc:
        if not isinstance(exc, IndexMissingError):
            log.warning("previous index not reused: %s", exc)
        return None
    sentence_rows: dict[str, int] = {}
    for chunk, rows in zip(old.chunks, old.sentence_rows, strict=True):
        for text, row in zip(chunk.sentence_texts(), rows, strict=True):
            sentence_rows.setdefault(text, row)
    return _Reusable(old.sentence_vectors, sentence_rows, old)


def build_index(
    articles: Sequence[Article],
    embedder: Embedder,
    chunker: ChunkerConfig,
    index_dir: Path,
    *,
    rebuild: bool = False,
    warnings: Sequence[str] = (),
    report: Report | None = None,
    progress: Progress = silent,
    reread: Callable[[], Sequence[Article]] | None = None,
    allow_shrink: bool = False,
) -> BuildReport:
    """Bring the index in line with the articles, embedding only what is new or changed; a build that would remove
    most of the index's articles is refused unless `allow_shrink` (manifest.check_shrink).

    Articles may be stubs (Article.is_stub: unchanged, read for their hash only); a whole index written takes them
    from the previous index, or reads them again with `reread` when it cannot give them. A build that only adds
    articles to a large index writes a delta segment (embeddings.index.deltas) instead of a whole index.
    """
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
        added, removed, changed, unchanged = article_changes(indexed, current)
        check_shrink(indexed, removed, str(index_dir), allow_shrink)
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
        if compatible and not rebuild and added and not (removed or changed) and _intact(index_dir, model, chunker):
            fresh = [a for a in articles if a.source_id in set(added)]
            chunks = chunk_articles(fresh, chunker, progress)
            if can_append(manifest, len(chunks)):
                embedded = append_delta(index_dir, manifest, fresh, chunks, embedder, say, progress)
                return BuildReport(str(index_dir), added, (), (), unchanged, int(manifest["chunks"]) + len(chunks),
                                   embedded, warnings=tuple(warnings))
        reuse = None if rebuild or not compatible else _reusable(index_dir, model, chunker)
        if manifest is not None and not compatible:
            say("settings changed since the last build: re-embedding every article")
        articles = _whole(articles, reuse, reread)
        chunks = chunk_articles(articles, chunker, progress)
        embedded = _write(index_dir, articles, chunks, embedder, chunker, reuse, say, progress)
        if reuse is None:
            added, changed, unchanged = tuple(current), (), ()
        return BuildReport(str(index_dir), added, changed, removed, unchanged, len(chunks), embedded,
                           warnings=tuple(warnings))


def _intact(index_dir: Path, model: str, chunker: ChunkerConfig) -> bool:
    """True when the current index loads and passes its checksums (a delta is only ever added to such a base)."""
    try:
        load_index(index_dir, model, chunker)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError):
        return False
    return True


def _whole(articles: list[Article], reuse: _Reusable | None,
           reread: Callable[[], Sequence[Article]] | None) -> list[Article]:
    """Replace stubs by the whole articles: from the previous index, else read again."""
    if not any(a.is_stub for a in articles):
        return articles
    try:
        if reuse is None:
            raise KeyError("no previous index")
        return [replace(reuse.index.articles[a.source_id], origin=a.origin) if a.is_stub else a for a in articles]
    except KeyError:
        if reread is None:
            raise
        return sorted(reread(), key=lambda a: a.source_id)


def _write(
    index_dir: Path,
    articles: list[Article],
    chunks: list[Chunk],
    embedder: Embedder,
    chunker: ChunkerConfig,
    reuse: _Reusable | None,
    say: Report,
    progress: Progress,
) -> int:
    """Embed what cannot be reused, write a new generation and switch the index to it."""
    sentence_list, sentence_rows = sentence_plan(articles, chunks)
    texts_of = {a.content_hash: a.text for a in articles}
    sentence_texts = [texts_of[content][start:end] for content, start, end in sentence_list]
    known = reuse.sentence_rows if reuse is not None else {}
    todo = [i for i, text in enumerate(sentence_texts) if text not in known]
    texts = [sentence_texts[i] for i in todo]
    if texts:
        say(f"embedding {len(texts)} sentences with {embedder.model_name}")
    fresh, embedded = embed_texts(embedder, texts, progress)
    if texts and len(texts) == len(sentence_texts):  # nothing reused: the rows embedded are the vectors
        sentence_vectors = fresh
    else:
        dimension = fresh.shape[1] if len(texts) else _dimension_of(reuse)
        sentence_vectors = np.zeros((len(sentence_texts), dimension), dtype=np.float32)
        if texts:
            sentence_vectors[todo] = fresh
    if reuse is not None:
        kept = [i for i, text in enumerate(sentence_texts) if text in known]
        if kept:
            sentence_vectors[kept] = reuse.sentence_vectors[[known[sentence_texts[i]] for i in kept]]
    chunk_vectors = passage_vectors(sentence_vectors, sentence_rows)

    _write_generation(index_dir, articles, chunks, sentence_rows, chunk_vectors, sentence_vectors,
                      model=embedder.model_name, chunker=chunker, progress=progress,
                      encoder=lambda generation: export_encoder(embedder, index_dir, generation, say))
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
    progress: Progress = silent,
) -> Path:
    """Write every file of a new generation beside the index, fsync it and switch the index to it."""
    import faiss

    dimension = int(chunk_vectors.shape[1]) if chunk_vectors.ndim == 2 else 0
    generation: Path | None = None
    try:
        generation = new_generation(index_dir)
        count = write_segment(generation, articles, chunks, sentence_rows, chunk_vectors, sentence_vectors, progress)
        # Exact search while it is fast, IVF past embeddings.index.ann.FLAT_MAX passages.
        spec = choose_index(count, dimension)
        faiss.write_index(build_faiss(chunk_vectors, spec), str(generation / FAISS_INDEX))
        progress("write", count, count, "passages")  # the line's time now counts the FAISS build
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": model,
            "dimension": dimension,
            "chunker": chunker_fields(chunker),
            "faiss": spec.as_dict(),
            "encoder": encoder(generation) if encoder else None,
            "chunks": count,
            "sentences": len(sentence_vectors),
            "corpus_hash": corpus_digest(articles),
            "articles": {a.source_id: a.content_hash for a in articles},
            "sources": source_files(articles),
            "files": {name: file_sha256(generation / name) for name in DATA_FILES},
            "deltas": [],
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (generation / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        fsync_tree(generation)
        switch(index_dir, generation)
        progress("write", count, count, "passages")
    except BaseException as exc:
        discard_generation(index_dir, generation, exc)
        raise
    return generation


def _dimension_of(reuse: _Reusable | None) -> int:
    return int(reuse.sentence_vectors.shape[1]) if reuse is not None and reuse.sentence_vectors.ndim == 2 else 0
