"""Followed topics (/follow): one row per channel and topic, in the feedback database, with the place in the watch
log up to which its digests went out; a digest is claimed in the database before it is sent, so that no restart and
no second process ever posts it again."""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from embeddings.sqlitefile import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER,
    channel_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seq INTEGER NOT NULL,
    last_digest REAL,
    UNIQUE (channel_id, topic)
);
"""
# A channel follows a handful of stories; more is a digest nobody reads.
MAX_PER_CHANNEL = 25


@dataclass(frozen=True)
class Follow:
    """A channel's followed topic: the watch log is read after `last_seq`; `last_digest` is when one last went out."""

    id: int
    guild_id: int | None
    channel_id: int
    topic: str
    created_at: float
    last_seq: int
    last_digest: float | None


_COLUMNS = "id, guild_id, channel_id, topic, created_at, last_seq, last_digest"


class FollowStore:
    """The followed topics, shared by the cogs, the digest loop and other processes through SQLite."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """Open the database (made on first use) for one transaction."""
        return transaction(self.path, self.timeout, SCHEMA)

    def follow(self, guild_id: int | None, channel_id: int, topic: str, start_seq: int) -> bool | None:
        """Follow a topic in a channel from the log's `start_seq` on; False when already followed, None when the
        channel follows MAX_PER_CHANNEL topics already."""
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM follows WHERE channel_id = ? AND lower(topic) = lower(?)",
                            (channel_id, topic)).fetchone():
                return False
            count = conn.execute("SELECT COUNT(*) FROM follows WHERE channel_id = ?", (channel_id,)).fetchone()[0]
            if count >= MAX_PER_CHANNEL:
                return None
            conn.execute("INSERT INTO follows (guild_id, channel_id, topic, created_at, last_seq) VALUES (?,?,?,?,?)",
                         (guild_id, channel_id, topic, time.time(), start_seq))
            return True

    def unfollow(self, channel_id: int, topic: str | None) -> list[str]:
        """Stop following a topic in a channel (every topic when None); return the topics dropped."""
        with self._connect() as conn:
            if topic is None:
                rows = conn.execute("SELECT topic FROM follows WHERE channel_id = ?", (channel_id,)).fetchall()
                conn.execute("DELETE FROM follows WHERE channel_id = ?", (channel_id,))
            else:
                rows = conn.execute("SELECT topic FROM follows WHERE channel_id = ? AND lower(topic) = lower(?)",
                                    (channel_id, topic)).fetchall()
                conn.execute("DELETE FROM follows WHERE channel_id = ? AND lower(topic) = lower(?)",
                             (channel_id, topic))
        return [row[0] for row in rows]

    def of_channel(self, channel_id: int) -> list[Follow]:
        """Return a channel's followed topics, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM follows WHERE channel_id = ? ORDER BY id",
                                (channel_id,)).fetchall()
        return [Follow(*row) for row in rows]

    def all(self) -> list[Follow]:
        """Return every followed topic."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            return [Follow(*row) for row in conn.execute(f"SELECT {_COLUMNS} FROM follows ORDER BY id")]

    def claim(self, follow: Follow, seq: int, digest_at: float | None) -> bool:
        """Move a topic's place in the log from where `follow` saw it to `seq` (and its last digest to `digest_at`
        when one goes out); False when another process or an earlier run moved it first."""
        with self._connect() as conn:
            moved = conn.execute("UPDATE follows SET last_seq = ?, last_digest = COALESCE(?, last_digest) "
                                 "WHERE id = ? AND last_seq = ?", (seq, digest_at, follow.id, follow.last_seq))
            return moved.rowcount == 1

    def release(self, follow: Follow, seq: int) -> None:
        """Undo a claim whose digest could not be sent, so that the next round tries it again."""
        with self._connect() as conn:
            conn.execute("UPDATE follows SET last_seq = ?, last_digest = ? WHERE id = ? AND last_seq = ?",
                         (follow.last_seq, follow.last_digest, follow.id, seq))
