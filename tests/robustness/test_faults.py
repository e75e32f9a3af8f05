"""Faults on Discord (issue 6): no index or a broken one, HTTP errors, a gateway reconnect, a broken feedback
database. The bot keeps serving; users get a short message; the log gets the details."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import discord
import pytest
import simcord

from bot.answer.service import NewsService
from bot.discord_bot import embeds
from bot.discord_bot.client import create_bot
from bot.discord_bot.feedback import FeedbackStore
from bot.settings import Settings
from embeddings.errors import IndexCorruptError, IndexMissingError
from embeddings.index.directory import FAISS_INDEX
from tests.bot.discord_bot.test_bot import CROSETTO, CROSETTO_ID, assert_pings_nobody, bot_messages, cited_ids, world
from tests.robustness.conftest import reconnect_gateway, tiny_seeds

pytestmark = pytest.mark.simcord(settle_timeout=120)

HARBOUR = "What did the mayor say about the harbour repairs?"


def admin_of(env: simcord.Env, guild: simcord.GuildHandle):
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(env.create_user("admin"), roles=[admins])


def last_text(result: simcord.InteractionResult) -> str:
    return (result.followups or [result.response])[-1].content


# --------------------------------------------------------------------------- no index, a broken index


async def test_without_an_index_every_command_says_how_to_build_it_and_reindex_fixes_it(
        tmp_path: Path, real_embedder, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 3), index_dir=tmp_path / "index",
                        feedback_db=tmp_path / "fb.sqlite3", cooldown_seconds=0.0)
    expected = "no index at …/index: run `newsbot index` to build it"
    with caplog.at_level(logging.INFO):
        async with simcord.run(create_bot(settings, service=NewsService(settings, real_embedder)),
                               settle_timeout=120) as env:
            guild, channel, alice = world(env)
            await alice.send(channel, f"{env.bot.user.mention} {HARBOUR}")
            [note] = bot_messages(channel.threads[-1], env)
            assert note.content == expected
            bob = env.create_user("bob")
            await bob.send_dm(HARBOUR)
            assert bot_messages(bob.dm_channel, env)[-1].content == expected
            for command, options in (("ask", {"question": HARBOUR}), ("search", {"query": "harbour"}),
                                     ("timeline", {"topic": "harbour"}), ("source", {"id": "000_tiny"}),
                                     ("sources", {}), ("about", {})):
                result = await alice.slash(channel, command, **options)
                assert last_text(result) == expected, command
            assert await alice.autocomplete(channel, "source", "id", "") == []
            simcord.assert_error(env, IndexMissingError)

            fixed = await admin_of(env, guild).slash(channel, "reindex")
            assert fixed.response.content.startswith("Index updated: added 3")
            answer = await alice.slash(channel, "ask", question=HARBOUR)
            assert "002_tiny" in cited_ids(answer.response.embeds[0]) or "002_tiny" in str(
                answer.response.embeds[0].to_dict())
            assert len(await alice.autocomplete(channel, "source", "id", "")) == 3
    assert "error id" not in caplog.text  # a known problem is explained, not apologised for


async def test_a_corrupt_index_is_refused_on_discord_without_a_crash_loop_and_reindex_repairs_it(
        tmp_path: Path, real_embedder, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 3), index_dir=tmp_path / "index",
                        feedback_db=tmp_path / "fb.sqlite3", cooldown_seconds=0.0)
    NewsService(settings, real_embedder).reindex()
    faiss_file = settings.index_dir.resolve() / FAISS_INDEX
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # truncated, as by a full disk
    with caplog.at_level(logging.INFO):
        async with simcord.run(create_bot(settings, service=NewsService(settings, real_embedder)),
                               settle_timeout=120) as env:
            guild, channel, alice = world(env)
            for _ in range(5):  # every question gets the reason; the bot stays up
                result = await alice.slash(channel, "ask", question=HARBOUR)
                assert last_text(result) == ("index file …/chunks.faiss is missing or fails its checksum: run "
                                             "`newsbot index --rebuild`")
                assert not result.response.embeds
            simcord.assert_error(env, IndexCorruptError)
            fixed = await admin_of(env, guild).slash(channel, "reindex")
            assert fixed.response.content.startswith("Index updated")
            answer = await alice.slash(channel, "ask", question=HARBOUR)
            assert answer.response.embeds and "002_tiny" in str(answer.response.embeds[0].to_dict())
    assert "newsbot is not ready: index file" in caplog.text
    assert caplog.text.count("newsbot is not ready") == 1  # logged once at start-up, then no retry storm


# --------------------------------------------------------------------------- Discord HTTP errors


async def test_a_failed_defer_is_apologised_for_and_the_next_question_is_answered(
        simcord_env: simcord.Env, caplog: pytest.LogCaptureFixture) -> None:
    _, channel, alice = world(simcord_env)
    simcord_env.inject_error("POST", "/interactions/*/callback", status=500, times=1)
    with caplog.at_level(logging.ERROR, logger="bot.discord"):
        failed = await alice.slash(channel, "ask", question=CROSETTO)
    [error_id] = re.findall(r"error id `([0-9a-f]{8})`", last_text(failed))
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert isinstance(record.exc_info[1], discord.HTTPException)
    simcord.assert_error(simcord_env, discord.HTTPException)
    assert simcord_env.bot.gate.in_flight == 0

    again = await alice.slash(channel, "ask", question=CROSETTO)
    assert CROSETTO_ID in cited_ids(again.response.embeds[0])


@pytest.mark.parametrize(("status", "code"), [(500, 0), (503, 0), (403, 50013), (429, 0)])
async def test_an_outage_on_sending_loses_those_replies_only_and_the_bot_keeps_serving(
        simcord_env: simcord.Env, caplog: pytest.LogCaptureFixture, status: int, code: int) -> None:
    _, channel, alice = world(simcord_env)
    mention = simcord_env.bot.user.mention
    # Every send fails for a while: the answer, then the apology for it, for two questions in a row.
    simcord_env.inject_error("POST", "/channels/*/messages", status=status, code=code, times=4)
    with caplog.at_level(logging.WARNING, logger="bot.discord"):
        await alice.send(channel, f"{mention} {CROSETTO}")
        await alice.send(channel, f"{mention} What did Crosetto say about diplomacy?")
    assert all(bot_messages(thread, simcord_env) == [] for thread in channel.threads)
    assert len(re.findall(r"error \w{8} while sending the answer", caplog.text)) == 2
    assert caplog.text.count("could not send a note") == 2

    await alice.send(channel, f"{mention} {CROSETTO}")  # the outage is over
    [answer] = bot_messages(channel.threads[-1], simcord_env)
    assert CROSETTO_ID in cited_ids(answer.embeds[0])
    assert simcord_env.bot.gate.in_flight == 0


async def test_without_thread_permission_or_typing_the_answer_comes_in_the_channel(
        simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    simcord_env.inject_error("POST", "/channels/*/messages/*/threads", status=403, code=50013, times=1)
    simcord_env.inject_error("POST", "/channels/*/typing", status=500, times=1)
    question = await alice.send(channel, f"{simcord_env.bot.user.mention} {CROSETTO}")
    assert channel.threads == []
    [answer] = bot_messages(channel, simcord_env)
    assert answer.reference.message_id == question.id
    assert CROSETTO_ID in cited_ids(answer.embeds[0])
    assert_pings_nobody(simcord_env)


async def test_a_failed_button_defer_is_reported_and_buttons_keep_working(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "ask", question=CROSETTO)
    simcord_env.inject_error("POST", "/interactions/*/callback", status=500, times=1)
    await alice.click(result.response, custom_id="newsbot:vote:up")
    simcord.assert_error(simcord_env, discord.HTTPException)
    clicked = await alice.click(result.response, custom_id="newsbot:vote:up")
    assert last_text(clicked) == embeds.FEEDBACK_THANKS[1]
    passages = await alice.click(result.response, label="Passages")
    assert passages.ephemeral and passages.response.embeds


async def test_after_a_gateway_reconnect_the_bot_keeps_serving_threads_buttons_and_commands(
        simcord_env: simcord.Env, caplog: pytest.LogCaptureFixture) -> None:
    _, channel, alice = world(simcord_env)
    mention = simcord_env.bot.user.mention
    await alice.send(channel, f"{mention} What did Crosetto say about diplomacy?")
    thread = channel.threads[-1]
    before = await alice.slash(channel, "ask", question=CROSETTO)

    with caplog.at_level(logging.INFO, logger="bot.discord"):
        await reconnect_gateway(simcord_env)
    assert caplog.text.count("connected as") == 1  # READY again after the reconnect

    await alice.send(thread, "and about troops?")  # the follow-up still reads with the thread's first question
    follow_up = bot_messages(thread, simcord_env)[-1]
    assert CROSETTO_ID in cited_ids(follow_up.embeds[0])
    clicked = await alice.click(before.response, label="Passages")  # buttons sent before the reconnect
    assert clicked.ephemeral and clicked.response.embeds
    voted = await alice.click(before.response, custom_id="newsbot:vote:up")
    assert last_text(voted) == embeds.FEEDBACK_THANKS[1]
    after = await alice.slash(channel, "ask", question=CROSETTO)
    assert CROSETTO_ID in cited_ids(after.response.embeds[0])
    await alice.send(channel, f"{mention} {CROSETTO}")
    assert len(channel.threads) == 2
    assert simcord_env.errors == []


# --------------------------------------------------------------------------- the feedback database


async def test_a_locked_feedback_database_costs_the_vote_not_the_answers(
        bot_settings: Settings, service: NewsService, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, timeout=0.2)
    store.salt()  # the database exists
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds it, e.g. a backup
    try:
        async with simcord.run(create_bot(bot_settings, service=service, feedback=store), settle_timeout=120) as env:
            _, channel, alice = world(env)
            result = await alice.slash(channel, "ask", question=CROSETTO)
            with caplog.at_level(logging.ERROR, logger="bot.discord"):
                clicked = await alice.click(result.response, custom_id="newsbot:vote:up")
            [error_id] = re.findall(r"error id `([0-9a-f]{8})`", last_text(clicked))
            [record] = [r for r in caplog.records if error_id in r.getMessage()]
            assert "database is locked" in str(record.exc_info[1])

            again = await alice.slash(channel, "ask", question="What did Crosetto say about diplomacy?")
            assert again.response.embeds  # answering goes on
            holder.execute("ROLLBACK")
            clicked = await alice.click(result.response, custom_id="newsbot:vote:up")
            assert last_text(clicked) == embeds.FEEDBACK_THANKS[1]
        assert [row.vote for row in store.rows()] == [1]
    finally:
        holder.close()


async def test_a_corrupt_feedback_database_costs_the_vote_not_the_answers(
        bot_settings: Settings, service: NewsService, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"this is not a database " * 500)
    async with simcord.run(create_bot(bot_settings.with_overrides(feedback_db=path), service=service),
                           settle_timeout=120) as env:
        _, channel, alice = world(env)
        result = await alice.slash(channel, "ask", question=CROSETTO)
        assert CROSETTO_ID in cited_ids(result.response.embeds[0])
        with caplog.at_level(logging.ERROR, logger="bot.discord"):
            for custom_id in ("newsbot:vote:up", "newsbot:vote:down"):
                clicked = await alice.click(result.response, custom_id=custom_id)
                assert last_text(clicked).startswith("Sorry, I couldn't save your feedback (error id `")
        records = [r for r in caplog.records if "saving feedback" in r.getMessage()]
        assert len(records) == 2 and all(isinstance(r.exc_info[1], sqlite3.DatabaseError) for r in records)
        await alice.send(channel, f"{env.bot.user.mention} {CROSETTO}")
        assert bot_messages(channel.threads[-1], env)[-1].embeds
    assert path.read_bytes().startswith(b"this is not a database")  # left for an admin to look at, not clobbered


# --------------------------------------------------------------------------- the gate


async def test_the_gate_never_leaks_a_slot_when_answering_fails(bot_settings: Settings, service: NewsService) -> None:
    """Failures while answering (a broken service, a failed defer) give the slot back: the bot never jams 'busy'."""

    class Broken:
        def __init__(self, inner: NewsService) -> None:
            self.inner = inner

        def ask(self, question: str, context: str | None = None):
            raise RuntimeError("boom")

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    limit = 3
    limits = bot_settings.with_overrides(cooldown_seconds=0.0, max_in_flight=limit)
    async with simcord.run(create_bot(limits, service=Broken(service)), settle_timeout=120) as env:
        _, channel, alice = world(env)
        for _ in range(limit * 2):
            await alice.send(channel, f"{env.bot.user.mention} {CROSETTO}")
            failed = await alice.slash(channel, "ask", question=CROSETTO)
            assert "error id" in last_text(failed)
        env.inject_error("POST", "/interactions/*/callback", status=500, times=limit * 2)
        for _ in range(limit * 2):
            await alice.slash(channel, "ask", question=CROSETTO)
        assert env.bot.gate.in_flight == 0
        assert env.errors  # the failures above, acknowledged: they are the point of this test
        env.bot.service = service
        result = await alice.slash(channel, "ask", question=CROSETTO)
        assert CROSETTO_ID in cited_ids(result.response.embeds[0])
