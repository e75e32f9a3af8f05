"""The CLI's side of the question log: `ask` and `chat` log what they answer, `report` reads it back (summary, JSON,
HTML page), and errors stay one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.answer.contract import QUESTION_REPORT_SCHEMA
from bot.answer.questionlog import CLI, LoggedQuestion, timestamp
from bot.answer.questionlog_sqlite import SqliteQuestionStore
from bot.cli.app import cli
from tests.questionlogs import BRIDGE, FOOTBALL, known_log, write_log

pytestmark = pytest.mark.fast


@pytest.fixture()
def settings(fake_service, tmp_path: Path):
    return fake_service.settings.with_overrides(feedback_db=tmp_path / "feedback.sqlite3")


@pytest.fixture()
def run(fake_service, settings):
    def invoke(*args: str, input: str | None = None, **overrides):
        obj = {"settings": settings.with_overrides(**overrides), "service": fake_service}
        return CliRunner().invoke(cli, list(args), obj=obj, input=input)

    return invoke


def logged(settings) -> list[LoggedQuestion]:
    return SqliteQuestionStore(settings.feedback_db).read()


def test_ask_logs_the_answer_and_the_decline(run, settings) -> None:
    assert run("ask", "What did Crosetto say about troops?").exit_code == 0
    assert run("ask", "What is the capital of Australia?", "--json").exit_code == 0
    answered, declined = logged(settings)
    assert (answered.channel, answered.answered) == (CLI, True)
    assert answered.question == "What did Crosetto say about troops?"
    assert answered.sources and answered.latency_ms > 0 and answered.user is None and answered.reading is None
    assert (declined.answered, declined.sources) == (False, ())
    assert declined.rule and declined.reason


def test_chat_logs_each_turn_with_how_a_follow_up_was_read(run, settings) -> None:
    result = run("chat", "--json", input="What did Crosetto say about troops?\nand why?\n")
    assert result.exit_code == 0, result.output
    first, follow_up = [json.loads(line) for line in result.output.splitlines()]
    rows = logged(settings)
    assert [r.question for r in rows] == [first["question"], follow_up["question"]]
    assert rows[1].reading == follow_up["standalone"] != "and why?"
    assert rows[0].reading is None


def test_ask_from_a_file_logs_every_line(run, settings, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "What did Crosetto say?"}\n{"question": "and why?", "conversation": 1}\n',
                         encoding="utf-8")
    assert run("ask", "--from-file", str(questions), "--json").exit_code == 0
    assert len(logged(settings)) == 2


def test_off_logs_nothing(run, settings) -> None:
    assert run("ask", "What did Crosetto say about troops?", question_log="off").exit_code == 0
    assert not settings.feedback_db.exists() and not settings.question_log_key_file.exists()


def write_known_log(settings, days_ago: int = 5) -> list[LoggedQuestion]:
    rows = known_log(datetime.now(UTC) - timedelta(days=days_ago))
    write_log(settings.feedback_db, rows)
    return rows


def test_report_summarises_a_known_log(run, settings) -> None:
    write_known_log(settings)
    result = run("report")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "12 asked by 8 people, 4 answered (33%), 8 declined (67%); votes: 2 up, 2 down" in text
    assert "     4  never_mentioned" in text
    assert f"       4x {BRIDGE}" in text and f"       3x {FOOTBALL}" in text
    assert "Rated down:" in text and "Most cited sources:" in text


def test_report_json_and_since(run, settings) -> None:
    rows = write_known_log(settings)
    payload = json.loads(run("report", "--json").output)
    jsonschema.validate(payload, QUESTION_REPORT_SCHEMA)
    assert (payload["asked"], payload["declined"]) == (12, 8)
    assert [g["size"] for g in payload["gaps"]["groups"]] == [4, 3, 1]
    assert payload["gaps"]["groups"][0]["passages"]  # the fake index's closest passages
    last_day = rows[-1].day
    later = json.loads(run("report", "--json", "--since", last_day).output)
    assert (later["since"], later["asked"], [g["size"] for g in later["gaps"]["groups"]]) == (last_day, 5, [3, 1])


def test_report_writes_the_page(run, settings, tmp_path: Path) -> None:
    write_known_log(settings)
    out = tmp_path / "report.html"
    result = run("report", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(f"The report is in {out}")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and BRIDGE.replace("?", "") in page


def test_report_deletes_expired_rows_and_says_when_the_log_is_off(run, settings) -> None:
    store = SqliteQuestionStore(settings.feedback_db)
    old = datetime.now(UTC) - timedelta(days=91)
    store.write([LoggedQuestion(timestamp(old), CLI, "an old question", False, rule="not_answered", reason="r")])
    result = run("report", question_log="off")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["No questions logged in this period.",
                                          "NEWSBOT_QUESTION_LOG is off: no new questions are being logged."]
    assert store.read() == []


def test_report_errors_are_one_line(run, settings, tmp_path: Path) -> None:
    result = run("report", "--since", "2025-13-01")
    assert result.exit_code == 2 and "Traceback" not in result.output
    settings.feedback_db.write_bytes(b"this is not a database" * 100)
    result = run("report")
    assert result.exit_code == 1
    assert result.output.startswith("newsbot: error: cannot read the question log in ")
    assert len(result.output.strip().splitlines()) == 1
    write = run("report", "--out", str(tmp_path / "missing" / "dir" / "r.html"), feedback_db=tmp_path / "new.db")
    assert write.exit_code == 1 and write.output.startswith("newsbot: error: cannot write ")
