"""The on-disk index: a directory with a manifest, written atomically and checked when loaded."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.ann import build_faiss, choose_index
from embeddings.checksums import file_sha256
from embeddings.chunking import chunk_article
from embeddings.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError, ModelLoadError
from embeddings.models import Article, Chunk, ChunkerConfig, SourceInfo, Span
from embeddings.onnx_encoder import ENCODER_DIR, ensure_onnx, read_export_info
from embeddings.vectors import Embedder

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARTICLES = "articles.json"
CHUNKS = "chunks.jsonl"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
FAISS_INDEX = "chunks.faiss"
DATA_FILES = (ARTICLES, CHUNKS, CHUNK_VECTORS, SENTENCE_VECTORS, FAISS_INDEX)
LOCK_WAIT_SECONDS = 600.0

Report = Callable[[str], None]


@dataclass(frozen=True)
class BuildReport:
    """What an index run found and did."""

    path: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    chunks: int = 0
    embedded: int = 0
    up_to_date: bool = False
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Return the report as a JSON-friendly dict."""
        return {
            "path": self.path,
            "up_to_date": self.up_to_date,
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
            "unchanged": len(self.unchanged),
            "chunks": self.chunks,
            "embedded": self.embedded,
            "warnings": list(self.warnings),
        }

    def summary(self, with_path: bool = True) -> str:
        """Return one line that says what changed."""
        where = f" ({self.path})" if with_path else ""
        if self.up_to_date:
            return f"index up to date: {len(self.unchanged)} articles, {self.chunks} passages{where}"
        parts = [f"{len(v)} {k}" for k, v in (("added", self.added), ("changed", self.changed),
                                                ("removed", self.removed)) if v]
        changed = ", ".join(parts) or "rebuilt"
        return f"index written: {changed}; {self.chunks} passages, {self.embedded} texts embedded{where}"


@dataclass
class NewsIndex:
    """A loaded index: articles, chunks, their vectors and the FAISS search structure."""

    path: Path
    manifest: dict
    articles: dict[str, Article]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_rows: list[tuple[int, ...]]
    faiss_index: object = field(repr=False)

    @property
    def model(self) -> str:
        """Return the model the vectors were made with."""
        return str(self.manifest["model"])

    def source(self, source_id: str) -> SourceInfo:
        """Return citation metadata for an article."""
        article = self.articles[source_id]
        return SourceInfo(article.source_id, article.title, article.date, article.outlet)

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""
        return [chunk for chunk in self.chunks if chunk.source_id == source_id]


def corpus_digest(articles: Sequence[Article]) -> str:
    """Return one hash over every article's id and content hash."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.source_id):
        digest.update(f"{article.source_id}:{article.content_hash}\n".encode())
    return digest.hexdigest()


def expected_manifest_fields(model: str, chunker: ChunkerConfig) -> dict[str, object]:
    """Return the manifest fields an index must match to serve these settings."""
    return {"format_version": FORMAT_VERSION, "model": model, "chunker": chunker.as_dict()}


def read_manifest(index_dir: Path) -> dict:
    """Read an index's manifest, or say what to do when there is none."""
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index at {index_dir}: run `newsbot index` to build it")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest {path} is unreadable: run `newsbot index --rebuild`") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"index manifest {path} is not an object: run `newsbot index --rebuild`")
    return manifest


def check_manifest(manifest: dict, model: str, chunker: ChunkerConfig, index_dir: Path) -> None:
    """Refuse an index built with another format, model or chunker."""
    for key, wanted in expected_manifest_fields(model, chunker).items():
        if manifest.get(key) != wanted:
            raise IndexMismatchError(
                f"index at {index_dir} was built with {key}={manifest.get(key)!r}, settings ask for "
                f"{wanted!r}: run `newsbot index` to rebuild it"
            )


def stale_articles(manifest: dict, articles: Sequence[Article]) -> list[str]:
    """Return the ids of articles added, changed or removed since the index was built."""
    indexed = manifest.get("articles", {})
    current = {a.source_id: a.content_hash for a in articles}
    return sorted(k for k in indexed.keys() | current.keys() if indexed.get(k) != current.get(k))


def load_index(index_dir: Path, model: str, chunker: ChunkerConfig, verify: bool = True) -> NewsIndex:
    """Load an index after checking its manifest, settings and file checksums."""
    import faiss

    manifest = read_manifest(index_dir)
    check_manifest(manifest, model, chunker, index_dir)
    files = manifest.get("files", {})
    for name in DATA_FILES:
        path = index_dir / name
        if not path.is_file() or (verify and file_sha256(path) != files.get(name)):
            raise IndexCorruptError(
                f"index file {path} is missing or fails its checksum: run `newsbot index --rebuild`"
            )
    try:
        articles = {a["source_id"]: _article_from_json(a) for a in json.loads((index_dir / ARTICLES).read_text())}
        chunks, sentence_rows = [], []
        for line in (index_dir / CHUNKS).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            article = articles[row["source_id"]]
            chunks.append(_chunk_from_json(row, article))
            sentence_rows.append(tuple(row["sentence_rows"]))
        chunk_vectors = np.load(index_dir / CHUNK_VECTORS)
        sentence_vectors = np.load(index_dir / SENTENCE_VECTORS)
        faiss_index = faiss.read_index(str(index_dir / FAISS_INDEX))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexCorruptError(f"index at {index_dir} cannot be read ({exc}): run `newsbot index --rebuild`") from exc
    if faiss_index.ntotal != len(chunks) or chunk_vectors.shape[0] != len(chunks):
        raise IndexCorruptError(f"index at {index_dir} is inconsistent: run `newsbot index --rebuild`")
    return NewsIndex(index_dir, manifest, articles, chunks, chunk_vectors, sentence_vectors, sentence_rows, faiss_index)


def _article_to_json(article: Article) -> dict:
    return {
        "source_id": article.source_id,
        "title": article.title,
        "date": article.date,
        "outlet": article.outlet,
        "content_hash": article.content_hash,
        "body": article.body,
        "segments": article.segments,
        "noise": article.noise,
        "provenance": article.provenance,
        "text": article.text,
    }


def _spans(rows: list) -> tuple[Span, ...]:
    return tuple((int(a), int(b)) for a, b in rows)


def _article_from_json(row: dict) -> Article:
    return Article(
        source_id=row["source_id"],
        text=row["text"],
        title=row["title"],
        date=row["date"],
        outlet=row["outlet"],
        body=_spans(row["body"]),
        segments=_spans(row["segments"]),
        noise=tuple((kind, (int(a), int(b))) for kind, (a, b) in row["noise"]),
        provenance=tuple((k, v) for k, v in row["provenance"]),
        content_hash=row["content_hash"],
    )


def _chunk_from_json(row: dict, article: Article) -> Chunk:
    start, end = int(row["start"]), int(row["end"])
    return Chunk(row["chunk_id"], row["source_id"], start, end, article.text[start:end], _spans(row["sentences"]))


@contextlib.contextmanager
def index_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock beside the index so that two builds never interleave."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with lock_path.open("a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"another process is building the index at {index_dir}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class _Reusable:
    chunk_vectors: dict[str, np.ndarray]
    sentence_vectors: dict[tuple[str, int, int], np.ndarray]


def _reusable(index_dir: Path, model: str, chunker: ChunkerConfig) -> _Reusable | None:
    """Return the vectors of a previous compatible, intact index, keyed by chunk text and sentence."""
    try:
        old = load_index(index_dir, model, chunker)
    except (IndexMissingError, IndexMismatchError, IndexCorruptError) as exc:
        if not isinstance(exc, IndexMissingError):
            log.warning("previous index not reused: %s", exc)
        return None
    chunk_vectors = {
        f"{c.source_id}\0{old.articles[c.source_id].content_hash}\0{c.start}:{c.end}": old.chunk_vectors[i]
        for i, c in enumerate(old.chunks)
    }
    sentence_vectors: dict[tuple[str, int, int], np.ndarray] = {}
    for chunk, rows in zip(old.chunks, old.sentence_rows, strict=True):
        content = old.articles[chunk.source_id].content_hash
        for (start, end), row in zip(chunk.sentences, rows, strict=True):
            sentence_vectors[(content, start, end)] = old.sentence_vectors[row]
    return _Reusable(chunk_vectors, sentence_vectors)


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
                _clean_leftovers(index_dir)
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
    reuse: _Reusable | None,
    say: Report,
) -> int:
    """Embed what cannot be reused, write a new generation and switch the index to it."""
    import faiss

    by_id = {a.source_id: a for a in articles}
    sentence_keys: dict[tuple[str, int, int], int] = {}
    sentence_rows: list[tuple[int, ...]] = []
    for chunk in chunks:
        content = by_id[chunk.source_id].content_hash
        rows = []
        for start, end in chunk.sentences:
            rows.append(sentence_keys.setdefault((content, start, end), len(sentence_keys)))
        sentence_rows.append(tuple(rows))
    chunk_keys = [f"{c.source_id}\0{by_id[c.source_id].content_hash}\0{c.start}:{c.end}" for c in chunks]
    sentence_list = list(sentence_keys)
    texts_of = {a.content_hash: a.text for a in articles}

    todo_chunks = [i for i, key in enumerate(chunk_keys) if reuse is None or key not in reuse.chunk_vectors]
    todo_sentences = [i for i, key in enumerate(sentence_list) if reuse is None or key not in reuse.sentence_vectors]
    texts = [chunks[i].text for i in todo_chunks] + [
        texts_of[sentence_list[i][0]][sentence_list[i][1] : sentence_list[i][2]] for i in todo_sentences
    ]
    if texts:
        say(f"embedding {len(texts)} texts with {embedder.model_name}")
    fresh = _embed(embedder, texts, say)
    dimension = fresh.shape[1] if len(texts) else _dimension_of(reuse)
    chunk_vectors = np.zeros((len(chunks), dimension), dtype=np.float32)
    sentence_vectors = np.zeros((len(sentence_list), dimension), dtype=np.float32)
    for position, i in enumerate(todo_chunks):
        chunk_vectors[i] = fresh[position]
    for position, i in enumerate(todo_sentences):
        sentence_vectors[i] = fresh[len(todo_chunks) + position]
    if reuse is not None:
        todo_c, todo_s = set(todo_chunks), set(todo_sentences)
        for i, key in enumerate(chunk_keys):
            if i not in todo_c:
                chunk_vectors[i] = reuse.chunk_vectors[key]
        for i, key in enumerate(sentence_list):
            if i not in todo_s:
                sentence_vectors[i] = reuse.sentence_vectors[key]

    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    generation = index_dir.parent / f".{index_dir.name}-{stamp}"
    generation.mkdir(parents=True)
    try:
        (generation / ARTICLES).write_text(json.dumps([_article_to_json(a) for a in articles]), encoding="utf-8")
        with (generation / CHUNKS).open("w", encoding="utf-8") as handle:
            for chunk, rows in zip(chunks, sentence_rows, strict=True):
                handle.write(json.dumps({
                    "chunk_id": chunk.chunk_id, "source_id": chunk.source_id, "start": chunk.start,
                    "end": chunk.end, "sentences": chunk.sentences, "sentence_rows": rows,
                }) + "\n")
        np.save(generation / CHUNK_VECTORS, chunk_vectors)
        np.save(generation / SENTENCE_VECTORS, sentence_vectors)
        # Exact search while it is fast, IVF past embeddings.ann.FLAT_MAX passages.
        spec = choose_index(len(chunks), dimension)
        faiss.write_index(build_faiss(chunk_vectors, spec), str(generation / FAISS_INDEX))
        encoder = _export_encoder(embedder, index_dir, generation, say)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": embedder.model_name,
            "dimension": int(dimension),
            "chunker": chunker.as_dict(),
            "faiss": spec.as_dict(),
            "encoder": encoder,
            "chunks": len(chunks),
            "sentences": len(sentence_list),
            "corpus_hash": corpus_digest(articles),
            "articles": {a.source_id: a.content_hash for a in articles},
            "files": {name: file_sha256(generation / name) for name in DATA_FILES},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (generation / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync_dir(generation)
        _switch(index_dir, generation)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    return len(texts)


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


def _embed(embedder: Embedder, texts: list[str], say: Report) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)

    def progress(done: int, total: int) -> None:
        say(f"  embedded {done}/{total}")

    try:
        vectors = embedder.embed(texts, progress=progress)  # type: ignore[call-arg]
    except TypeError:
        vectors = embedder.embed(texts)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _dimension_of(reuse: _Reusable | None) -> int:
    for vectors in (reuse.chunk_vectors if reuse else {}).values():
        return int(vectors.shape[0])
    return 0


def _fsync_dir(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_dir():
            _fsync_dir(path)
            continue
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch(index_dir: Path, generation: Path) -> None:
    """Point the index path at a new generation in one rename, then drop older generations."""
    previous = os.readlink(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain directory (an old layout or a hand-made copy) cannot be swapped in one step.
        shutil.move(str(index_dir), str(index_dir.parent / f".{index_dir.name}-replaced-{os.getpid()}"))
    link = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(generation.name, link)
    os.replace(link, index_dir)
    generations = _generation_name(index_dir)
    for old in index_dir.parent.iterdir():
        if generations.fullmatch(old.name) and old.name not in (generation.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    _clean_leftovers(index_dir)


def _generation_name(index_dir: Path) -> re.Pattern[str]:
    """Match exactly this index's generation directories, so that another index beside it is never touched."""
    return re.compile(rf"\.{re.escape(index_dir.name)}-\d{{8}}T\d{{6}}-[0-9a-f]{{8}}")


def _clean_leftovers(index_dir: Path) -> None:
    """Remove what a killed build leaves behind: generations it never finished and its temporary symlink.

    Called under the index lock, so no other build is writing; readers only ever open complete generations.
    Best effort: a failure here is logged and never fails the build that has just been switched in.
    """
    generation = _generation_name(index_dir)
    link = re.compile(rf"\.{re.escape(index_dir.name)}\.link-\d+")
    try:
        current = os.readlink(index_dir) if index_dir.is_symlink() else None
        for path in index_dir.parent.iterdir():
            if link.fullmatch(path.name) and path.is_symlink():
                path.unlink()
            elif (generation.fullmatch(path.name) and path.name != current and path.is_dir()
                  and not path.is_symlink() and not (path / MANIFEST).is_file()):
                log.info("removing the unfinished index generation %s", path.name)
                shutil.rmtree(path, ignore_errors=True)
    except OSError as exc:
        log.warning("could not clean up beside the index at %s: %s", index_dir, exc)
