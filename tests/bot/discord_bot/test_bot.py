"""The Discord bot end to end, offline: simcord drives the real bot over the real index and model."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import discord
import pytest
import simcord
from discord.ext import commands
from simcord import assert_error

from bot.answer.service import NewsService
from bot.answer.types import Answer
from bot.discord_bot import embeds, limits
from bot.discord_bot.client import create_bot
from bot.discord_bot.feedback import FeedbackStore
from bot.settings import Settings
from embeddings.errors import IndexMissingError, SourceNotFoundError

# Model inference runs in worker threads; give settling room on slow machines.
pytestmark = pytest.mark.simcord(settle_timeout=60)

CROSETTO = "What did Crosetto say about troops?"
CROSETTO_ID = "004_347bbc5789c47b0a"


class RecordingService:
    """The real service, recording how it was asked."""

    def __init__(self, inner: NewsService) -> None:
        self.inner = inner
        self.asked: list[tuple[str, str | None]] = []
        self.reindexed = 0

    def ask(self, question: str, context: str | None = None, prefer=None):
        self.asked.append((question, context))
        return self.inner.ask(question, context, prefer)

    def converse(self, question: str, conversation=None):
        from bot.answer.conversation import turn

        return turn.take_turn(RecordingAnswering(self.inner.answering(), self.asked), question, conversation)

    def reindex(self, *args, **kwargs):
        self.reindexed += 1
        return self.inner.reindex(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


class RecordingAnswering:
    """A turn's answering (bot/answer/pipeline.py Answering), recording how it was asked."""

    def __init__(self, inner, asked: list[tuple[str, str | None]]) -> None:
        self.inner = inner
        self.asked = asked

    def ask(self, question: str, context: str | None = None, prefer=None):
        self.asked.append((question, context))
        return self.inner.ask(question, context, prefer)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def world(env: simcord.Env, channel: str = "general"):
    """A guild with one text channel and a plain member, alice."""
    guild = env.create_guild()
    text = guild.create_text_channel(channel)
    alice = guild.add_member(env.create_user("alice"))
    return guild, text, alice


def bot_messages(channel: simcord.ChannelHandle, env: simcord.Env) -> list[discord.Message]:
    """The bot's own messages in a channel, oldest first."""
    kinds = (discord.MessageType.default, discord.MessageType.reply)
    return [m for m in channel.history() if m.author.id == env.bot.user.id and m.type in kinds]


def cited_ids(embed: discord.Embed) -> list[str]:
    return re.findall(r"\b\d{3}_[0-9a-f]{16}\b", " ".join(f.name for f in embed.fields))


def only_thread(channel: simcord.ChannelHandle) -> simcord.ChannelHandle:
    [thread] = channel.threads
    return thread


def message_requests(env: simcord.Env) -> list[dict]:
    """The JSON bodies of every request that created or edited a message, interaction responses included."""
    bodies = []
    for request in env.http_requests:
        body = request.json
        if not isinstance(body, dict):
            continue
        if "/interactions/" in request.path:
            body = body.get("data") or {}
        if "content" in body or "embeds" in body or "components" in body:
            bodies.append(body)
    return bodies


def pings(env: simcord.Env) -> list[str]:
    """Every ping the bot caused: users, roles or everyone notified, or a send that allowed any mention."""
    problems = []
    bot_id = env.backend.bot_user.id
    for channel_id, messages in env.backend.messages.items():
        for stored in messages.values():
            if stored.author_id != bot_id:
                continue
            if stored.ping_user_ids or stored.ping_role_ids or stored.mention_everyone:
                problems.append(f"message {stored.id} in {channel_id} pinged users={stored.ping_user_ids} "
                                f"roles={stored.ping_role_ids} everyone={stored.mention_everyone}")
    for body in message_requests(env):
        allowed = body.get("allowed_mentions")
        if allowed is None or allowed.get("parse") or allowed.get("users") or allowed.get("roles") or allowed.get(
                "replied_user"):
            problems.append(f"a send allowed mentions: {allowed!r}")
    return problems


def assert_pings_nobody(env: simcord.Env) -> None:
    problems = pings(env)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- questions by message


async def test_mention_is_answered_in_a_thread_with_citations(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    question = await alice.send(channel, f"{simcord_env.bot.user.mention} {CROSETTO}")

    thread = only_thread(channel)
    assert thread.id == question.id  # started on the question message
    assert thread.name == CROSETTO
    [answer] = bot_messages(thread, simcord_env)
    [embed] = answer.embeds
    assert embed.title == CROSETTO
    assert CROSETTO_ID in cited_ids(embed)
    assert "[1]" in limits.unescape(embed.description)  # sent escaped, shown as [1]
    assert embed.footer.text.startswith("as of 20")
    labels = [c.label or c.emoji.name for row in answer.components for c in row.children]
    assert labels == ["Passages", "👍", "👎"]
    assert bot_messages(channel, simcord_env) == []  # nothing but the thread in the channel itself
    assert_pings_nobody(simcord_env)


async def test_a_thread_follow_up_is_answered_without_a_mention(bot_settings: Settings,
                                                                  service: NewsService) -> None:
    recorder = RecordingService(service)
    async with simcord.run(create_bot(bot_settings, service=recorder), settle_timeout=60) as env:
        _, channel, alice = world(env)
        await alice.send(channel, f"{env.bot.user.mention} What did Crosetto say about diplomacy?")
        thread = only_thread(channel)
        follow_up = await alice.send(thread, "and about troops?")  # no mention needed in the bot's thread

        asked = [question for question, _ in recorder.asked]
        assert asked[0] == "What did Crosetto say about diplomacy?"
        assert "troops" in asked[1]  # read with the conversation (tests/bot/discord_bot/test_conversations.py)
        answers = bot_messages(thread, env)
        assert len(answers) == 2
        assert answers[1].reference.message_id == follow_up.id
        assert CROSETTO_ID in cited_ids(answers[1].embeds[0])
        assert len(channel.threads) == 1


async def test_a_dm_is_answered(simcord_env: simcord.Env) -> None:
    bob = simcord_env.create_user("bob")
    await bob.send_dm(CROSETTO)
    [answer] = bot_messages(bob.dm_channel, simcord_env)
    assert CROSETTO_ID in cited_ids(answer.embeds[0])


async def test_listened_channels_need_no_mention(bot_settings: Settings, service: NewsService) -> None:
    bot = create_bot(bot_settings.with_overrides(channels=("news",)), service=service)
    async with simcord.run(bot, settle_timeout=60) as env:
        guild, news, alice = world(env, "news")
        general = guild.create_text_channel("general")
        await alice.send(general, CROSETTO)
        assert general.threads == [] and bot_messages(general, env) == []

        await alice.send(news, CROSETTO)
        [answer] = bot_messages(only_thread(news), env)
        assert CROSETTO_ID in cited_ids(answer.embeds[0])


async def test_listened_channels_by_id(bot_settings: Settings, service: NewsService) -> None:
    async with simcord.run(create_bot(bot_settings, service=service), settle_timeout=60) as env:
        _, channel, alice = world(env, "questions")
        env.bot.settings = bot_settings.with_overrides(channels=(str(channel.id),))
        await alice.send(channel, CROSETTO)
        assert len(bot_messages(only_thread(channel), env)) == 1


async def test_other_bots_and_plain_chatter_are_ignored(simcord_env: simcord.Env) -> None:
    guild, channel, alice = world(simcord_env)
    robot = guild.add_member(simcord_env.create_user("robot", bot=True))
    await robot.send(channel, f"{simcord_env.bot.user.mention} {CROSETTO}")
    await alice.send(channel, CROSETTO)  # no mention, not a listened channel
    await alice.send(channel, f"@everyone {CROSETTO}")
    assert channel.threads == []
    assert bot_messages(channel, simcord_env) == []


async def test_an_empty_mention_gets_a_short_note_and_an_overlong_one_is_answered_cut(
        bot_settings: Settings, service: NewsService) -> None:
    short = bot_settings.with_overrides(max_question_chars=40)
    bot = create_bot(short, service=NewsService(short, service.embedder))
    async with simcord.run(bot, settle_timeout=60) as env:
        _, channel, alice = world(env)
        await alice.send(channel, env.bot.user.mention)
        assert channel.last_message.content == embeds.NO_QUESTION
        assert channel.threads == []
        # Over the limit: answered on its first 40 characters, and the answer says so (issue 6).
        await alice.send(channel, f"{env.bot.user.mention} {'why ' * 20}")
        [answer] = bot_messages(only_thread(channel), env)
        [embed] = answer.embeds
        assert embed.title == ("why " * 10).strip()
        notes = {f.name: f.value for f in embed.fields}
        assert notes[embeds.NOTICE_FIELD] == "Your question was 79 characters long: only its first 40 were used."


async def test_an_unanswerable_question_shows_leads(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    await alice.send(channel, f"{simcord_env.bot.user.mention} What is the capital of Peru?")
    [answer] = bot_messages(only_thread(channel), simcord_env)
    embed = answer.embeds[0]
    assert embed.description.startswith("The articles don't say.")
    assert embed.fields and all(f.name.startswith("#") for f in embed.fields)


# --------------------------------------------------------------------------- slash commands


async def test_ask_defers_at_once_then_follows_up(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "ask", question=CROSETTO)

    paths = [(r.method, r.path, r.json) for r in simcord_env.http_requests]
    defer = next(i for i, (m, p, j) in enumerate(paths) if "/callback" in p and j == {"type": 5})
    follow = next(i for i, (m, p, j) in enumerate(paths) if p.startswith("/webhooks/"))
    assert defer < follow
    assert result.acknowledged and not result.ephemeral
    [embed] = result.response.embeds
    assert CROSETTO_ID in cited_ids(embed)
    assert embed.footer.text.startswith("as of ")


async def test_passages_button_shows_the_retrieved_passages_privately(simcord_env: simcord.Env) -> None:
    guild, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "ask", question=CROSETTO)
    clicked = await alice.click(result.response, label="Passages")

    assert clicked.ephemeral
    embeds = clicked.response.embeds + [e for m in clicked.followups for e in m.embeds]
    texts = " ".join(e.description for e in embeds)
    assert "sending troops to Ukraine would represent a unilateral escalation" in texts
    assert all(e.footer.text.split(" · ")[0] for e in embeds)
    bob = guild.add_member(simcord_env.create_user("bob"))
    assert clicked.response.id not in [m.id for m in channel.history(viewer=bob)]
    assert clicked.response.id in [m.id for m in channel.history(viewer=alice)]


async def test_search_ranks_passages_with_scores(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "search", query="Western troops in Ukraine", k=3)
    [embed] = result.response.embeds
    assert len(embed.fields) == 3
    assert [f.name.split(" · ")[0] for f in embed.fields] == ["#1", "#2", "#3"]
    assert all(re.match(r"#\d · \d\.\d{4} · ", f.name) for f in embed.fields)
    assert CROSETTO_ID in cited_ids(embed)
    with pytest.raises(simcord.OptionError):
        await alice.slash(channel, "search", query="troops", k=11)


async def test_source_autocomplete_and_full_text(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    everything = await alice.autocomplete(channel, "source", "id", "")
    assert len(everything) == 5
    choices = await alice.autocomplete(channel, "source", "id", "opposes sending")
    assert choices[0]["value"] == CROSETTO_ID
    assert all(len(c["name"]) <= 100 for c in everything + choices)
    assert (await alice.autocomplete(channel, "source", "id", "004_"))[0]["value"] == CROSETTO_ID

    result = await alice.slash(channel, "source", id=CROSETTO_ID)
    [embed] = result.response.embeds
    assert embed.title == "Crosetto opposes sending Western troops to Ukraine"
    assert CROSETTO_ID in embed.description and "2024-03-10" in embed.description
    assert any(f.name.startswith(f"{CROSETTO_ID}#") for f in embed.fields)

    full = await alice.click(result.response, label="Full text")
    assert full.ephemeral
    pages = [full.response, *full.followups]
    text = "".join(p.embeds[0].description for p in pages)
    assert "No to the military in Ukraine. France should not speak for NATO" in text
    assert all(p.ephemeral for p in pages)


async def test_unknown_source_is_a_short_message_not_an_apology(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "source", id="no_such_article")
    assert "no such source" in result.response.content
    assert "error id" not in result.response.content
    assert_error(simcord_env, SourceNotFoundError)


async def test_sources_lists_the_corpus_with_dates(simcord_env: simcord.Env, service: NewsService) -> None:
    _, channel, alice = world(simcord_env)
    result = await alice.slash(channel, "sources")
    [embed] = result.response.embeds
    lines = embed.description.splitlines()
    assert len(lines) == 5
    for info, line in zip(service.sources(), lines, strict=True):
        assert line.startswith(f"`{info.date}`") and info.source_id in line


async def test_about_shows_the_model_and_never_the_token(bot_settings: Settings, service: NewsService) -> None:
    token = "MTIz.SECRET-test-token.abc"
    bot = create_bot(bot_settings.with_overrides(discord_token=token), service=service)
    async with simcord.run(bot, settle_timeout=60) as env:
        _, channel, alice = world(env)
        result = await alice.slash(channel, "about")
        [embed] = result.response.embeds
        about = service.about()
        shown = {f.name: f.value for f in embed.fields}
        assert shown["Model"] == limits.md(about["model"])
        assert shown["Passages"] == str(about["passages"])
        assert shown["Corpus dates"] == f"{about['first_date']} to {about['last_date']}"
        everything = json.dumps([r.json for r in env.http_requests], default=str)
        assert token not in everything and "SECRET" not in everything


async def test_reindex_is_hidden_from_and_refused_to_plain_members(bot_settings: Settings,
                                                                   service: NewsService) -> None:
    recorder = RecordingService(service)
    async with simcord.run(create_bot(bot_settings, service=recorder), settle_timeout=60) as env:
        guild, channel, alice = world(env)
        assert "reindex" not in alice.available_commands(channel)
        with pytest.raises(simcord.SetupError):
            await alice.slash(channel, "reindex")

        # An admin may grant the command to anyone in Server Settings > Integrations: the bot still refuses.
        [command] = [c for c in env.bot.synced_commands if c.name == "reindex"]
        guild.set_command_permissions(command, {alice: True})
        result = await alice.slash(channel, "reindex")
        assert result.ephemeral
        assert result.response.content == embeds.NO_PERMISSION
        assert recorder.reindexed == 0


async def test_reindex_by_an_admin_reports_what_changed(tmp_path: Path, real_embedder) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(Path(__file__).resolve().parents[3] / "seeds", seeds)
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "fb.sqlite3",
                        cooldown_seconds=0.0)
    private = NewsService(settings, real_embedder)
    private.reindex()
    async with simcord.run(create_bot(settings, service=private), settle_timeout=60) as env:
        guild, channel, _ = world(env)
        admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        admin = guild.add_member(env.create_user("admin"), roles=[admins])
        assert len(await admin.autocomplete(channel, "source", "id", "")) == 5

        (seeds / "005_reindex_test.txt").write_text(
            "Reindex test headline\n2024-05-01\n\nThe minister said the bridge would open in June. "
            "Engineers confirmed the schedule on Tuesday.\n", encoding="utf-8")
        result = await admin.slash(channel, "reindex")
        assert result.ephemeral
        assert result.response.content.startswith("Index updated: added 1 (`005_reindex_test`)")

        again = await admin.slash(channel, "reindex")
        assert again.response.content.startswith("The index was already up to date: 6 articles")
        assert len(await admin.autocomplete(channel, "source", "id", "")) == 6


async def test_commands_sync_to_the_configured_guild(bot_settings: Settings, service: NewsService) -> None:
    guild_id = 4242424242424242
    bot = create_bot(bot_settings.with_overrides(guild_id=guild_id), service=service)
    async with simcord.run(bot, settle_timeout=60) as env:
        home = env.create_guild(id=guild_id)
        channel = home.create_text_channel("general")
        alice = home.add_member(env.create_user("alice"))
        assert {c.name for c in env.bot.synced_commands} >= {"ask", "search", "source", "sources", "about"}
        assert all(c.guild_id == guild_id for c in env.bot.synced_commands)
        result = await alice.slash(channel, "about")
        assert result.response.embeds[0].title == "About newsbot"

        _, elsewhere, bob = world(env)
        with pytest.raises(simcord.SetupError):
            await bob.slash(elsewhere, "about")


# --------------------------------------------------------------------------- feedback


async def test_feedback_buttons_store_votes_with_hashed_users(simcord_env: simcord.Env) -> None:
    guild, channel, alice = world(simcord_env)
    bob = guild.add_member(simcord_env.create_user("bob"))
    result = await alice.slash(channel, "ask", question=CROSETTO)

    up = await alice.click(result.response, custom_id="newsbot:vote:up")
    assert up.ephemeral
    assert (up.followups or [up.response])[-1].content == embeds.FEEDBACK_THANKS[1]
    await alice.click(result.response, custom_id="newsbot:vote:down")  # changes alice's vote
    await bob.click(result.response, custom_id="newsbot:vote:up")

    store: FeedbackStore = simcord_env.bot.feedback
    rows = store.rows()
    assert [(r.vote, r.user_hash) for r in rows] == [(-1, store.hash_user(alice.id)), (1, store.hash_user(bob.id))]
    for row in rows:
        assert row.question == CROSETTO
        assert CROSETTO_ID in row.source_ids
        assert row.message_id == result.response.id
        assert str(alice.id) not in row.user_hash and str(bob.id) not in row.user_hash


async def test_feedback_that_cannot_be_saved_is_a_short_note(bot_settings: Settings, service: NewsService,
                                                             tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = bot_settings.with_overrides(feedback_db=tmp_path)  # a directory: sqlite cannot open it
    async with simcord.run(create_bot(broken, service=service), settle_timeout=60) as env:
        _, channel, alice = world(env)
        result = await alice.slash(channel, "ask", question=CROSETTO)
        with caplog.at_level(logging.ERROR, logger="bot.discord"):
            clicked = await alice.click(result.response, custom_id="newsbot:vote:up")
        note = (clicked.followups or [clicked.response])[-1]
        assert note.ephemeral
        [error_id] = re.findall(r"error id `([0-9a-f]{8})`", note.content)
        [record] = [r for r in caplog.records if error_id in r.getMessage()]
        assert record.exc_info is not None


# --------------------------------------------------------------------------- limits, pings, errors


async def test_cooldown_gives_a_short_private_note(bot_settings: Settings, service: NewsService) -> None:
    bot = create_bot(bot_settings.with_overrides(cooldown_seconds=30.0), service=service)
    async with simcord.run(bot, settle_timeout=60) as env:
        guild, channel, alice = world(env)
        first = await alice.slash(channel, "ask", question=CROSETTO)
        assert first.response.embeds
        second = await alice.slash(channel, "ask", question=CROSETTO)
        assert second.ephemeral and second.response.content.startswith("Please wait ")
        assert not second.response.embeds

        await alice.send(channel, f"{env.bot.user.mention} {CROSETTO}")
        assert channel.last_message.content.startswith("Please wait ")
        assert channel.threads == []

        bob = guild.add_member(env.create_user("bob"))  # the cooldown is per user
        assert (await bob.slash(channel, "ask", question=CROSETTO)).response.embeds
        await env.advance_time(31)
        assert (await alice.slash(channel, "ask", question=CROSETTO)).response.embeds


async def test_mentions_in_questions_ping_nobody(simcord_env: simcord.Env) -> None:
    guild, channel, alice = world(simcord_env)
    role = guild.create_role("Everyone-ish", mentionable=True)
    bob = guild.add_member(simcord_env.create_user("bob"))
    question = f"@everyone @here {role.mention} {bob.mention} {CROSETTO}"

    await alice.send(channel, f"{simcord_env.bot.user.mention} {question}")
    result = await alice.slash(channel, "ask", question=question)
    await alice.click(result.response, label="Passages")
    await alice.slash(channel, "search", query=question)

    assert len(bot_messages(only_thread(channel), simcord_env)) == 1
    assert len(message_requests(simcord_env)) >= 4
    assert_pings_nobody(simcord_env)


async def test_the_ping_check_catches_a_bot_that_pings() -> None:
    control = commands.Bot(command_prefix="!", intents=discord.Intents.default() | discord.Intents(
        message_content=True))

    @control.listen("on_message")
    async def echo(message: discord.Message) -> None:
        if not message.author.bot:
            await message.channel.send(f"You said: {message.content}", allowed_mentions=discord.AllowedMentions.all())

    async with simcord.run(control) as env:
        guild, channel, alice = world(env)
        role = guild.create_role("Readers", mentionable=True)
        bob = guild.add_member(env.create_user("bob"))
        await alice.send(channel, f"@everyone {role.mention} {bob.mention}")
        problems = pings(env)
        assert any("everyone=True" in p for p in problems)
        assert any(str(role.id) in p and str(bob.id) in p for p in problems)
        assert any("allowed mentions" in p for p in problems)
        with pytest.raises(AssertionError):
            assert_pings_nobody(env)


async def test_a_failed_send_is_logged_with_an_error_id_and_the_bot_keeps_serving(
        simcord_env: simcord.Env, caplog: pytest.LogCaptureFixture) -> None:
    _, channel, alice = world(simcord_env)
    simcord_env.inject_error("POST", "/channels/*/messages", status=500, times=1)
    with caplog.at_level(logging.ERROR, logger="bot.discord"):
        await alice.send(channel, f"{simcord_env.bot.user.mention} {CROSETTO}")

    thread = only_thread(channel)
    [apology] = bot_messages(thread, simcord_env)
    [error_id] = re.findall(r"error id `([0-9a-f]{8})`", apology.content)
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert isinstance(record.exc_info[1], discord.HTTPException)
    assert record.exc_info[1].status == 500

    await alice.send(channel, f"{simcord_env.bot.user.mention} What did Crosetto say about diplomacy?")
    assert len(channel.threads) == 2
    assert all(bot_messages(t, simcord_env)[-1].embeds for t in channel.threads if t.id != thread.id)


async def test_a_failed_slash_follow_up_is_logged_and_apologised_for(
        simcord_env: simcord.Env, caplog: pytest.LogCaptureFixture) -> None:
    _, channel, alice = world(simcord_env)
    simcord_env.inject_error("POST", "/webhooks/*", status=500, times=1)
    with caplog.at_level(logging.ERROR, logger="bot.discord"):
        result = await alice.slash(channel, "ask", question=CROSETTO)
    [error_id] = re.findall(r"error id `([0-9a-f]{8})`", result.response.content)
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert_error(simcord_env, discord.HTTPException)

    again = await alice.slash(channel, "ask", question=CROSETTO)
    assert CROSETTO_ID in cited_ids(again.response.embeds[0])


async def test_a_huge_answer_is_sent_within_discord_limits(bot_settings: Settings, service: NewsService,
                                                           huge_answer: Answer) -> None:
    class HugeService(RecordingService):
        def ask(self, question: str, context: str | None = None, prefer=None):
            return huge_answer

    async with simcord.run(create_bot(bot_settings, service=HugeService(service)), settle_timeout=60) as env:
        _, channel, alice = world(env)
        result = await alice.slash(channel, "ask", question="anything")
        [embed] = result.response.embeds
        assert len(embed) <= 6000 and len(embed.fields) <= 25
        passages = await alice.click(result.response, label="Passages")
        pages = [passages.response, *passages.followups]
        assert len(pages) >= 2 and all(sum(len(e) for e in p.embeds) <= 6000 for p in pages)
        await alice.send(channel, f"{env.bot.user.mention} anything")
        assert bot_messages(only_thread(channel), env)[0].embeds


async def test_without_the_message_content_intent_mentions_still_work(bot_settings: Settings,
                                                                      service: NewsService) -> None:
    strict = create_bot(bot_settings, service=service)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with simcord.run(strict, approved_intents=discord.Intents.default()):
            pass

    bot = create_bot(bot_settings.with_overrides(channels=("news",)), service=service, message_content=False)
    async with simcord.run(bot, approved_intents=discord.Intents.default(), settle_timeout=60) as env:
        _, news, alice = world(env, "news")
        await alice.send(news, CROSETTO)  # a listened channel, but its text never arrives
        assert news.threads == []
        await alice.send(news, f"{env.bot.user.mention} {CROSETTO}")
        [answer] = bot_messages(only_thread(news), env)
        assert CROSETTO_ID in cited_ids(answer.embeds[0])
        bob = env.create_user("bob")
        await bob.send_dm(CROSETTO)
        assert bot_messages(bob.dm_channel, env)


async def test_a_missing_index_is_explained_not_apologised_for(tmp_path: Path, real_embedder,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "no-index",
                        feedback_db=tmp_path / "fb.sqlite3", cooldown_seconds=0.0)
    with caplog.at_level(logging.INFO, logger="bot.discord"):
        bot = create_bot(settings, service=NewsService(settings, real_embedder))
        async with simcord.run(bot, settle_timeout=60) as env:  # the bot still starts
            _, channel, alice = world(env)
            await alice.send(channel, f"{env.bot.user.mention} {CROSETTO}")
            [note] = bot_messages(only_thread(channel), env)
            assert note.content == "no index at …/no-index: run `newsbot index` to build it"
            result = await alice.slash(channel, "about")
            assert result.response.content == note.content
            assert_error(env, IndexMissingError)
            assert await alice.autocomplete(channel, "source", "id", "") == []
    assert "newsbot is not ready: no index at" in caplog.text
    assert "error id" not in caplog.text
