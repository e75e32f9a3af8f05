"""Conversations on the command line: the chat loop, `chat --json`, `ask --from-file` lines with a `conversation`
field, and `eval --conversations` (fast tier: the fake embedder)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from bot.answer import contract
from bot.answer.conversation.turn import READING_AS
from bot.cli.app import cli
from bot.cli.chat import run_chat

pytestmark = pytest.mark.fast


def invoke(service, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj={"settings": service.settings, "service": service}, input=input)


def objects(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_chat_json_answers_stdin_lines_as_one_conversation(fake_service) -> None:
    lines = "What did crosetto say about troops?\n\n" + json.dumps({"question": "what did he say about diplomacy?"})
    result = invoke(fake_service, "chat", "--json", input=lines + "\n")
    assert result.exit_code == 0, result.output
    first, second = objects(result.stdout)
    for payload in (first, second):
        jsonschema.validate(payload, contract.TURN_SCHEMA)
    assert (first["turn"], second["turn"]) == (1, 2)
    assert first["standalone"] == "What did Crosetto say about troops?"
    assert second["question"] == "what did he say about diplomacy?"
    assert second["standalone"].startswith("What did Crosetto say about diplomacy? — following “")
    assert second["notices"][0] == READING_AS + second["standalone"]


def test_chat_json_refuses_a_bad_line_in_one_line(fake_service) -> None:
    result = invoke(fake_service, "chat", "--json", input='{"question": 5}\n')
    assert result.exit_code == 1
    assert "expected an object with a 'question' string" in result.output and "Traceback" not in result.output


def test_ask_from_file_answers_conversation_lines_as_conversations_in_order(fake_service, tmp_path) -> None:
    path = tmp_path / "turns.jsonl"
    rows = [{"question": "What did Crosetto say about troops?", "conversation": "a"},
            {"question": "What is in the Finimondo book?"},
            {"question": "what did he say about diplomacy?", "conversation": "a"},
            {"question": "what did he say about diplomacy?", "conversation": 7}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke(fake_service, "ask", "--from-file", str(path), "--json")
    assert result.exit_code == 0, result.output
    first, alone, follow, other = objects(result.stdout)
    jsonschema.validate(alone, contract.ANSWER_SCHEMA)
    for payload in (first, follow, other):
        jsonschema.validate(payload, contract.TURN_SCHEMA)
    assert (first["conversation"], first["turn"], follow["turn"], other["turn"]) == ("a", 1, 2, 1)
    assert follow["standalone"].startswith("What did Crosetto say about diplomacy")
    assert other["standalone"] == "what did he say about diplomacy?"  # conversation 7 has no "he" yet


def test_the_chat_loop_keeps_the_conversation_until_new(fake_service) -> None:
    typed = iter(["What did crosetto say about troops?", "what did he say about diplomacy?", ":new",
                  "what did he say about diplomacy?", ":quit"])
    out: list[str] = []
    run_chat(fake_service, lambda: next(typed), out.append)
    text = "\n".join(out)
    assert text.count("(Reading this as: What did Crosetto say about diplomacy") == 1
    assert "(a new conversation)" in text


def test_eval_conversations_reports_follow_ups_and_agreement(fake_service, tmp_path) -> None:
    path = tmp_path / "conversations.jsonl"
    conversation = {"id": "c1", "turns": [
        {"question": "what did crosetto say about troops?", "standalone": "What did Crosetto say about troops?",
         "answerable": True, "type": "first", "sources": ["004_347bbc5789c47b0a"], "evidence": ["troops"]},
        {"question": "when was that", "standalone": "When did Crosetto say it?", "answerable": True,
         "type": "answer_meta", "sources": ["004_347bbc5789c47b0a"], "evidence": ["2024-03-10"],
         "evidence_in": "metadata"},
        {"question": "and what did he say about gaza?", "standalone": "What did Crosetto say about Gaza?",
         "answerable": False, "type": "unanswerable"}]}
    path.write_text(json.dumps(conversation) + "\n", encoding="utf-8")
    result = invoke(fake_service, "eval", "--conversations", str(path), "--json")
    assert result.exit_code == 0, result.output
    [figures] = objects(result.stdout)
    assert figures["turns"] == 3 and figures["follow_ups"] == 2
    assert figures["follow_up_accuracy"] == 1.0 and figures["unanswerable_declined"] == "1 of 1"
    assert 0.0 <= figures["rewrite_agreement"] <= 1.0
    table = invoke(fake_service, "eval", "--conversations", str(path))
    assert "follow_up_accura" in table.output and table.exit_code == 0


@pytest.mark.parametrize("line", ['{"turns": []}', "[1, 2]", '{"turns": [{"question": "q"}]}', "not json"])
def test_eval_conversations_refuses_a_malformed_line(fake_service, tmp_path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    result = invoke(fake_service, "eval", "--conversations", str(path))
    assert result.exit_code == 1 and "bad.jsonl:1" in result.output and "Traceback" not in result.output


def test_eval_needs_one_file(fake_service) -> None:
    assert invoke(fake_service, "eval").exit_code == 2
