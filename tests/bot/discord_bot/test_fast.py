"""The Discord bot on the fast tier: simcord drives the real bot over an index made with the fake embedder."""

from __future__ import annotations

import pytest
import simcord

from bot.discord_bot.client import create_bot

pytestmark = [pytest.mark.fast, pytest.mark.simcord(settle_timeout=30)]


@pytest.fixture()
def simcord_bot(fake_service, tmp_path):
    """The bot under test over the fake-embedder service."""
    settings = fake_service.settings.with_overrides(feedback_db=tmp_path / "feedback.sqlite3")
    return create_bot(settings, service=fake_service)


async def test_fast_a_mention_is_answered_in_a_thread_with_cited_quotes(simcord_env: simcord.Env) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    await alice.send(channel, f"{simcord_env.bot.user.mention} What did Crosetto say about troops?")
    [thread] = channel.threads
    [reply] = [m for m in thread.history() if m.author.id == simcord_env.bot.user.id]
    [embed] = reply.embeds
    quotes = [f for f in embed.fields if f.name.startswith("[")]
    assert quotes and all(f.value.startswith("> ") for f in quotes)


async def test_fast_slash_ask_defers_then_answers(simcord_env: simcord.Env) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    result = await alice.slash(channel, "ask", question="What did Crosetto say about troops?")
    assert not result.ephemeral and result.response.embeds
