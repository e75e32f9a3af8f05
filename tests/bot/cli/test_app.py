import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.questionlog_sqlite import SqliteQuestionStore
from bot.cli.app import cli
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def run(service, settings):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": service}, input=input)

    return invoke


def lines_of_json(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_search_json_contract(run):
    result = run("search", "Finimondo", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    (payload,) = lines_of_json(result.output)
    assert payload["query"] == "Finimondo"
    assert [r["rank"] for r in payload["results"]] == [1, 2, 3]
    top = payload["results"][0]
    assert set(top) >= {"rank", "source_id", "chunk_id", "score", "text", "title", "date"}
    assert top["source_id"] == "000_3981da90ea887150" and "Finimondo" in top["text"]
    assert isinstance(top["score"], float)


def test_ask_json_contract(run):
    result = run("ask", "What did Crosetto say about troops?", "--json")
    assert result.exit_code == 0, result.output
    (payload,) = lines_of_json(result.output)
    assert payload["answered"] is True and payload["question"] == "What did Crosetto say about troops?"
    citation = payload["citations"][0]
    assert set(citation) >= {"n", "source_id", "chunk_id", "quote", "title", "date"}
    assert "004_347bbc5789c47b0a" in {c["source_id"] for c in payload["citations"]}


def test_batch_modes_print_one_object_per_question_in_order(run, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "x", "question": "How much of Ukraine does Russia hold?"}) + "\n"
        + json.dumps({"question": "What is the capital of Australia?", "extra": 1}) + "\n",
        encoding="utf-8",
    )
    result = run("ask", "--from-file", str(questions), "--json")
    assert result.exit_code == 0, result.output
    answers = lines_of_json(result.output)
    assert [a["question"] for a in answers] == ["How much of Ukraine does Russia hold?",
                                                "What is the capital of Australia?"]
    assert [a["answered"] for a in answers] == [True, False]
    plain = tmp_path / "q.txt"
    plain.write_text("Finimondo\n\n520,000\n", encoding="utf-8")
    result = run("search", "--from-file", str(plain), "--k", "2", "--json")
    searches = lines_of_json(result.output)
    assert [s["query"] for s in searches] == ["Finimondo", "520,000"]
    assert all(len(s["results"]) == 2 for s in searches)


def test_source_and_sources(run):
    result = run("sources", "--json")
    infos = json.loads(result.output)["sources"]
    assert len(infos) == 5 and all(i["date"] for i in infos)
    result = run("source", "003_bd3c63c39b2dbf1a", "--json")
    view = json.loads(result.output)
    assert view["title"].startswith("Italy Sees")
    assert "Ctrl + Enter" not in view["text"] and view["chunks"]
    text = run("source", "003_bd3c63c39b2dbf1a").output
    assert "2024-01-10" in text and "003_bd3c63c39b2dbf1a#0" in text


@pytest.mark.parametrize("source_id", ["nope", "../../etc/passwd", "/etc/passwd", "x" * 5000])
def test_unknown_sources_are_a_one_line_error_and_a_non_zero_exit(run, source_id):
    result = run("source", source_id)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "no such source" in result.output
    assert "root:" not in result.output


def test_chat_answers_and_looks_up_sources(run):
    result = run("chat", input="What did Crosetto say about troops?\n:source 004_347bbc5789c47b0a\n:bogus\n:quit\n")
    assert result.exit_code == 0, result.output
    assert "[1]" in result.output and "004_347bbc5789c47b0a" in result.output
    assert "Unknown command" in result.output


def test_eval_prints_the_figures_as_json(run, tmp_path):
    questions = tmp_path / "dev.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "What did Crosetto say about troops?", "answerable": True,
                    "sources": ["004_347bbc5789c47b0a"], "evidence": ["unilateral escalation"]}) + "\n"
        + json.dumps({"id": "b", "question": "What is the capital of Australia?", "answerable": False}) + "\n",
        encoding="utf-8",
    )
    result = run("eval", "--questions", str(questions), "--json")
    figures = json.loads(result.output)
    assert figures["hit@5"] == 1.0 and figures["answer_accuracy"] == 1.0 and figures["quotes_verbatim"] == 1.0


def test_missing_index_is_a_one_line_error_with_the_fix(tmp_path):
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "none"), "NEWSBOT_SEEDS_DIR": str(ROOT / "seeds")}
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "anything"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"newsbot: error: no index at {tmp_path / 'none'}: run `newsbot index` to build it"
    ]
    assert "Traceback" not in result.stderr


def test_bad_settings_are_a_one_line_error(tmp_path):
    env = {**os.environ, "NEWSBOT_TOP_K": "many"}
    result = subprocess.run([sys.executable, "-m", "bot", "sources"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "NEWSBOT_TOP_K" in result.stderr and "Traceback" not in result.stderr


def test_the_installed_entry_point_answers_end_to_end(settings, service, tmp_path):
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(settings.index_dir), "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
           "NEWSBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "What did Crosetto say about troops?", "--json"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    quote = payload["citations"][0]["quote"]
    source = (settings.seeds_dir / f"{payload['citations'][0]['source_id']}.txt").read_text(encoding="utf-8")
    assert quote in source
    # The question log is written out before the process exits.
    [logged] = SqliteQuestionStore(tmp_path / "feedback.sqlite3").read()
    assert (logged.question, logged.answered, logged.channel) == (payload["question"], True, "cli")


def test_settings_come_from_env_and_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("NEWSBOT_TOP_K=7\nNEWSBOT_CHANNELS=#news, 123\nDISCORD_TOKEN=secret-token\n")
    settings = Settings.from_env({"NEWSBOT_TOP_K": "3"}, env_file)
    assert settings.top_k == 3 and settings.channels == ("news", "123")
    assert settings.discord_token == "secret-token" and "secret-token" not in repr(settings)


TIMELINE_TOPIC = "negotiations with Russia"


def test_timeline_cli_text_and_json(service, settings):
    runner = CliRunner()
    obj = {"settings": settings, "service": service}
    text = runner.invoke(cli, ["timeline", TIMELINE_TOPIC], obj=obj).output
    assert text.startswith(f"Timeline: {TIMELINE_TOPIC}") and "2024-01-10" in text and "As of" in text
    payload = json.loads(runner.invoke(cli, ["timeline", TIMELINE_TOPIC, "--json"], obj=obj).output)
    assert [e["date"] for e in payload["timeline"]] == sorted(e["date"] for e in payload["timeline"])
