"""The PostgreSQL store under failure, through real processes: the server down at start, wrong credentials, the
connection lost mid-question, and an index rebuilt while two other processes answer."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bot.answer.service import NewsService
from embeddings.errors import StoreUnavailableError
from embeddings.postgres.connection import Database
from tests.postgres import ROOT, newsbot

SEEDS = ROOT / "seeds"
QUESTION = "What did Crosetto say about troops?"
PROBE = "What did the port authority say about the harbour ferry timetable?"
# Three sentences: the decline model weighs the second-best candidate too, and declines a one-sentence article.
PROBE_ARTICLE = ("Ferry timetable changes\n2024-08-01\n\nThe harbour ferry timetable changes on Monday, the port "
                 "authority said, with an extra crossing every evening. The new timetable adds a late boat on "
                 "weekdays, the authority said. Tickets bought under the old harbour ferry timetable stay valid, a "
                 "port authority spokesperson said.\n")


@pytest.fixture(scope="module")
def cli_env(pg_server, tmp_path_factory) -> dict[str, str]:
    """A database indexed by `newsbot index` from a copy of the seeds; the query encoder is exported once."""
    base = tmp_path_factory.mktemp("pg-cli")
    shutil.copytree(SEEDS, base / "seeds")
    url = pg_server.create_database()
    env = {"NEWSBOT_DATABASE_URL": url, "NEWSBOT_SEEDS_DIR": str(base / "seeds"),
           "NEWSBOT_INDEX_DIR": str(base / "index"), "NEWSBOT_FEEDBACK_DB": str(base / "feedback.sqlite3")}
    built = newsbot("index", "--quiet", env=env)
    assert built.returncode == 0, built.stderr
    assert "generation 1" in built.stdout and "postgresql://newsbot@127.0.0.1" in built.stdout
    yield env
    pg_server.drop_database(url)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("newsbot: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_index_ask_search_and_source_through_the_cli(cli_env) -> None:
    asked = newsbot("ask", QUESTION, "--json", env=cli_env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "004_347bbc5789c47b0a" in {c["source_id"] for c in answer["citations"]}
    searched = newsbot("search", "Western troops", "--k", "3", "--json", env=cli_env)
    assert searched.returncode == 0 and len(json.loads(searched.stdout)["results"]) == 3
    shown = newsbot("source", "004_347bbc5789c47b0a", "--json", env=cli_env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["source_id"] == "004_347bbc5789c47b0a"
    again = newsbot("index", env=cli_env)
    assert again.returncode == 0 and again.stdout.splitlines()[-1].startswith("index up to date")
    missing = newsbot("source", "'; DROP TABLE newsbot.current; --", env=cli_env)
    assert "no such source" in one_line_error(missing)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_server_down_at_start_is_one_line(cli_env) -> None:
    env = {**cli_env, "NEWSBOT_DATABASE_URL": f"postgresql://newsbot:s3cret-down@127.0.0.1:{_free_port()}/newsbot"}
    for command in (["ask", QUESTION], ["index"], ["sources"]):
        line = one_line_error(newsbot(*command, env=env))
        assert "cannot connect to the database at postgresql://newsbot@127.0.0.1:" in line
        assert "s3cret-down" not in line


def test_wrong_credentials_never_show_the_password(cli_env, pg_server) -> None:
    wrong = pg_server.url.replace(pg_server.url.split(":")[2].split("@")[0], "Wr0ng-Pa55word")
    env = {**cli_env, "NEWSBOT_DATABASE_URL": wrong.rsplit("/", 1)[0] + "/" + cli_env["NEWSBOT_DATABASE_URL"].rsplit(
        "/", 1)[1]}
    result = newsbot("-v", "ask", QUESTION, env={**env, "NEWSBOT_LOG_LEVEL": "DEBUG"})
    line = result.stderr  # -v logs at DEBUG: more than the error line, and none of it may hold the password
    assert result.returncode == 1 and "Traceback" not in line
    assert "refused the credentials" in line and "check the user and password" in line
    assert "Wr0ng-Pa55word" not in result.stderr + result.stdout
    real_password = pg_server.url.split(":")[2].split("@")[0]
    assert real_password not in result.stderr + result.stdout
    # A URL libpq cannot parse is echoed by libpq itself: newsbot removes the password from that too.
    broken = {**env, "NEWSBOT_DATABASE_URL": "postgresql://newsbot:sec ret-Pa55@127.0.0.1:1/newsbot"}
    line = one_line_error(newsbot("ask", QUESTION, env=broken))
    assert "sec ret-Pa55" not in line and "ret-Pa55" not in line
    not_postgres = newsbot("ask", QUESTION, env={**env, "NEWSBOT_DATABASE_URL": "mysql://u:Pw-9@h/d"})
    assert not_postgres.returncode == 2 and "Pw-9" not in not_postgres.stderr


def test_the_connection_lost_mid_question_is_one_error_then_answers_again(pg_server, pg_url, fake_service,
                                                                          fake_embedder, monkeypatch) -> None:
    service = NewsService(fake_service.settings.with_overrides(database_url=pg_url), fake_embedder)
    service.reindex()
    assert service.ask(QUESTION).answered
    original = Database.session
    loans = {"n": 0}

    @contextlib.contextmanager
    def dying(self, doing):
        with original(self, doing) as connection:
            loans["n"] += 1
            if loans["n"] == 2:  # between the question's ranking statement and the reading of its passages
                assert pg_server.terminate(pg_url) >= 1
            yield connection

    monkeypatch.setattr(Database, "session", dying)
    with pytest.raises(StoreUnavailableError) as caught:
        service.ask(QUESTION)
    message = str(caught.value)
    assert "\n" not in message and "lost or could not open the connection" in message
    assert pg_url.split(":")[2].split("@")[0] not in message
    assert service.ask(QUESTION).answered  # a fresh session from the pool
    assert service.search("troops", 3)


class Answerer:
    """`newsbot ask --from-file - --json` in its own process, asked one question at a time through its stdin."""

    def __init__(self, env: dict[str, str]) -> None:
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in finish, read after the process exits
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--from-file", "-", "--json"], cwd=ROOT,
                                        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, text=True)
        self.answers: list[dict] = []

    def ask(self, question: str) -> dict:
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line.strip().startswith("{"), self.finish()
        self.answers.append(json.loads(line))
        return self.answers[-1]

    def finish(self) -> str:
        """Close its input, wait for it, and return what it wrote to stderr."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=120)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.errors.seek(0)
        return self.errors.read()


def _sees_the_new_article(answerer: Answerer, within: float = 60.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if "950_pg_ferry" in {c["source_id"] for c in answerer.ask(PROBE)["citations"]}:
            return True
        time.sleep(0.5)
    return False


def test_a_reindex_while_two_other_processes_answer(cli_env) -> None:
    answerers = [Answerer(cli_env) for _ in range(2)]
    building = threading.Event()
    try:
        for answerer in answerers:  # both are answering before the corpus changes
            assert answerer.ask(QUESTION)["answered"]

        def keep_asking(answerer: Answerer) -> None:
            while building.is_set():
                answerer.ask(QUESTION)
                answerer.ask(PROBE)

        building.set()
        askers = [threading.Thread(target=keep_asking, args=(answerer,)) for answerer in answerers]
        for asker in askers:
            asker.start()
        Path(cli_env["NEWSBOT_SEEDS_DIR"], "950_pg_ferry.txt").write_text(PROBE_ARTICLE, encoding="utf-8")
        built = newsbot("index", env=cli_env)
        building.clear()
        for asker in askers:
            asker.join(timeout=120)
        assert built.returncode == 0 and "1 added" in built.stdout, built.stderr
        # After the switch each answerer reads the new generation within its staleness check's interval.
        seen = [_sees_the_new_article(answerer) for answerer in answerers]
    finally:
        building.clear()
        errors = [answerer.finish() for answerer in answerers]
    for answerer, err in zip(answerers, errors, strict=True):
        assert answerer.process.returncode == 0, err
        # Every answer while the index was rebuilt came from one generation, the old or the new, never a failure.
        assert len(answerer.answers) >= 4 and all(a["question"] in (QUESTION, PROBE) for a in answerer.answers)
        assert all(a["answered"] for a in answerer.answers if a["question"] == QUESTION)
    assert all(seen), "an answerer never saw the new generation"
    Path(cli_env["NEWSBOT_SEEDS_DIR"], "950_pg_ferry.txt").unlink()
    assert newsbot("index", "--quiet", env=cli_env).returncode == 0
