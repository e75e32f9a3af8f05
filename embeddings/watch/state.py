"""What the watcher remembers between polls and processes, in one SQLite file: each source's validators, schedule
and errors; each item seen and the story it belongs to; each story's export row and signature; and the log of
stories indexed, which follow-up digests read from."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from embeddings.sqlitefile import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body_digest TEXT, last_success REAL, last_attempt REAL,
    next_poll REAL NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    added INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    source TEXT NOT NULL, key TEXT NOT NULL, story TEXT, url TEXT, digest TEXT, lastmod TEXT, etag TEXT,
    last_modified TEXT, present INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (source, key)
);
CREATE TABLE IF NOT EXISTS stories (
    story TEXT PRIMARY KEY, row TEXT NOT NULL, signature BLOB NOT NULL, first_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS bands (band TEXT NOT NULL, story TEXT NOT NULL, PRIMARY KEY (band, story));
CREATE TABLE IF NOT EXISTS pending (story TEXT PRIMARY KEY, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS indexed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, story TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class SourceState:
    """One watched source as the state holds it."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_digest: str | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    next_poll: float = 0.0
    failures: int = 0
    last_error: str | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0


@dataclass(frozen=True)
class Item:
    """An entry of a source seen before: a feed item (by its id) or a sitemap's page (by its URL)."""

    source: str
    key: str
    story: str | None
    url: str | None
    digest: str | None
    lastmod: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    present: bool = True


@dataclass(frozen=True)
class Indexed:
    """A story the index took in: its place in the log, 'new' or 'updated', and when."""

    seq: int
    story: str
    kind: str
    at: float


_SOURCE_COLUMNS = ("url, etag, last_modified, body_digest, last_success, last_attempt, next_poll, failures, "
                   "last_error, added, updated, removed")
_ITEM_COLUMNS = "source, key, story, url, digest, lastmod, etag, last_modified, present"


class WatchState:
    """The watcher's memory; a connection per call, so that worker threads and other processes can share it."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """Open the database (made on first use) for one transaction."""
        return transaction(self.path, self.timeout, SCHEMA)

    # ------------------------------------------------------------------ sources

    def source(self, url: str) -> SourceState:
        """Return a source's state (a fresh one when never polled)."""
        with self.connect() as conn:
            row = conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE url = ?", (url,)).fetchone()
        return SourceState(*row) if row else SourceState(url)

    def sources(self) -> list[SourceState]:
        """Return every source ever polled."""
        with self.connect() as conn:
            return [SourceState(*row) for row in conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY url")]

    def save_source(self, state: SourceState) -> None:
        """Store a source's state."""
        values = tuple(getattr(state, name.strip()) for name in _SOURCE_COLUMNS.split(","))
        with self.connect() as conn:
            conn.execute(f"INSERT OR REPLACE INTO sources ({_SOURCE_COLUMNS}) VALUES ({','.join('?' * len(values))})",
                         values)

    # ------------------------------------------------------------------ items

    def items(self, source: str) -> dict[str, Item]:
        """Return a source's items by key."""
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE source = ?", (source,)).fetchall()
        return {row[1]: Item(*row[:8], bool(row[8])) for row in rows}

    def save_item(self, item: Item) -> None:
        """Store an item."""
        with self.connect() as conn:
            conn.execute(f"INSERT OR REPLACE INTO items ({_ITEM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                         (item.source, item.key, item.story, item.url, item.digest, item.lastmod, item.etag,
                          item.last_modified, int(item.present)))

    def story_of_url(self, url: str) -> str | None:
        """Return the story an item of any source with this URL belongs to."""
        with self.connect() as conn:
            row = conn.execute("SELECT story FROM items WHERE url = ? AND story IS NOT NULL LIMIT 1", (url,)).fetchone()
        return row[0] if row else None

    def items_of_story(self, story: str) -> list[Item]:
        """Return every item that belongs to a story."""
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE story = ?", (story,)).fetchall()
        return [Item(*row[:8], bool(row[8])) for row in rows]

    # ------------------------------------------------------------------ stories

    def story(self, story: str) -> dict | None:
        """Return a story's export row, or None."""
        with self.connect() as conn:
            row = conn.execute("SELECT row FROM stories WHERE story = ?", (story,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_story(self, story: str, row: dict, signature: bytes, bands: Sequence[str], first_seen: float) -> None:
        """Store a story's export row and signature, and its LSH bands."""
        with self.connect() as conn:
            conn.execute("INSERT INTO stories (story, row, signature, first_seen) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (story) DO UPDATE SET row = excluded.row, signature = excluded.signature",
                         (story, json.dumps(row, ensure_ascii=False), signature, first_seen))
            conn.execute("DELETE FROM bands WHERE story = ?", (story,))
            conn.executemany("INSERT OR IGNORE INTO bands (band, story) VALUES (?, ?)", [(b, story) for b in bands])

    def signature_of(self, story: str) -> bytes | None:
        """Return a story's stored signature."""
        with self.connect() as conn:
            row = conn.execute("SELECT signature FROM stories WHERE story = ?", (story,)).fetchone()
        return row[0] if row else None

    def drop_story(self, story: str) -> None:
        """Forget a story (its items stay, without it)."""
        with self.connect() as conn:
            conn.execute("DELETE FROM stories WHERE story = ?", (story,))
            conn.execute("DELETE FROM bands WHERE story = ?", (story,))
            conn.execute("UPDATE items SET story = NULL WHERE story = ?", (story,))
            conn.execute("DELETE FROM pending WHERE story = ?", (story,))

    def candidates(self, bands: Sequence[str]) -> list[tuple[str, bytes]]:
        """Return (story, signature) of every story sharing a band with these."""
        marks = ",".join("?" * len(bands))
        with self.connect() as conn:
            return conn.execute("SELECT DISTINCT s.story, s.signature FROM bands b JOIN stories s "
                                f"ON s.story = b.story WHERE b.band IN ({marks})", tuple(bands)).fetchall()

    # ------------------------------------------------------------------ what the index took in

    def mark_pending(self, story: str, kind: str) -> None:
        """Note a story written into the seeds and not yet indexed ('new' stays new if updated before indexing)."""
        with self.connect() as conn:
            conn.execute("INSERT INTO pending (story, kind) VALUES (?, ?) ON CONFLICT (story) DO NOTHING",
                         (story, kind))

    def pending(self) -> dict[str, str]:
        """Return the stories written and not yet indexed, with their kind."""
        with self.connect() as conn:
            return dict(conn.execute("SELECT story, kind FROM pending ORDER BY story").fetchall())

    def log_indexed(self, stories: dict[str, str], at: float, clear: Iterable[str] = ()) -> None:
        """Log the stories the index took in, and take them (and `clear`, the build's leftovers) off pending."""
        with self.connect() as conn:
            conn.executemany("INSERT INTO indexed (story, kind, at) VALUES (?, ?, ?)",
                             [(story, kind, at) for story, kind in sorted(stories.items())])
            conn.executemany("DELETE FROM pending WHERE story = ?", [(story,) for story in {*stories, *clear}])

    def indexed_since(self, seq: int, limit: int = 500) -> list[Indexed]:
        """Return the log after a position, oldest first."""
        with self.connect() as conn:
            rows = conn.execute("SELECT seq, story, kind, at FROM indexed WHERE seq > ? ORDER BY seq LIMIT ?",
                                (seq, limit)).fetchall()
        return [Indexed(*row) for row in rows]

    def last_seq(self) -> int:
        """Return the log's last position (0 when empty)."""
        with self.connect() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM indexed").fetchone()[0])
