"""A burst of messages from one user (issue 13, item 11): one "Please wait" per user per cooldown window, not one
per message; slash commands still get their private note every time."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.discord_bot import embeds
from bot.discord_bot.client import create_bot
from bot.discord_bot.gate import Gate

pytestmark = [pytest.mark.fast, pytest.mark.simcord(settle_timeout=30)]

QUESTION = "What did Crosetto say about troops?"


def notes(env: simcord.Env, channel: simcord.ChannelHandle) -> list[str]:
    bot_id = env.bot.user.id
    return [m.content for m in channel.history() if m.author.id == bot_id and m.type == discord.MessageType.reply
            and not m.embeds]


def answers(env: simcord.Env, channel: simcord.ChannelHandle) -> int:
    bot_id = env.bot.user.id
    return sum(1 for thread in channel.threads for m in thread.history() if m.author.id == bot_id and m.embeds)


@pytest.fixture()
def simcord_bot(fake_service, tmp_path):
    """The bot over the fake-embedder service, with the production cooldown."""
    settings = fake_service.settings.with_overrides(feedback_db=tmp_path / "feedback.sqlite3", cooldown_seconds=5.0,
                                                    max_in_flight=4)
    return create_bot(settings, service=fake_service)


async def test_a_burst_of_30_messages_from_one_user_gets_one_answer_and_one_note(simcord_env: simcord.Env) -> None:
    env = simcord_env
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(env.create_user("alice"))
    bob = guild.add_member(env.create_user("bob"))
    for n in range(30):  # all arrive before the bot answers any of them
        env.backend.create_message(channel.id, alice.id, f"{env.bot.user.mention} {QUESTION} #{n}")
    await env.settle()
    assert answers(env, channel) == 1
    [note] = notes(env, channel)
    assert note.startswith("Please wait ")

    await bob.send(channel, f"{env.bot.user.mention} {QUESTION}")  # per user: bob is answered
    assert answers(env, channel) == 2
    refused = await alice.slash(channel, "ask", question=QUESTION)  # private, so always told
    assert refused.ephemeral and refused.response.content.startswith("Please wait ")

    await env.advance_time(5.5)  # a new window: an answer, then one note again
    for n in range(3):
        env.backend.create_message(channel.id, alice.id, f"{env.bot.user.mention} {QUESTION} again #{n}")
    await env.settle()
    assert answers(env, channel) == 3 and len(notes(env, channel)) == 2
    assert env.bot.gate.in_flight == 0


def test_the_gate_tells_once_per_window_and_again_after_an_admitted_question(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    gate = Gate(cooldown_seconds=10, max_in_flight=1)
    assert gate.admit(1) is None
    assert gate.admit(1).startswith("Please wait") and gate.tell(1)
    assert gate.admit(2) == embeds.BUSY and gate.tell(2)  # busy: told once too
    now[0] += 9
    assert not gate.tell(1) and not gate.tell(2)
    gate.release()
    now[0] += 1.5
    assert gate.admit(1) is None  # a new window starts with an answer
    gate.release()
    assert gate.tell(1)
    assert Gate(cooldown_seconds=0, max_in_flight=1).tell(1)  # no cooldown: no window to stay quiet in
