"""Where indexes live: the embedded index directory (the default) or PostgreSQL, chosen by NEWSBOT_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from embeddings.progress import Progress, silent
from embeddings.records import Article, ChunkerConfig
from embeddings.search.interface import IndexBackend, Report, ServingIndex

if TYPE_CHECKING:
    from embeddings.encoders import Embedder
    from embeddings.index.directory import BuildReport


class DirectoryBackend:
    """The embedded store: an index directory, as built and loaded by embeddings/index/directory.py."""

    def __init__(self, index_dir: Path, encoder_backend: str | None = None) -> None:
        self.index_dir = index_dir
        # Which encoder files loading checks against the manifest (embeddings/index/directory.py load_index).
        self.encoder_backend = encoder_backend

    @property
    def location(self) -> str:
        """Return the index directory."""
        return str(self.index_dir)

    def read_manifest(self) -> dict:
        """Return the manifest of the generation the index path points at."""
        from embeddings.index.manifest import read_manifest

        return read_manifest(self.index_dir)

    def load(self, model: str, chunker: ChunkerConfig) -> ServingIndex:
        """Load the index directory, checking its manifest and checksums."""
        from embeddings.index.directory import load_index

        return load_index(self.index_dir, model, chunker, backend=self.encoder_backend)

    def is_current(self, index: ServingIndex) -> bool:
        """Return True: a process keeps the generation it loaded until it reindexes itself (files stay readable)."""
        return True

    def build(self, articles: Sequence[Article], embedder: Embedder, chunker: ChunkerConfig, *, rebuild: bool = False,
              warnings: Sequence[str] = (), report: Report | None = None, progress: Progress = silent,
              reread: Callable[[], Sequence[Article]] | None = None, allow_shrink: bool = False) -> BuildReport:
        """Write a new generation directory (or, for added articles only, a delta segment) and switch to it."""
        from embeddings.index.directory import build_index

        return build_index(articles, embedder, chunker, self.index_dir, rebuild=rebuild, warnings=warnings,
                           report=report, progress=progress, reread=reread, allow_shrink=allow_shrink)

    def close(self) -> None:
        """Nothing to release: the arrays are memory-mapped."""


def open_backend(index_dir: Path, database_url: str | None = None, encoder_backend: str | None = None) -> IndexBackend:
    """Return the PostgreSQL store when a database URL is set, else the index directory."""
    if database_url:
        from embeddings.postgres import PostgresBackend

        return PostgresBackend(database_url)
    return DirectoryBackend(index_dir, encoder_backend)
