"""File checksums for index manifests and encoder exports."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Hashes of files already read in this process, by identity (a changed file has a new inode, size or mtime).
_DIGESTS: dict[tuple[int, int, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path) -> str:
    """Return a file's SHA-256, hashed once per process per file identity.

    By identity, not path: every index generation hard-links the same encoder export, so it is hashed once.
    """
    stat = path.stat()
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(key)
    if cached is None:
        cached = _DIGESTS[key] = file_sha256(path)
    return cached
