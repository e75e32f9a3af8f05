"""An index's manifest: what it was built with (format, model, chunker) and from (articles and their hashes);
loading refuses a mismatch with the command that fixes it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.records import Article, ChunkerConfig

# 2: metadata in SQLite, vectors and BM25 postings in .npy files that are memory-mapped when loaded.
# 3: passage vectors are the mean of their sentences' vectors (2: SQLite metadata, memory-mapped arrays).
# 4: articles carry a url and an author (HTML pages, feeds and exports).
FORMAT_VERSION = 4
MANIFEST = "manifest.json"


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




def corpus_digest(articles: Sequence[Article]) -> str:
    """Return one hash over every article's id and content hash."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.source_id):
        digest.update(f"{article.source_id}:{article.content_hash}\n".encode())
    return digest.hexdigest()
