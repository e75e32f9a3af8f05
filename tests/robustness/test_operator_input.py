"""What an operator types or points newsbot at (issue 13, item 10 and 11): settings that are not finite numbers or
not a log level, a `.env` with a non-UTF-8 byte, question files that are not UTF-8 or never end, evaluation lines
of the wrong shape. Each is one line on stderr and a non-zero exit, never a traceback or a silent 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.app import cli
from tests.robustness.conftest import finishes

pytestmark = pytest.mark.fast


def one_line(result, exit_code: int) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith("newsbot: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stderr


@pytest.mark.parametrize(("name", "value", "why"), [
    ("NEWSBOT_COOLDOWN_SECONDS", "inf", "not a finite number"),
    ("NEWSBOT_COOLDOWN_SECONDS", "nan", "not a finite number"),  # was: the cooldown silently off
    ("NEWSBOT_COOLDOWN_SECONDS", "-inf", "not a finite number"),
    ("NEWSBOT_LOG_LEVEL", "BASIC_FORMAT", "must be one of DEBUG, INFO"),  # a name in logging, not a level
    ("NEWSBOT_LOG_LEVEL", "warn ing", "must be one of DEBUG, INFO"),
])
def test_settings_that_are_not_finite_or_not_a_level_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  name: str, value: str, why: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["sources"], env={name: value}, obj={})
    assert why in one_line(result, exit_code=2) and name in result.stderr


def test_a_dotenv_with_a_non_utf8_byte_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"NEWSBOT_TOP_K=3\nDISCORD_TOKEN=caf\xe9\n")
    assert "not UTF-8 text (byte 33)" in one_line(CliRunner().invoke(cli, ["sources"], obj={}), exit_code=2)


@pytest.mark.parametrize(("label", "make", "why"), [
    ("latin-1 text", lambda p: p.write_bytes(b"What did the caf\xe9 owner say?\n"), "not UTF-8 text"),
    ("a FIFO", os.mkfifo, "not a regular file"),
    ("/dev/zero", lambda p: os.symlink("/dev/zero", p), "not a regular file"),
    ("a directory", lambda p: p.mkdir(), "not a regular file"),
    ("one endless line", lambda p: p.write_text("why " * 1_000_000), "not a question"),
])
def test_ask_from_a_file_that_is_not_text_is_one_line(fake_service, tmp_path: Path, label: str, make,
                                                      why: str) -> None:
    path = tmp_path / "questions.txt"
    make(path)
    obj = {"settings": fake_service.settings, "service": fake_service}
    for command in ("ask", "search"):
        result = finishes(lambda: CliRunner().invoke(cli, [command, "--from-file", str(path)], obj=obj))  # noqa: B023
        assert why in one_line(result, exit_code=1), (command, result.stderr)


@pytest.mark.parametrize(("line", "why"), [
    ("[1, 2]", "expected an object with a 'question' string"),
    ('"x"', "expected an object with a 'question' string"),
    ("5", "expected an object with a 'question' string"),
    ('{"question": null}', "expected an object with a 'question' string"),
    ('{"question": "Why?", "evidence": [5]}', "'evidence' must be a list of strings"),
    ('{"question": "Why?", "sources": "004_347bbc5789c47b0a"}', "'sources' must be a list of strings"),  # was: 0
    ('{"question": "Why?", "answerable": "yes"}', "'answerable' must be true or false"),
])
def test_eval_lines_of_the_wrong_shape_are_one_line_naming_the_line(fake_service, tmp_path: Path, line: str,
                                                                    why: str) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"question": "What did Crosetto say?", "sources": ["004_347bbc5789c47b0a"]}\n' + line + "\n")
    result = CliRunner().invoke(cli, ["eval", "--questions", str(path)],
                                obj={"settings": fake_service.settings, "service": fake_service})
    error = one_line(result, exit_code=1)
    assert f"{path}:2: " in error and why in error, error


def test_eval_on_a_non_utf8_file_is_one_line(fake_service, tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_bytes(b'{"question": "caf\xe9?"}\n')
    result = CliRunner().invoke(cli, ["eval", "--questions", str(path)],
                                obj={"settings": fake_service.settings, "service": fake_service})
    assert "not UTF-8 text" in one_line(result, exit_code=1)


QUESTIONS = [b"What did the mayor say about the bridge over the river?", b"What about the new school in the valley?",
             b"And the caf\xe9 by the harbour?", b"What about the railway timetable?"]


@pytest.mark.parametrize("command", ["ask", "search"])
def test_a_bad_byte_on_line_3_is_named_by_its_line_after_the_lines_before_it_are_answered(
        fake_service, tmp_path: Path, command: str) -> None:
    import json

    path = tmp_path / "questions.txt"
    path.write_bytes(b"\n".join(QUESTIONS) + b"\n")  # line 3 is latin-1
    result = CliRunner().invoke(cli, [command, "--from-file", str(path), "--json"],
                                obj={"settings": fake_service.settings, "service": fake_service})
    assert f"{path}:3: not UTF-8 text (byte 12 of the line)" in one_line(result, exit_code=1)
    answered = [json.loads(line) for line in result.stdout.splitlines()]
    key = "question" if command == "ask" else "query"
    assert [a[key] for a in answered] == [q.decode() for q in QUESTIONS[:2]]


def test_chat_json_names_the_bad_line_of_standard_input(fake_service) -> None:
    text = b"\n".join([b"\xef\xbb\xbf" + QUESTIONS[0], *QUESTIONS[1:]]) + b"\n"  # with a byte-order mark
    result = CliRunner().invoke(cli, ["chat", "--json"], input=text,
                                obj={"settings": fake_service.settings, "service": fake_service})
    assert "<stdin>:3: not UTF-8 text" in one_line(result, exit_code=1)
    assert len(result.stdout.splitlines()) == 2


def test_a_dotenv_with_a_10_mb_line_is_refused_by_its_size_before_it_is_parsed(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import dotenv

    from bot.settings import MAX_ENV_BYTES

    monkeypatch.chdir(tmp_path)
    # An unterminated quote: python-dotenv took ~140 bytes of memory per byte of it (1.2 GB for this file).
    (tmp_path / ".env").write_text('NEWSBOT_TOP_K=3\nDISCORD_TOKEN="' + "x" * 10_000_000 + "\n", encoding="utf-8")
    monkeypatch.setattr(dotenv, "dotenv_values", lambda *a, **k: pytest.fail("parsed whole"))
    error = one_line(CliRunner().invoke(cli, ["sources"], obj={}), exit_code=2)
    assert f".env: 10,000,032 bytes, over the {MAX_ENV_BYTES:,} limit of a settings file" in error


def test_a_dotenv_that_is_not_a_regular_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / ".env")  # was: left out without a word
    error = one_line(finishes(lambda: CliRunner().invoke(cli, ["sources"], obj={})), exit_code=2)
    assert ".env: cannot be read (a FIFO, not a regular file)" in error
