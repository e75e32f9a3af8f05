"""An index's manifest: what it was built with (format, model, chunker) and from (articles and their hashes);
loading refuses a mismatch with the command that fixes it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from embeddings.errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.ingest.chrome import chrome_model_digest
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.records import Article, ChunkerConfig

# 2: metadata in SQLite, vectors and BM25 postings in .npy files that are memory-mapped when loaded.
# 3: passage vectors are the mean of their sentences' vectors (2: SQLite metadata, memory-mapped arrays).
# 4: articles carry a url and an author (HTML pages, feeds and exports).
# 5: an index may hold delta segments beside its base (the manifest's "deltas"; embeddings.index.deltas).
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
# A hash per article and per file: ~100 bytes an article, so this is tens of millions of articles.
MAX_MANIFEST_BYTES = 2_000_000_000


def expected_manifest_fields(model: str, chunker: ChunkerConfig) -> dict[str, object]:
    """Return the manifest fields an index must match to serve these settings (the chrome model's checksum among
    the chunker's: articles cleaned by another model are cleaned again)."""
    return {"format_version": FORMAT_VERSION, "model": model, "chunker": chunker_fields(chunker)}


def chunker_fields(chunker: ChunkerConfig) -> dict[str, object]:
    """The chunker's parameters as a manifest records them, with the chrome model's checksum: articles cleaned by
    another model are read and cleaned again."""
    return {**chunker.as_dict(), "chrome_model": chrome_model_digest()}


def read_manifest(index_dir: Path) -> dict:
    """Read an index's manifest, or say what to do when there is none or it is damaged."""
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index at {index_dir}: run `newsbot index` to build it")
    raw = read_source_file(path, None, MAX_MANIFEST_BYTES, setting="")
    if isinstance(raw, Skipped):
        raise IndexCorruptError(f"index manifest {path}: {raw.why}: run `newsbot index --rebuild`")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise IndexCorruptError(f"index manifest {path} is unreadable: run `newsbot index --rebuild`") from exc
    problem = manifest_problem(manifest)
    if problem:
        raise IndexCorruptError(f"index manifest {path} is damaged ({problem}): run `newsbot index --rebuild`")
    return manifest


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_digests(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# What newsbot reads from a manifest, by type: anything else is only compared (model, chunker) or shown.
_SHAPES = {
    "format_version": ("an integer", _is_int),
    "articles": ("an object of id -> hash", _is_digests),
    "files": ("an object of file -> SHA-256", _is_digests),
    "chunks": ("an integer", lambda value: _is_int(value) and value >= 0),
    "encoder": ("null or an object with 'dir' and 'files'", lambda value: value is None or (
        isinstance(value, dict) and isinstance(value.get("dir"), str) and _is_digests(value.get("files")))),
}


_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}


def manifest_problem(manifest: object) -> str | None:
    """Return what is wrong with a manifest's shape (a field missing or of the wrong type), or None."""
    if not isinstance(manifest, dict):
        return "not an object"
    for key, (wanted, valid) in _SHAPES.items():
        if key not in manifest:
            # An older format may lack a field: loading then refuses it by its format_version, `index` rebuilds it.
            if key != "encoder" and manifest.get("format_version") == FORMAT_VERSION:
                return f"no {key!r}"
            continue
        if not valid(manifest[key]):
            return f"{key!r} is {_JSON_TYPES.get(type(manifest[key]), 'a value')}, not {wanted}"
    return None


def check_manifest(manifest: dict, model: str, chunker: ChunkerConfig, index_dir: Path) -> None:
    """Refuse an index built with another format, model or chunker."""
    for key, wanted in expected_manifest_fields(model, chunker).items():
        if manifest.get(key) != wanted:
            found = repr(manifest.get(key))
            shown = found if len(found) <= 200 else found[:197] + "..."
            raise IndexMismatchError(f"index at {index_dir} was built with {key}={shown}, settings ask for "
                                     f"{wanted!r}: run `newsbot index` to rebuild it")


def article_changes(indexed: Mapping[str, str], current: Mapping[str, str]) -> tuple[tuple[str, ...], ...]:
    """Return the ids added, removed, changed and unchanged from one map of id -> content hash to another, sorted."""
    added = tuple(sorted(current.keys() - indexed.keys()))
    removed = tuple(sorted(indexed.keys() - current.keys()))
    changed = tuple(sorted(k for k in current.keys() & indexed.keys() if current[k] != indexed[k]))
    unchanged = tuple(sorted(k for k in current.keys() & indexed.keys() if current[k] == indexed[k]))
    return added, removed, changed, unchanged


def check_shrink(indexed: Mapping[str, str], removed: Sequence[str], where: str, allow: bool) -> None:
    """Refuse a build that would remove most of an index's articles unless `allow`: a seeds directory set wrong (an
    empty one, another project's) must not empty an index that took an hour to embed."""
    if allow or not indexed or 2 * len(removed) <= len(indexed):
        return
    shown = ", ".join(removed[:5]) + (f" and {len(removed) - 5} more" if len(removed) > 5 else "")
    raise CorpusError(f"this build would remove {len(removed)} of the {len(indexed)} articles of the index at "
                      f"{where} ({shown}), keeping {len(indexed) - len(removed)}: check the seeds directory, or run "
                      "`newsbot index --allow-shrink` if that is meant")


def stale_articles(manifest: dict, articles: Sequence[Article]) -> list[str]:
    """Return the ids of articles added, changed or removed since the index was built."""
    added, removed, changed, _ = article_changes(manifest.get("articles", {}),
                                                 {a.source_id: a.content_hash for a in articles})
    return sorted((*added, *removed, *changed))




def source_files(articles: Iterable[Article], previous: Mapping[str, object] | None = None) -> dict[str, object]:
    """Return the manifest's "sources": each feed or export the articles came from, by name, with its digest and the
    ids it holds (Article.origin), over the `previous` record's files."""
    sources = dict(previous or {})
    for article in articles:
        if article.origin is not None:
            name, file_digest, ids, pairs = article.origin
            sources[name] = {"digest": file_digest, "ids": list(ids), "articles": pairs}
    return sources


def corpus_digest(articles: Sequence[Article]) -> str:
    """Return one hash over every article's id and content hash."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.source_id):
        digest.update(f"{article.source_id}:{article.content_hash}\n".encode())
    return digest.hexdigest()
