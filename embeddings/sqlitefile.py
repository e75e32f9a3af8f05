"""One transaction on a small SQLite file of newsbot's own (feedback, question log, follows, the watcher's state)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def transaction(path: Path, timeout: float, schema: str) -> Iterator[sqlite3.Connection]:
    """Open the file (made with its schema on first use) for one transaction, waiting up to `timeout` seconds for a
    lock another process holds; a connection per call, since callers run on several threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=timeout)) as conn, conn:
        conn.executescript(schema)
        yield conn
