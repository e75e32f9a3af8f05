"""Delta segments: articles added to a large index are written as a small segment beside its base, not as a whole
new index.

A generation holds a base segment (the files at its root) and up to MAX_DELTAS delta segments (`deltas/0001/`...),
each with the same files over its own articles and chunks (rows numbered from 0 inside it). Adding articles writes
a new generation whose base and older deltas are hard links to the current generation's files, plus the new delta
and a manifest that lists every delta; the switch stays one rename. Loading joins them: rows run on from segment
to segment, the deltas' chunk vectors are added to the base's FAISS index in memory, BM25 scores every segment with
the corpus-wide IDF. A build that changes or removes an article, or whose deltas would outgrow MAX_DELTA_SHARE of
the base, writes one merged generation again.
"""

from __future__ import annotations

import array
import heapq
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from embeddings.checksums import file_sha256
from embeddings.encoders import Embedder
from embeddings.index.generations import discard_generation, fsync_tree, new_generation, switch
from embeddings.index.layout import (
    BM25_ARRAYS,
    BM25_TERMS,
    CHUNK_VECTORS,
    DELTAS,
    METADATA,
    SEGMENT_FILES,
    SENTENCE_OFFSETS,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
)
from embeddings.index.lexical import BM25, BM25Arrays, BM25Builder
from embeddings.index.manifest import MANIFEST, corpus_digest, source_files
from embeddings.index.metadata import MetadataStore, SentenceRows, write_metadata
from embeddings.index.postings import Postings, ScoresPostings, Scratch
from embeddings.index.vectors import embed_texts, export_encoder, passage_vectors, sentence_plan
from embeddings.progress import Progress, Report, silent
from embeddings.records import Article, Chunk, SourceInfo
from embeddings.terms import tokenize

# Appending is for indexes past this many passages; smaller ones are rewritten whole (it takes seconds).
MIN_BASE_CHUNKS = 5_000
MAX_DELTAS = 16
# Deltas together at most this share of the base's passages; past it the next build merges everything.
MAX_DELTA_SHARE = 0.25



def can_append(manifest: dict, new_chunks: int) -> bool:
    """True when a build that only adds `new_chunks` passages may write a delta instead of a new index."""
    deltas = manifest.get("deltas") or []
    base = int(manifest.get("chunks", 0)) - sum(int(d.get("chunks", 0)) for d in deltas)
    in_deltas = sum(int(d.get("chunks", 0)) for d in deltas) + new_chunks
    return base >= MIN_BASE_CHUNKS and len(deltas) < MAX_DELTAS and in_deltas <= MAX_DELTA_SHARE * base


def write_segment(directory: Path, articles: Sequence[Article], chunks: Iterable[Chunk],
                  sentence_rows: Iterable[Sequence[int]], chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                  progress: Progress = silent) -> int:
    """Write a segment's metadata, sentence rows, BM25 postings and vectors into `directory`; return its chunks."""
    directory.mkdir(parents=True, exist_ok=True)
    lexical = BM25Builder()
    flat_rows = array.array("q")
    offsets = array.array("q", [0])
    total = len(chunk_vectors)

    def each_chunk() -> Iterator[Chunk]:
        for chunk, rows in zip(chunks, sentence_rows, strict=True):
            lexical.add(chunk.text)
            flat_rows.extend(rows)
            offsets.append(len(flat_rows))
            if len(offsets) % 5000 == 0:
                progress("write", len(offsets) - 1, total, "passages")
            yield chunk

    count = write_metadata(directory / METADATA, articles, each_chunk())
    if count != len(chunk_vectors):
        raise ValueError(f"{count} chunks but {len(chunk_vectors)} chunk vectors")
    progress("write", count, total, "passages")
    np.save(directory / SENTENCE_ROWS, np.frombuffer(flat_rows, dtype=np.int64))
    np.save(directory / SENTENCE_OFFSETS, np.frombuffer(offsets, dtype=np.int64))
    postings = lexical.finish()
    (directory / BM25_TERMS).write_text(json.dumps(postings.terms), encoding="utf-8")
    for key, name in BM25_ARRAYS.items():
        np.save(directory / name, getattr(postings, key))
    np.save(directory / CHUNK_VECTORS, chunk_vectors)
    np.save(directory / SENTENCE_VECTORS, sentence_vectors)
    return count


def link_generation(source: Path, target: Path, skip: Iterable[str] = ()) -> None:
    """Fill `target` with hard links to every file under `source` (a copy where linking fails), except `skip`."""
    skipped = set(skip)
    for root, _, files in os.walk(source):
        relative = Path(root).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            if str(relative / name) in skipped or (relative == Path(".") and name in skipped):
                continue
            try:
                os.link(Path(root) / name, target / relative / name)
            except OSError:
                shutil.copy2(Path(root) / name, target / relative / name)


def next_delta_dir(manifest: dict) -> str:
    """Return the folder of the next delta segment."""
    numbers = [int(Path(d["dir"]).name) for d in manifest.get("deltas") or []]
    return f"{DELTAS}/{max(numbers, default=0) + 1:04d}"


def delta_record(generation: Path, directory: str, chunks: int, sentences: int, articles: int) -> dict:
    """The manifest's entry for a delta segment, with a SHA-256 per file."""
    return {"dir": directory, "chunks": chunks, "sentences": sentences, "articles": articles,
            "files": {name: file_sha256(generation / directory / name) for name in SEGMENT_FILES}}


class RowStack:
    """Row-concatenated arrays (memory-mapped segments) read as one: rows, gathers and products against a vector."""

    def __init__(self, parts: Sequence[np.ndarray]) -> None:
        self.parts = [p for p in parts if len(p)] or list(parts[:1])
        self._starts = np.cumsum([0, *(len(p) for p in self.parts)])
        width = next((p.shape[1] for p in self.parts if p.ndim == 2), 0)
        self.shape = (int(self._starts[-1]), width)
        self.ndim = 2
        self.dtype = self.parts[0].dtype if self.parts else np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows):  # type: ignore[no-untyped-def]
        if isinstance(rows, (int, np.integer)):
            row = int(rows) + (len(self) if rows < 0 else 0)
            part = int(np.searchsorted(self._starts, row, side="right")) - 1
            return self.parts[part][row - self._starts[part]]
        if isinstance(rows, slice):
            rows = np.arange(*rows.indices(len(self)))
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        which = np.searchsorted(self._starts, rows, side="right") - 1
        for part in np.unique(which):
            chosen = which == part
            out[chosen] = self.parts[part][rows[chosen] - self._starts[part]]
        return out

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        return np.concatenate([part @ vector for part in self.parts])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        joined = np.concatenate([np.asarray(p) for p in self.parts])
        return joined.astype(dtype) if dtype is not None else joined


class SegmentedStore:
    """The metadata of a base and its deltas as one MetadataStore: rows run on from segment to segment."""

    def __init__(self, stores: Sequence[MetadataStore]) -> None:
        self.stores = list(stores)
        self._starts = [0]
        for store in self.stores:
            self._starts.append(self._starts[-1] + store.chunk_count)
        self.chunk_count = self._starts[-1]
        self.article_count = sum(store.article_count for store in self.stores)

    def _locate(self, row: int) -> tuple[int, int]:
        if not 0 <= row < self.chunk_count:
            raise IndexError(row)
        part = int(np.searchsorted(self._starts, row, side="right")) - 1
        return part, row - self._starts[part]

    def _holder(self, source_id: str) -> int:
        for part, store in enumerate(self.stores):
            if store.has_article(source_id):
                return part
        raise KeyError(source_id)

    def close(self) -> None:
        """Close every segment's connection."""
        for store in self.stores:
            store.close()

    def chunk(self, row: int) -> Chunk:
        """Return the chunk at a row."""
        part, local = self._locate(int(row))
        return self.stores[part].chunk(local)

    def article(self, source_id: str) -> Article:
        """Return one article (KeyError when absent)."""
        return self.stores[self._holder(source_id)].article(source_id)

    def has_article(self, source_id: str) -> bool:
        """Return whether an article is in the index."""
        return any(store.has_article(source_id) for store in self.stores)

    def source_info(self, source_id: str) -> SourceInfo:
        """Return an article's citation metadata."""
        return self.stores[self._holder(source_id)].source_info(source_id)

    def sources(self) -> list[SourceInfo]:
        """Return every article's citation metadata, by id."""
        return list(heapq.merge(*(store.sources() for store in self.stores), key=lambda info: info.source_id))

    def date_range(self) -> tuple[str | None, str | None]:
        """Return the first and last article date."""
        ranges = [store.date_range() for store in self.stores]
        firsts = [a for a, _ in ranges if a]
        lasts = [b for _, b in ranges if b]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def rows_of(self, source_id: str) -> list[int]:
        """Return the rows of an article's chunks in order."""
        try:
            part = self._holder(source_id)
        except KeyError:
            return []
        return [row + self._starts[part] for row in self.stores[part].rows_of(source_id)]

    def cited_chunks(self, rows: Sequence[int]) -> list[tuple[Chunk, SourceInfo]]:
        """Return chunks with their articles' citation metadata, in the order given: one query per segment."""
        located = [self._locate(int(row)) for row in rows]
        by_part: dict[int, list[int]] = {}
        for part, local in located:
            by_part.setdefault(part, []).append(local)
        read = {part: dict(zip(local_rows, self.stores[part].cited_chunks(local_rows), strict=True))
                for part, local_rows in by_part.items()}
        return [read[part][local] for part, local in located]

    def sources_of_rows(self, rows: Sequence[int]) -> dict[int, str]:
        """Return the article id of each chunk row."""
        found: dict[int, str] = {}
        by_part: dict[int, list[int]] = {}
        for row in rows:
            if 0 <= int(row) < self.chunk_count:
                part, local = self._locate(int(row))
                by_part.setdefault(part, []).append(local)
        for part, local_rows in by_part.items():
            start = self._starts[part]
            found.update((local + start, source) for local, source in
                         self.stores[part].sources_of_rows(local_rows).items())
        return found

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""
        try:
            return self.stores[self._holder(source_id)].chunks_of(source_id)
        except KeyError:
            return []

    def iter_chunks(self, start: int = 0, stop: int | None = None) -> Iterator[Chunk]:
        """Yield chunks in row order."""
        stop = self.chunk_count if stop is None else min(stop, self.chunk_count)
        for part, store in enumerate(self.stores):
            first, last = self._starts[part], self._starts[part + 1]
            if last <= start or first >= stop:
                continue
            yield from store.iter_chunks(max(start, first) - first, min(stop, last) - first)

    def iter_article_ids(self) -> Iterator[str]:
        """Yield every article id in order."""
        return heapq.merge(*(store.iter_article_ids() for store in self.stores))

    def iter_articles(self) -> Iterator[Article]:
        """Yield every article in id order."""
        return heapq.merge(*(store.iter_articles() for store in self.stores), key=lambda article: article.source_id)


class SegmentedBM25(ScoresPostings):
    """BM25 over a base and its deltas: each segment's postings, weighted by the IDF of the whole corpus (a term's
    document frequency summed over segments); document lengths are normalized within each segment."""

    def __init__(self, parts: Sequence[BM25]) -> None:
        self.parts = list(parts)
        self._starts = np.cumsum([0, *(part.size for part in self.parts)])
        self.size = int(self._starts[-1])
        self.vocabulary: dict[str, int] = dict(self.parts[0].vocabulary)
        for part in self.parts[1:]:
            for term in part.vocabulary:
                self.vocabulary.setdefault(term, len(self.vocabulary))
        self.arrays = self.parts[0].arrays
        self.scratch = Scratch()

    def _frequency(self, term: str) -> float:
        total = 0.0
        for part in self.parts:
            column = part.vocabulary.get(term)
            if column is not None:
                total += float(part.arrays.indptr[column + 1] - part.arrays.indptr[column])
        return total

    def term_idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency over every segment."""
        frequency = self._frequency(term)
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def postings(self, query: str) -> list[Postings]:
        """Return every segment's postings of a query's terms, weighted by the IDF of the whole corpus."""
        terms = sorted({term for term in tokenize(query) if term in self.vocabulary})
        idf = {term: self.term_idf(term) for term in terms}
        return [lists for start, part in zip(self._starts, self.parts, strict=False)
                for lists in part.term_postings(terms, idf, int(start))]

    def documents_with(self, term: str) -> np.ndarray:
        """Return the positions of the documents that hold a stemmed term, ascending."""
        found = [part.documents_with(term) + start for start, part in zip(self._starts, self.parts, strict=False)]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def open_segment(directory: Path) -> tuple[MetadataStore, np.ndarray, np.ndarray, SentenceRows, BM25]:
    """Open one segment's metadata, vectors, sentence rows and BM25 (arrays memory-mapped)."""
    def mapped(name: str) -> np.ndarray:
        try:
            return np.asarray(np.load(directory / name, mmap_mode="r", allow_pickle=False))
        except ValueError:  # an empty array cannot be mapped
            return np.load(directory / name, allow_pickle=False)

    store = MetadataStore(directory / METADATA)
    terms = json.loads((directory / BM25_TERMS).read_text(encoding="utf-8"))
    bm25 = BM25(arrays=BM25Arrays(tuple(terms), **{key: mapped(name) for key, name in BM25_ARRAYS.items()}))
    rows = SentenceRows(mapped(SENTENCE_ROWS), mapped(SENTENCE_OFFSETS))
    return store, mapped(CHUNK_VECTORS), mapped(SENTENCE_VECTORS), rows, bm25


def joined_rows(parts: Sequence[SentenceRows], sentence_counts: Sequence[int]) -> SentenceRows:
    """Sentence rows of several segments as one: each segment's rows moved past the sentences before it."""
    if len(parts) == 1:
        return parts[0]
    rows, offsets = [], [np.zeros(1, dtype=np.int64)]
    sentence_start = flat_start = 0
    for part, sentences in zip(parts, sentence_counts, strict=True):
        rows.append(np.asarray(part.rows, dtype=np.int64) + sentence_start)
        offsets.append(np.asarray(part.offsets[1:], dtype=np.int64) + flat_start)
        sentence_start += sentences
        flat_start += len(part.rows)
    return SentenceRows(np.concatenate(rows), np.concatenate(offsets))


def append_delta(index_dir: Path, manifest: dict, articles: list[Article], chunks: list[Chunk], embedder: Embedder,
            say: Report, progress: Progress) -> int:
    """Embed the added articles only and write them as a delta segment in a new generation that links the rest."""
    sentence_list, sentence_rows = sentence_plan(articles, chunks)
    texts_of = {a.content_hash: a.text for a in articles}
    texts = [texts_of[content][start:end] for content, start, end in sentence_list]
    if texts:
        say(f"embedding {len(texts)} sentences with {embedder.model_name}")
    sentence_vectors, embedded = embed_texts(embedder, texts, progress)
    if not len(texts):
        sentence_vectors = np.zeros((0, int(manifest.get("dimension", 0))), dtype=np.float32)
    chunk_vectors = passage_vectors(sentence_vectors, sentence_rows)
    generation: Path | None = None
    try:
        generation = new_generation(index_dir)
        link_generation(index_dir.resolve(), generation, skip=(MANIFEST,))
        directory = next_delta_dir(manifest)
        count = write_segment(generation / directory, articles, chunks, sentence_rows, chunk_vectors,
                              sentence_vectors, progress)
        hashes = {**manifest["articles"], **{a.source_id: a.content_hash for a in articles}}
        updated = {**manifest, "chunks": int(manifest["chunks"]) + count,
                   "sentences": int(manifest.get("sentences", 0)) + len(sentence_vectors),
                   "deltas": [*(manifest.get("deltas") or []),
                              delta_record(generation, directory, count, len(sentence_vectors), len(articles))],
                   "articles": hashes,
                   "sources": source_files(articles, manifest.get("sources")),
                   "corpus_hash": corpus_digest([Article(k, "", content_hash=v) for k, v in hashes.items()]),
                   "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if updated.get("encoder") is None:
            updated["encoder"] = export_encoder(embedder, index_dir, generation, say)
        (generation / MANIFEST).write_text(json.dumps(updated, indent=2), encoding="utf-8")
        progress("write", 1, 1, "generations")
        fsync_tree(generation / directory)
        fsync_tree(generation, recursive=False)
        switch(index_dir, generation)
    except BaseException as exc:
        discard_generation(index_dir, generation, exc)
        raise
    return embedded
