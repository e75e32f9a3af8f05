"""The optional condense-question model, against a stub OpenAI-compatible server on loopback started here: its
rewrite is used and shown; any error, timeout or bad reply falls back to the rules (fast tier)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bot.answer.conversation.condense import Condenser, endpoint
from bot.answer.conversation.turn import READING_AS
from bot.settings import Settings
from embeddings.errors import ConfigError

pytestmark = pytest.mark.fast


class Stub(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions as the test says: a reply, an error status, garbage or a slow reply."""

    mode = "ok"
    reply = "What did Crosetto say about diplomacy?"
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Stub.requests.append({"path": self.path, "body": body})
        if Stub.mode == "slow":
            time.sleep(1.0)
        if Stub.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        payload = b"not json" if Stub.mode == "garbage" else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": Stub.reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture()
def stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.mode, Stub.requests = "ok", []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_the_model_condenses_a_follow_up(stub: str) -> None:
    condense = Condenser(stub, "tiny-model", timeout=2.0)
    assert condense([("What did Crosetto say about troops?", "He said no.")], "and about diplomacy?") == Stub.reply
    [request] = Stub.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "tiny-model"
    assert "and about diplomacy?" in request["body"]["messages"][-1]["content"]
    assert "What did Crosetto say about troops?" in request["body"]["messages"][-1]["content"]


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
def test_any_failure_is_none(stub: str, mode: str) -> None:
    Stub.mode = mode
    assert Condenser(stub, "m", timeout=0.3)([], "and about diplomacy?") is None


def test_an_unreachable_server_is_none() -> None:
    assert Condenser("http://127.0.0.1:9", "m", timeout=0.3)([], "why?") is None


def test_a_turn_read_by_the_model_is_shown_and_answered(stub: str, fake_service) -> None:
    first = fake_service.converse("What did Crosetto say about troops?")
    fake_service.condense = Condenser(stub, "m", timeout=2.0)
    try:
        reply = fake_service.converse("and about diplomacy?", first.conversation)
        assert reply.reading.by == "model" and reply.reading.standalone == Stub.reply
        assert reply.answer.notices[0] == READING_AS + Stub.reply
        assert len(Stub.requests) == 1
        fresh = fake_service.converse("What did Crosetto say about troops?")
        assert fresh.reading.by == "rules" and len(Stub.requests) == 1  # a first question is never sent

        Stub.mode = "error"
        fallback = fake_service.converse("and about diplomacy?", first.conversation)
        assert fallback.reading.by == "rules"
    finally:
        fake_service.condense = None


def test_settings() -> None:
    settings = Settings.from_mapping({"NEWSBOT_LLM_URL": "http://127.0.0.1:11434/v1", "NEWSBOT_LLM_MODEL": "qwen"})
    assert (settings.llm_url, settings.llm_model, settings.llm_timeout) == ("http://127.0.0.1:11434/v1", "qwen", 5.0)
    assert Settings().llm_url is None  # off by default
    with pytest.raises(ConfigError):
        Settings.from_mapping({"NEWSBOT_LLM_URL": "file:///etc/passwd"})
    assert endpoint("http://h/v1/") == "http://h/v1/chat/completions"
    assert endpoint("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
