"""Conversations on Discord, offline with simcord over the real index and model: follow-ups in the bot's own
threads, in DMs and in replies to its answers; never in a thread a member started; read back after a restart."""

from __future__ import annotations

import pytest
import simcord

from bot.answer.conversation.turn import READING_AS
from bot.answer.service import NewsService
from bot.discord_bot import embeds
from bot.discord_bot.client import create_bot
from bot.settings import Settings
from tests.bot.discord_bot.test_bot import CROSETTO_ID, bot_messages, cited_ids, only_thread, world

pytestmark = pytest.mark.simcord(settle_timeout=60)

FIRST = "What did Crosetto say about diplomacy?"
FOLLOW_UP = "what did he say about troops?"
READ_AS = "What did Crosetto say about troops"


def reading(message) -> str | None:
    """How the bot says it read a question, from its answer's notice field."""
    fields = {f.name: f.value for f in message.embeds[0].fields}
    notice = fields.get(embeds.NOTICE_FIELD, "")
    lines = [line for line in notice.splitlines() if line.startswith(READING_AS)]
    return lines[0][len(READING_AS):] if lines else None


async def test_a_follow_up_in_the_bots_thread_is_read_with_the_conversation(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    await alice.send(channel, f"{simcord_env.bot.user.mention} {FIRST}")
    thread = only_thread(channel)
    follow_up = await alice.send(thread, FOLLOW_UP)  # no mention needed in the bot's own thread

    first, second = bot_messages(thread, simcord_env)
    assert reading(first) is None  # a first question is read as it is
    assert reading(second).startswith(READ_AS)
    assert second.reference.message_id == follow_up.id
    assert CROSETTO_ID in cited_ids(second.embeds[0])
    assert len(channel.threads) == 1


async def test_a_thread_a_member_started_is_never_taken_over(simcord_env: simcord.Env) -> None:
    guild, channel, alice = world(simcord_env)
    bob = guild.add_member(simcord_env.create_user("bob"))
    simcord_env.backend.create_thread(channel.id, "our own thread", alice.id)
    thread = only_thread(channel)

    await alice.send(thread, f"{simcord_env.bot.user.mention} {FIRST}")  # a mention is answered there
    [answer] = bot_messages(thread, simcord_env)
    await alice.send(thread, FOLLOW_UP)  # but the thread stays the members'
    await bob.send(thread, "What did Crosetto say about troops?")
    assert len(bot_messages(thread, simcord_env)) == 1

    await bob.send(thread, FOLLOW_UP, reply_to=answer)  # a reply to the bot's answer asks it
    replies = bot_messages(thread, simcord_env)
    assert len(replies) == 2
    assert reading(replies[1]).startswith(READ_AS)


async def test_after_a_restart_a_follow_up_is_read_back_from_the_thread(bot_settings: Settings,
                                                                        service: NewsService) -> None:
    async with simcord.run(create_bot(bot_settings, service=service), settle_timeout=60) as env:
        _, channel, alice = world(env)
        await alice.send(channel, f"{env.bot.user.mention} {FIRST}")
        thread = only_thread(channel)

        await env.restart_bot(create_bot(bot_settings, service=service))  # forgets every conversation
        await alice.send(thread, FOLLOW_UP)

        answers = bot_messages(thread, env)
        assert len(answers) == 2
        assert reading(answers[1]).startswith(READ_AS)
        assert CROSETTO_ID in cited_ids(answers[1].embeds[0])


async def test_a_dm_is_a_conversation(simcord_env: simcord.Env) -> None:
    bob = simcord_env.create_user("bob")
    await bob.send_dm(FIRST)
    await bob.send_dm(FOLLOW_UP)
    answers = bot_messages(bob.dm_channel, simcord_env)
    assert len(answers) == 2
    assert reading(answers[1]).startswith(READ_AS)


async def test_a_reply_to_an_ask_answer_continues_it_in_a_thread(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "ask", question=FIRST)
    await alice.send(channel, FOLLOW_UP, reply_to=result.response)

    thread = only_thread(channel)
    [answer] = bot_messages(thread, simcord_env)
    assert reading(answer).startswith(READ_AS)
    assert CROSETTO_ID in cited_ids(answer.embeds[0])


async def test_plain_chatter_in_a_channel_is_still_ignored(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    await alice.send(channel, f"{simcord_env.bot.user.mention} {FIRST}")
    await alice.send(channel, FOLLOW_UP)  # in the channel, not in the thread: not a question
    assert len(channel.threads) == 1
    assert bot_messages(channel, simcord_env) == []
