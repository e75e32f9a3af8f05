"""The question log in SQLite, in the feedback database (NEWSBOT_FEEDBACK_DB): a `questions` table read back with the
votes of the `feedback` table; and the key users are hashed with, kept in a file beside the database."""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from bot.answer.questionlog import LoggedQuestion, timestamp
from embeddings.sqlitefile import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    reading TEXT,
    answered INTEGER NOT NULL,
    rule TEXT,
    reason TEXT,
    sources TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    user_hash TEXT,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
"""
_COLUMNS = "asked_at, channel, question, reading, answered, rule, reason, sources, latency_ms, user_hash, message_id"
# The votes live in the feedback table (bot/discord_bot/feedback.py), one per user and answer message.
_VOTES = ("LEFT JOIN (SELECT message_id, SUM(vote = 1) AS up, SUM(vote = -1) AS down FROM feedback "
          "WHERE message_id IS NOT NULL GROUP BY message_id) AS votes ON votes.message_id = q.message_id")


class SqliteQuestionStore:
    """The log's rows in a SQLite file; each call opens its own connection, so any thread may call."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = Path(path)
        # Seconds to wait for a database another process holds locked (a vote being written, say).
        self.timeout = timeout

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """Open the database (made on first use) for one transaction."""
        return transaction(self.path, self.timeout, SCHEMA)

    def write(self, rows: Sequence[LoggedQuestion]) -> None:
        """Store rows in one transaction; raises sqlite3.Error or OSError when the database can't be written."""
        if not rows:
            return
        with self._connect() as conn:
            conn.executemany(
                f"INSERT INTO questions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.asked_at, r.channel, r.question, r.reading, int(r.answered), r.rule, r.reason,
                  json.dumps(list(r.sources)), r.latency_ms, r.user, r.message_id) for r in rows])

    def read(self, since: datetime | None = None, until: datetime | None = None) -> list[LoggedQuestion]:
        """Return the questions asked from `since` until `until`, oldest first, with their answers' votes."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            has_votes = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'"
                                     ).fetchone() is not None
            votes = "COALESCE(votes.up, 0), COALESCE(votes.down, 0)" if has_votes else "0, 0"
            columns = ", ".join(f"q.{c.strip()}" for c in _COLUMNS.split(","))
            found = conn.execute(
                f"SELECT {columns}, {votes} FROM questions AS q {_VOTES if has_votes else ''} "
                "WHERE q.asked_at >= ? AND q.asked_at < ? ORDER BY q.asked_at, q.id",
                (timestamp(since) if since else "", timestamp(until) if until else "~")).fetchall()
        return [LoggedQuestion(asked_at=r[0], channel=r[1], question=r[2], reading=r[3], answered=bool(r[4]),
                               rule=r[5], reason=r[6], sources=_sources(r[7]), latency_ms=r[8], user=r[9],
                               message_id=r[10], votes_up=int(r[11]), votes_down=int(r[12])) for r in found]

    def expire(self, before: datetime) -> int:
        """Delete the questions asked before a time; return how many went."""
        if not self.path.exists():
            return 0
        with self._connect() as conn:
            return conn.execute("DELETE FROM questions WHERE asked_at < ?", (timestamp(before),)).rowcount


@functools.lru_cache(maxsize=4096)
def _sources(text: str) -> tuple[str, ...]:
    """Decode a row's cited sources: answers cite the same few articles over and over, so each text once."""
    return tuple(json.loads(text))


def load_key(path: Path) -> bytes:
    """Return the key in a file, first writing a new random one (readable by its owner only) when there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 16:
        raise ValueError(f"{path} holds no key: delete it to have a new one made")
    return key.encode()
