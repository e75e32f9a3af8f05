"""The question log's record and store interface, one for the CLI and the Discord bot: each question asked, where,
how it was read, answered or the rule that declined it and why, the sources cited, how long it took and the votes it
got; who asked only as a keyed hash. Pure: the SQLite store is questionlog_sqlite.py, the writer questionlog_writer.py.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.answer.conversation.state import TurnReading
from bot.answer.types import Answer

# Where a question was asked.
CLI, CHANNEL, THREAD, DM = "cli", "channel", "thread", "dm"
CHANNELS = (CLI, CHANNEL, THREAD, DM)


@dataclass(frozen=True)
class LoggedQuestion:
    """One question asked and what became of it."""

    asked_at: str
    channel: str
    question: str
    answered: bool
    # The self-contained question a follow-up was read as, when it is not the question typed.
    reading: str | None = None
    rule: str | None = None
    reason: str | None = None
    sources: tuple[str, ...] = ()
    latency_ms: float = 0.0
    # HMAC-SHA256 of the user's id under the log's key; None where there is no user (the CLI).
    user: str | None = None
    # The answer's Discord message, which its 👍/👎 votes name.
    message_id: int | None = None
    votes_up: int = 0
    votes_down: int = 0

    @property
    def day(self) -> str:
        """Return the UTC day it was asked, YYYY-MM-DD."""
        return self.asked_at[:10]


class QuestionStore(Protocol):
    """Where logged questions are kept: written in batches, read back with their votes, expired by age."""

    def write(self, rows: Sequence[LoggedQuestion]) -> None:
        """Store rows; raises the store's error when it cannot."""
        ...

    def read(self, since: datetime | None = None, until: datetime | None = None) -> list[LoggedQuestion]:
        """Return the questions asked from `since` until `until`, oldest first, with the votes their answers got."""
        ...

    def expire(self, before: datetime) -> int:
        """Delete the questions asked before a time; return how many went."""
        ...


def timestamp(at: datetime | None = None) -> str:
    """Return a time as the log writes it: UTC ISO 8601 to the second, ordered as text."""
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def hash_user(key: bytes, user_id: int | str) -> str:
    """Return the keyed hash that stands for a user in the log."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()


def entry(answer: Answer, *, channel: str, latency_s: float, reading: TurnReading | None = None,
          user: str | None = None, message_id: int | None = None, at: datetime | None = None) -> LoggedQuestion:
    """Return the log's row for an answer (or a decline) given in a channel after latency_s seconds."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    decline = answer.decline
    return LoggedQuestion(
        asked_at=timestamp(at), channel=channel, question=answer.question, answered=answer.answered,
        reading=reading.shown if reading is not None and reading.rewritten else None,
        rule=decline.rule if decline else None, reason=decline.reason if decline else None,
        sources=tuple(dict.fromkeys(c.source_id for c in answer.citations)),
        latency_ms=round(max(0.0, latency_s) * 1000.0, 3), user=user, message_id=message_id)
