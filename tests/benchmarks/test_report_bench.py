"""The question report's benchmark pieces on a small log: the synthetic log, the timed report, the logging cost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.report import logging_cost, render, report_in_process, synthetic_log, write_log
from bot.answer.questionlog_sqlite import SqliteQuestionStore

pytestmark = pytest.mark.fast

SOURCES = ("000_a", "001_b", "002_c")


def test_the_synthetic_log_is_seeded_and_shaped_like_a_busy_bot() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows, votes = synthetic_log(3000, SOURCES, now=now)
    assert (rows, votes) == synthetic_log(3000, SOURCES, now=now)
    assert [r.asked_at for r in rows] == sorted(r.asked_at for r in rows)
    assert rows[0].day >= "2025-10-04" and rows[-1].day <= "2026-01-01"
    declined = [r for r in rows if not r.answered]
    assert 0.25 < len(declined) / len(rows) < 0.35 and all(r.rule and not r.sources for r in declined)
    assert all(r.sources and set(r.sources) <= set(SOURCES) for r in rows if r.answered)
    messages = {r.message_id for r in rows if r.message_id}
    assert votes and all(message in messages for message, _ in votes)
    assert len({r.question for r in declined}) > 300


def test_the_report_and_the_logging_cost_are_measured(fake_service, tmp_path: Path) -> None:
    rows, votes = synthetic_log(2000, sorted(fake_service.index.articles))
    path = tmp_path / "feedback.sqlite3"
    write_log(path, rows, votes)
    assert len(SqliteQuestionStore(path).read()) == 2000
    inner = report_in_process(fake_service, path)
    assert inner["declined"] == sum(not r.answered for r in rows) and inner["embedded_texts"] > 0
    cost = logging_cost(fake_service, tmp_path / "log.sqlite3", ["What did Crosetto say about troops?"], 1)
    assert cost["written"] == 10_001 and cost["failures"] == cost["dropped"] == 0
    text = render({"questions": 2000, "load_before": 1.0, "load_after": 1.0, "backend": "test", "write_s": 0.1,
                   "db_mb": 1.0, "in_process": inner, "end_to_end": {"wall_s": 1.0, "page_kb": 10.0},
                   "logging": cost})
    assert "report end to end" in text and "[target < 1 ms]" in text
