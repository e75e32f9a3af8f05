"""The PostgreSQL store as an IndexBackend: the current generation's manifest, loading, builds under an advisory
lock, and noticing when another process switched generations."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import psycopg
from psycopg import sql

from embeddings.encoders import Embedder
from embeddings.errors import IndexBusyError, IndexMismatchError, IndexMissingError
from embeddings.index.directory import BuildReport
from embeddings.index.manifest import article_changes, check_shrink, expected_manifest_fields
from embeddings.index.vectors import Reusable, plan_vectors
from embeddings.ingest.chunking import chunk_articles
from embeddings.postgres.connection import Database
from embeddings.postgres.schema import (
    BUILD_LOCK,
    CONTROL,
    STORE_VERSION,
    ensure_control,
    generation_schema,
    write_generation,
)
from embeddings.postgres.serving import KEYWORD_RANKINGS, PostgresIndex
from embeddings.progress import Progress, silent
from embeddings.records import Article, Chunk, ChunkerConfig
from embeddings.search.interface import Report, ServingIndex

LOCK_WAIT_SECONDS = 600.0
# How often a serving process asks which generation is current (at most once a question).
CURRENT_CHECK_SECONDS = 1.0
_CURRENT = (f"SELECT c.generation, g.manifest FROM {CONTROL}.current c "
            f"JOIN {CONTROL}.generations g ON g.id = c.generation")


class PostgresBackend:
    """Index generations in one PostgreSQL database (NEWSBOT_DATABASE_URL)."""

    def __init__(self, url: str, keyword: str = "bm25") -> None:
        if keyword not in KEYWORD_RANKINGS:
            raise ValueError(f"keyword ranking must be one of {KEYWORD_RANKINGS}")
        self.db = Database(url)
        self.keyword = keyword
        self._checked: tuple[int, float] | None = None
        self._check_lock = threading.Lock()

    @property
    def location(self) -> str:
        """Return the database URL without its password."""
        return self.db.where

    def _missing(self) -> IndexMissingError:
        return IndexMissingError(f"no index in the database at {self.db.where}: run `newsbot index` to build it")

    def _current(self, connection: psycopg.Connection) -> dict | None:
        try:
            row = connection.execute(_CURRENT).fetchone()
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            return None
        if row is None:
            return None
        return {**row[1], "generation": int(row[0])}

    def read_manifest(self) -> dict:
        """Return the current generation's manifest, with its generation id."""
        with self.db.session("reading the manifest") as connection:
            manifest = self._current(connection)
        if manifest is None:
            raise self._missing()
        return manifest

    def check(self, manifest: dict, model: str, chunker: ChunkerConfig) -> None:
        """Refuse a generation built with another format, model, chunker or store version."""
        wanted = {**expected_manifest_fields(model, chunker), "store_version": STORE_VERSION}
        for key, value in wanted.items():
            if manifest.get(key) != value:
                fix = "newsbot index --rebuild" if key == "store_version" else "newsbot index"
                raise IndexMismatchError(
                    f"the index in the database at {self.db.where} was built with {key}={manifest.get(key)!r}, "
                    f"settings ask for {value!r}: run `{fix}` to rebuild it")

    def load(self, model: str, chunker: ChunkerConfig) -> PostgresIndex:
        """Load the current generation after checking its manifest against the settings."""
        manifest = self.read_manifest()
        self.check(manifest, model, chunker)
        index = PostgresIndex(self.db, manifest["generation"], manifest, self.keyword)
        with self._check_lock:
            self._checked = (index.generation, time.monotonic())
        return index

    def is_current(self, index: ServingIndex) -> bool:
        """Return False once another generation is current (asked at most every CURRENT_CHECK_SECONDS)."""
        generation = getattr(index, "generation", None)
        with self._check_lock:
            checked = self._checked
        if checked is None or time.monotonic() - checked[1] >= CURRENT_CHECK_SECONDS:
            with self.db.session("checking the index generation") as connection:
                row = connection.execute(f"SELECT generation FROM {CONTROL}.current").fetchone()
            checked = (int(row[0]) if row else -1, time.monotonic())
            with self._check_lock:
                self._checked = checked
        return checked[0] == generation

    @contextlib.contextmanager
    def _build_session(self, wait: float = LOCK_WAIT_SECONDS) -> Iterator[psycopg.Connection]:
        """A direct session holding the build lock: builds in other processes wait, then fail with IndexBusyError."""
        connection = self.db.connect()
        try:
            deadline = time.monotonic() + wait
            while not connection.execute("SELECT pg_try_advisory_lock(%s)", (BUILD_LOCK,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"another process is building the index in the database at {self.db.where}")
                time.sleep(0.2)
            ensure_control(connection)
            self.db._prepare(connection)
            yield connection
        except psycopg.Error as exc:
            raise self.db.error(exc, "building the index") from None
        finally:
            with contextlib.suppress(psycopg.Error):
                connection.close()  # closing the session releases the lock
            # The first build of a database created the vector type that pooled sessions were opened without.
            self.db.reset()

    def write(self, articles: Sequence[Article], chunks: Sequence[Chunk] | Iterator[Chunk],
              sentence_rows, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray, *, model: str,
              chunker: ChunkerConfig, report: Report | None = None) -> int:
        """Write a generation from precomputed vectors and switch to it (as the directory's write_index does)."""
        with self._build_session() as connection:
            return write_generation(connection, articles, chunks, sentence_rows, chunk_vectors, sentence_vectors,
                                    model=model, chunker=chunker, say=report or (lambda message: None))

    def build(self, articles: Sequence[Article], embedder: Embedder, chunker: ChunkerConfig, *, rebuild: bool = False,
              warnings: Sequence[str] = (), report: Report | None = None, progress: Progress = silent,
              reread: Callable[[], Sequence[Article]] | None = None, allow_shrink: bool = False) -> BuildReport:
        """Bring the index in line with the articles, embedding only what is new or changed (refusing to remove most
        of them unless `allow_shrink`)."""
        say = report or (lambda message: None)
        articles = sorted(articles, key=lambda a: a.source_id)
        model = embedder.model_name
        with self._build_session() as connection:
            manifest = self._current(connection)
            indexed = (manifest or {}).get("articles", {})
            current = {a.source_id: a.content_hash for a in articles}
            added, removed, changed, unchanged = article_changes(indexed, current)
            check_shrink(indexed, removed, self.db.where, allow_shrink)
            compatible = manifest is not None and manifest.get("store_version") == STORE_VERSION and all(
                manifest.get(k) == v for k, v in expected_manifest_fields(model, chunker).items())
            if compatible and not rebuild and not (added or removed or changed):
                return BuildReport(self.db.where, unchanged=unchanged, chunks=int(manifest.get("chunks", 0)),
                                   up_to_date=True, warnings=tuple(warnings))
            if manifest is not None and not compatible:
                say("settings changed since the last build: re-embedding every article")
            if any(a.is_stub for a in articles):  # a generation is written whole: every article's text is needed
                if reread is None:
                    raise ValueError("unchanged articles given as stubs and no way to read them again")
                articles = sorted(reread(), key=lambda a: a.source_id)
            reuse = _reusable(connection, manifest, articles) if compatible and not rebuild else None
            chunks = chunk_articles(articles, chunker, progress)
            sentence_rows, sentence_vectors, chunk_vectors, embedded = plan_vectors(articles, chunks, embedder, reuse,
                                                                                    say, progress)
            generation = write_generation(connection, articles, chunks, sentence_rows, chunk_vectors,
                                          sentence_vectors, model=model, chunker=chunker, say=say)
        if reuse is None:
            added, changed, unchanged = tuple(current), (), ()
        return BuildReport(f"{self.db.where}, generation {generation}", added, changed, removed, unchanged,
                           len(chunks), embedded, warnings=tuple(warnings))

    def close(self) -> None:
        """Close the pool."""
        self.db.close()


def _reusable(connection: psycopg.Connection, manifest: dict, articles: Sequence[Article]) -> Reusable | None:
    """Return the current generation's sentence vectors of articles still in the corpus, keyed by content and span."""
    hashes = sorted({a.content_hash for a in articles} & set(manifest.get("articles", {}).values()))
    if not hashes:
        return None
    statement = sql.SQL("SELECT content_hash, start_char, end_char, embedding FROM {g}.sentences "
                                "WHERE content_hash = ANY(%s)").format(g=generation_schema(manifest["generation"]))
    rows = connection.cursor(binary=True).execute(statement, (hashes,)).fetchall()
    if not rows:
        return None
    vectors = np.stack([row[3].to_numpy() for row in rows]).astype(np.float32, copy=False)
    return Reusable(vectors, {(row[0], int(row[1]), int(row[2])): i for i, row in enumerate(rows)})
