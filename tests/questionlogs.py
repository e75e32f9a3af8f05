"""A known question log for the report's tests: what it holds, and the groups, counts and figures it must give."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.answer.questionlog import CHANNEL, CLI, DM, THREAD, LoggedQuestion, timestamp
from bot.answer.questionlog_sqlite import SqliteQuestionStore
from bot.discord_bot.feedback import FeedbackStore
from embeddings.records import Chunk, Hit, SourceInfo

BRIDGE = "When will the bridge reopen?"
BRIDGE_TRAFFIC = "When will the bridge reopen to traffic?"
FOOTBALL = "Who won the football match?"
FOOTBALL_SUNDAY = "Who won the football match on Sunday?"
MEALS = "What is the price of school meals?"
RATED_DOWN = "What did the council decide about parking?"
TITLES = {"004_a": SourceInfo("004_a", "Council votes on parking", "2025-02-20"),
          "002_b": SourceInfo("002_b", "Ferry timetable changes", "2025-02-11")}


def known_log(first_day: datetime | None = None) -> list[LoggedQuestion]:
    """Twelve questions over three days (none on the second): 4 answered, 8 declined in three subjects."""
    start = (first_day or datetime(2025, 3, 1, tzinfo=UTC)).replace(hour=9, minute=0, second=0, microsecond=0)
    day3 = start + timedelta(days=2)

    def asked(at: datetime, question: str, answered: bool, **fields) -> LoggedQuestion:
        return LoggedQuestion(asked_at=timestamp(at), question=question, answered=answered,
                              **{"channel": THREAD, **fields})

    never = {"rule": "never_mentioned", "reason": "The articles never mention a bridge reopening."}
    return [
        asked(start, "What did the council say?", True, sources=("004_a",), latency_ms=40.0, user="u1",
              channel=CHANNEL),
        asked(start + timedelta(minutes=1), BRIDGE, False, latency_ms=10.0, user="u1", **never),
        asked(start + timedelta(minutes=2), "when will the bridge reopen", False, latency_ms=12.0, user="u2",
              channel=DM, **never),
        asked(start + timedelta(minutes=3), BRIDGE, False, latency_ms=14.0, user="u3", **never),
        asked(start + timedelta(minutes=4), BRIDGE_TRAFFIC, False, latency_ms=16.0, user="u2", rule="not_answered",
              reason="No passage says when.", reading=f"{BRIDGE_TRAFFIC} — following “the bridge”"),
        asked(start + timedelta(minutes=5), "Is the ferry late?", True, sources=("002_b", "004_a"), latency_ms=50.0,
              channel=CLI, user=None),
        asked(start + timedelta(minutes=6), "What did the mayor say?", True, sources=("004_a",), latency_ms=60.0,
              user="u4", message_id=66, votes_up=1),
        asked(day3, FOOTBALL, False, latency_ms=18.0, user="u5", rule="not_answered", reason="No passage says who."),
        asked(day3 + timedelta(minutes=1), FOOTBALL, False, latency_ms=20.0, user="u6", rule="not_answered",
              reason="No passage says who."),
        asked(day3 + timedelta(minutes=2), FOOTBALL_SUNDAY, False, latency_ms=22.0, user="u5",
              rule="wrong_kind", reason="No passage has a result."),
        asked(day3 + timedelta(minutes=3), MEALS, False, latency_ms=24.0, user="u7", rule="never_mentioned",
              reason="The articles never mention school meals."),
        asked(day3 + timedelta(minutes=4), RATED_DOWN, True, sources=("004_a",), latency_ms=900.0, user="u8",
              message_id=77, votes_down=2, votes_up=1),
    ]


def describe(source_id: str) -> SourceInfo | None:
    """The archive's metadata of the log's cited sources."""
    return TITLES.get(source_id)


def search(query: str, k: int) -> list[Hit]:
    """The archive's closest passage to any query: one, about ferries."""
    text = f"The ferry timetable changes in spring; nothing on: {query}"
    chunk = Chunk("002_b#0", "002_b", 0, len(text), text)
    return [Hit(chunk, 0.5, TITLES["002_b"], rank=1)][:k]


def write_log(path: Path, rows: Sequence[LoggedQuestion]) -> None:
    """Store rows in a feedback database as the bot would: the questions, and their votes in the feedback table."""
    SqliteQuestionStore(path).write(rows)
    votes = FeedbackStore(path)
    for row in rows:
        for user, vote in [*((n, -1) for n in range(row.votes_down)), *((100 + n, 1) for n in range(row.votes_up))]:
            votes.record(question=row.question, source_ids=row.sources, user_id=user, vote=vote,
                         message_id=row.message_id)
