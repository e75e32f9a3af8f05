"""The SQLite feedback store: votes, salted user hashes, and failures that raise for the caller to log."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from bot.discord_bot.feedback import FeedbackStore

pytestmark = pytest.mark.fast

USER = 123456789012345678


def test_record_stores_a_hashed_user_and_the_sources(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "nested" / "feedback.sqlite3")
    store.record(question="What did Crosetto say?", source_ids=["004_a", "002_b"], user_id=USER, vote=1,
                 message_id=10, context="earlier question")
    [row] = store.rows()
    assert row.question == "What did Crosetto say?"
    assert row.source_ids == ("004_a", "002_b")
    assert row.vote == 1 and row.message_id == 10 and row.context == "earlier question"
    assert row.user_hash == hashlib.sha256(f"{store.salt()}:{USER}".encode()).hexdigest()
    assert row.created_at.endswith("+00:00")


def test_the_raw_user_id_is_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    store.record(question="q", source_ids=[], user_id=USER, vote=-1, message_id=1)
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    assert str(USER) not in dump
    assert str(USER) not in path.read_bytes().decode("latin-1")


def test_a_second_click_replaces_the_vote(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.record(question="q", source_ids=["s"], user_id=USER, vote=1, message_id=5)
    store.record(question="q", source_ids=["s"], user_id=USER, vote=-1, message_id=5)
    store.record(question="q", source_ids=["s"], user_id=USER + 1, vote=1, message_id=5)
    store.record(question="q", source_ids=["s"], user_id=USER, vote=1, message_id=6)
    assert [(r.message_id, r.vote) for r in store.rows()] == [(5, -1), (5, 1), (6, 1)]


def test_the_salt_is_per_database_and_persistent(tmp_path: Path) -> None:
    first = FeedbackStore(tmp_path / "a.sqlite3")
    again = FeedbackStore(tmp_path / "a.sqlite3")
    other = FeedbackStore(tmp_path / "b.sqlite3")
    assert first.hash_user(USER) == again.hash_user(USER)
    assert first.hash_user(USER) != other.hash_user(USER)
    assert first.hash_user(USER) != first.hash_user(USER + 1)


def test_invalid_votes_and_unwritable_databases_raise(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(ValueError):
        store.record(question="q", source_ids=[], user_id=USER, vote=2)
    blocked = FeedbackStore(tmp_path)  # a directory cannot be opened as a database
    with pytest.raises(sqlite3.Error):
        blocked.record(question="q", source_ids=[], user_id=USER, vote=1)


def test_rows_of_a_missing_database_is_empty(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "missing.sqlite3")
    assert store.rows() == []
    assert not (tmp_path / "missing.sqlite3").exists()
