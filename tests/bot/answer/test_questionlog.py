"""The question log: its record, the SQLite store beside the feedback, the background writer, retention, the key."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.answer.conversation.state import FOLLOW_UP, TurnReading
from bot.answer.questionlog import CLI, DM, THREAD, LoggedQuestion, entry, hash_user, timestamp
from bot.answer.questionlog_sqlite import SqliteQuestionStore, load_key
from bot.answer.questionlog_writer import QuestionLog, open_question_log
from bot.answer.types import Answer, Citation, Decline
from bot.discord_bot.feedback import FeedbackStore
from bot.settings import Settings
from embeddings.errors import ConfigError

pytestmark = pytest.mark.fast

USER = 412345678901234567
KEY = b"k" * 32


def cited(*source_ids: str) -> Answer:
    citations = tuple(Citation(n, s, f"{s}#0", "quoted words", 0, 12) for n, s in enumerate(source_ids, start=1))
    return Answer(question="When does the bridge reopen?", answered=True, answer="In June. [1]", citations=citations)


DECLINED = Answer(question="Who won the chess final?", answered=False, answer="The articles don't say.",
                  decline=Decline("never_mentioned", "The articles never mention a chess final."))


def row(asked_at: datetime, question: str = "q", **fields) -> LoggedQuestion:
    return LoggedQuestion(asked_at=timestamp(asked_at), channel=CLI, question=question, answered=True, **fields)


def test_an_entry_holds_what_became_of_the_question() -> None:
    at = datetime(2025, 3, 4, 10, 30, 15, 999, tzinfo=UTC)
    answered = entry(cited("002_b", "004_a", "002_b"), channel=THREAD, latency_s=0.0421, user="h", message_id=7,
                     at=at)
    assert answered == LoggedQuestion(asked_at="2025-03-04T10:30:15+00:00", channel=THREAD,
                                      question="When does the bridge reopen?", answered=True,
                                      sources=("002_b", "004_a"), latency_ms=42.1, user="h", message_id=7)
    declined = entry(DECLINED, channel=DM, latency_s=0.01, at=at)
    assert (declined.answered, declined.rule, declined.reason, declined.sources) == (
        False, "never_mentioned", "The articles never mention a chess final.", ())
    assert declined.day == "2025-03-04"
    with pytest.raises(ValueError):
        entry(DECLINED, channel="radio", latency_s=0.0)


def test_a_follow_up_is_logged_with_how_it_was_read_and_a_plain_question_without() -> None:
    follow_up = TurnReading("and when?", "When does the bridge reopen", FOLLOW_UP, context="the bridge closed")
    assert entry(cited("a"), channel=CLI, latency_s=0, reading=follow_up).reading == follow_up.shown
    assert follow_up.shown.startswith("When does the bridge reopen? — following")
    plain = TurnReading("When does the bridge reopen?", "When does the bridge reopen?")
    assert entry(cited("a"), channel=CLI, latency_s=0, reading=plain).reading is None


def test_users_are_a_keyed_hash() -> None:
    assert hash_user(KEY, USER) == hash_user(KEY, str(USER))
    assert hash_user(KEY, USER) != hash_user(b"another key of 32 bytes........", USER)
    assert str(USER) not in hash_user(KEY, USER) and len(hash_user(KEY, USER)) == 64


def test_the_store_keeps_every_field_beside_the_feedback_and_reads_the_votes(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = SqliteQuestionStore(path)
    now = datetime(2025, 3, 4, 12, tzinfo=UTC)
    first = LoggedQuestion(asked_at=timestamp(now - timedelta(days=1)), channel=THREAD, question="When?",
                           answered=True, reading="When does the bridge reopen? — following “the bridge”",
                           sources=("004_a", "002_b"), latency_ms=12.5, user="u1", message_id=101)
    second = LoggedQuestion(asked_at=timestamp(now), channel=DM, question="Who won?", answered=False,
                            rule="not_answered", reason="No passage says who won.", latency_ms=3.0, user="u2",
                            message_id=102)
    store.write([second, first])
    assert store.read() == [first, second]  # oldest first, whatever the order written

    votes = FeedbackStore(path)
    votes.record(question="When?", source_ids=["004_a"], user_id=1, vote=-1, message_id=101)
    votes.record(question="When?", source_ids=["004_a"], user_id=2, vote=-1, message_id=101)
    votes.record(question="When?", source_ids=["004_a"], user_id=3, vote=1, message_id=101)
    [voted, other] = store.read()
    assert (voted.votes_down, voted.votes_up, other.votes_down, other.votes_up) == (2, 1, 0, 0)
    assert store.read(since=now - timedelta(hours=1)) == [other]
    assert store.read(until=now) == [voted]
    assert SqliteQuestionStore(tmp_path / "none.sqlite3").read() == []


def test_expired_rows_are_deleted(tmp_path: Path) -> None:
    store = SqliteQuestionStore(tmp_path / "feedback.sqlite3")
    now = datetime.now(UTC)
    store.write([row(now - timedelta(days=100), "old"), row(now - timedelta(days=89), "kept"), row(now, "new")])
    assert store.expire(now - timedelta(days=90)) == 1
    assert [r.question for r in store.read()] == ["kept", "new"]

    # The writer deletes what is past its retention as it starts.
    store.write([row(now - timedelta(days=3), "three days old")])
    questions = QuestionLog(store, KEY, retention_days=2)
    questions.record(cited("a"), channel=CLI, latency_s=0.001)
    questions.close()
    assert [r.question for r in store.read()] == ["new", "When does the bridge reopen?"]


def test_the_writer_records_in_the_background_and_hashes_users(tmp_path: Path) -> None:
    store = SqliteQuestionStore(tmp_path / "feedback.sqlite3")
    questions = QuestionLog(store, KEY)
    for n in range(50):
        questions.record(DECLINED if n % 2 else cited("a"), channel=THREAD, latency_s=0.002, user_id=USER + n % 3,
                         message_id=n)
    assert questions.flush()
    rows = store.read()
    assert len(rows) == 50 and questions.written == 50 and questions.failures == 0
    assert {r.user for r in rows} == {hash_user(KEY, USER + k) for k in range(3)}
    assert [r.message_id for r in rows] == list(range(50))
    questions.close()
    questions.record(cited("a"), channel=CLI, latency_s=0.0)  # after close, a new writer starts
    questions.close()
    assert len(store.read()) == 51


class BrokenStore:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, rows) -> None:
        self.calls += 1
        raise sqlite3.OperationalError("database is locked")

    def read(self, since=None, until=None):
        return []

    def expire(self, before) -> int:
        return 0


def test_a_failing_store_is_counted_and_told_once_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    questions = QuestionLog(BrokenStore(), KEY)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            questions.record(cited("a"), channel=CLI, latency_s=0.0)
            questions.flush()
    assert questions.failures == 5 and questions.written == 0
    told = [r for r in caplog.records if "question log" in r.getMessage()]
    assert len(told) == 1 and "database is locked" in told[0].getMessage()
    questions.close()


class SlowStore(BrokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.rows: list[LoggedQuestion] = []

    def write(self, rows) -> None:
        self.release.wait(10)
        self.rows.extend(rows)


def test_a_full_queue_drops_rows_instead_of_waiting() -> None:
    store = SlowStore()
    questions = QuestionLog(store, KEY, capacity=3)
    for _ in range(20):
        questions.record(cited("a"), channel=CLI, latency_s=0.0)  # the writer is stuck: none of this may block
    assert questions.dropped >= 16
    store.release.set()
    questions.close()
    assert len(store.rows) + questions.dropped == 20


def test_off_logs_nothing_and_opens_nothing(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"NEWSBOT_QUESTION_LOG": "OFF", "NEWSBOT_FEEDBACK_DB": str(tmp_path / "f.db")})
    questions = open_question_log(settings)
    assert not questions.enabled
    questions.record(cited("a"), channel=CLI, latency_s=0.0)
    questions.close()
    assert not any(tmp_path.iterdir())


def test_the_key_is_made_once_beside_the_database_for_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(feedback_db=tmp_path / "db" / "feedback.sqlite3")
    assert settings.question_log_key_file == tmp_path / "db" / "feedback.sqlite3.key"
    first = open_question_log(settings)
    again = open_question_log(settings)
    assert first.enabled and first.key == again.key and len(first.key) == 64
    assert stat.S_IMODE(os.stat(settings.question_log_key_file).st_mode) == 0o600
    given = open_question_log(settings.with_overrides(question_log_key="a secret of sixteen+"))
    assert given.key == b"a secret of sixteen+"


def test_no_key_means_no_log_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "feedback.sqlite3.key"
    key_file.write_text("short\n")
    with caplog.at_level(logging.WARNING):
        questions = open_question_log(Settings(feedback_db=tmp_path / "feedback.sqlite3"))
    assert not questions.enabled
    assert "question log is off" in caplog.text
    with pytest.raises(ValueError):
        load_key(key_file)


def test_the_settings_of_the_log() -> None:
    settings = Settings.from_mapping({"NEWSBOT_QUESTION_LOG_DAYS": "30", "NEWSBOT_QUESTION_LOG_KEY": "s" * 20})
    assert (settings.question_log, settings.question_log_days) == ("on", 30)
    assert "s" * 20 not in repr(settings)
    for variable, value in (("NEWSBOT_QUESTION_LOG", "maybe"), ("NEWSBOT_QUESTION_LOG_DAYS", "0"),
                            ("NEWSBOT_QUESTION_LOG_KEY", "short")):
        with pytest.raises(ConfigError, match=variable):
            Settings.from_mapping({variable: value})
    with pytest.raises(ConfigError) as error:
        Settings.from_mapping({"NEWSBOT_QUESTION_LOG_KEY": "tiny"})
    assert "tiny" not in str(error.value)
