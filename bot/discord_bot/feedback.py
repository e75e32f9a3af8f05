"""The 👍/👎 feedback store: SQLite, with user ids hashed under a per-database salt, never stored raw."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from embeddings.sqlitefile import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    message_id INTEGER,
    question TEXT NOT NULL,
    context TEXT,
    source_ids TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    UNIQUE (message_id, user_hash)
);
"""


@dataclass(frozen=True)
class FeedbackRow:
    """One stored vote."""

    created_at: str
    message_id: int | None
    question: str
    context: str | None
    source_ids: tuple[str, ...]
    user_hash: str
    vote: int


class FeedbackStore:
    """Records votes on answers; one vote per user and answer message (a later click replaces it)."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = Path(path)
        # Seconds to wait for a database another process holds locked, before giving up on this vote.
        self.timeout = timeout
        self._salt: str | None = None
        self._lock = threading.Lock()

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """Open the database (made on first use) for one transaction."""
        return transaction(self.path, self.timeout, SCHEMA)

    def salt(self) -> str:
        """Return the database's salt for user ids, creating it on first use."""
        if self._salt is None:
            with self._lock, self._connect() as conn:
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(16),))
                self._salt = conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
        return self._salt

    def hash_user(self, user_id: int) -> str:
        """Return the salted SHA-256 of a Discord user id."""
        return hashlib.sha256(f"{self.salt()}:{int(user_id)}".encode()).hexdigest()

    def record(self, *, question: str, source_ids: Sequence[str], user_id: int, vote: int,
               message_id: int | None = None, context: str | None = None) -> None:
        """Store a vote (+1 or -1) on an answer; raises sqlite3.Error or OSError when the database can't be written."""
        if vote not in (1, -1):
            raise ValueError(f"vote must be 1 or -1, not {vote!r}")
        user_hash = self.hash_user(user_id)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO feedback (created_at, message_id, question, context, source_ids, user_hash, vote) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (message_id, user_hash) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                (now, message_id, question, context, json.dumps(list(source_ids)), user_hash, vote),
            )

    def rows(self) -> list[FeedbackRow]:
        """Return every stored vote, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            found = conn.execute(
                "SELECT created_at, message_id, question, context, source_ids, user_hash, vote "
                "FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackRow(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6]) for r in found]
