"""Running the bot: token problems become ConfigError, the intent fallback, and the question gate."""

from __future__ import annotations

import logging

import discord
import pytest

from bot.discord_bot import embeds
from bot.discord_bot.client import run_bot
from bot.discord_bot.gate import Gate
from bot.settings import Settings
from embeddings.errors import ConfigError

pytestmark = pytest.mark.fast

TOKEN = "MTIz.not-a-real-token.SECRETPART"


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_token_is_a_config_error(settings: Settings, token: str | None) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        run_bot(settings.with_overrides(discord_token=token) if token is not None else settings)


def test_an_invalid_token_is_a_config_error_without_the_token(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    async def rejected(self: discord.Client, token: str) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(discord.Client, "login", rejected)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as caught:
        run_bot(settings.with_overrides(discord_token=TOKEN))
    assert "rejected DISCORD_TOKEN" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "\n" not in str(caught.value)
    assert "SECRETPART" not in str(caught.value) and "SECRETPART" not in caplog.text


def test_without_the_content_intent_the_bot_runs_on_mentions_only(settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    async def login(self: discord.Client, token: str) -> None:
        return None

    async def connect(self: discord.Client, *, reconnect: bool = True) -> None:
        seen.append(self.intents.message_content)
        if self.intents.message_content:
            raise discord.PrivilegedIntentsRequired(shard_id=None)

    monkeypatch.setattr(discord.Client, "login", login)
    monkeypatch.setattr(discord.Client, "connect", connect)
    run_bot(settings.with_overrides(discord_token=TOKEN))
    assert seen == [True, False]


def test_the_gate_refuses_when_full_instead_of_queueing() -> None:
    gate = Gate(cooldown_seconds=0, max_in_flight=2)
    assert gate.admit(1) is None and gate.admit(2) is None
    assert gate.admit(3) == embeds.BUSY
    gate.release()
    assert gate.admit(3) is None
    assert gate.in_flight == 2


def test_the_gate_cooldown_is_per_user_and_zero_disables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    gate = Gate(cooldown_seconds=10, max_in_flight=5)
    assert gate.admit(1) is None
    gate.release()
    assert gate.admit(1) == "Please wait 10s before asking again."
    assert gate.admit(2) is None
    now[0] += 9.5
    assert gate.admit(1) == "Please wait 1s before asking again."
    now[0] += 0.5
    assert gate.admit(1) is None
    free = Gate(cooldown_seconds=0, max_in_flight=5)
    assert all(free.admit(1) is None for _ in range(5))
