"""The Discord side of the question log: every answer logged by where it was asked, users only as a keyed hash, and
/gaps (Manage Server) showing the week's unanswered questions by subject in an embed within Discord's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import discord
import pytest
import simcord

from bot.answer.gaps import Gap, Gaps, Passage
from bot.answer.questionlog import CHANNEL, DM, THREAD, LoggedQuestion, timestamp
from bot.answer.questionlog_writer import QuestionLog
from bot.discord_bot import embeds
from bot.discord_bot.client import create_bot
from bot.discord_bot.limits import embed_parts_ok
from tests.questionlogs import BRIDGE, FOOTBALL, MEALS, known_log, write_log

pytestmark = [pytest.mark.fast, pytest.mark.simcord(settle_timeout=30)]

QUESTION = "What did Crosetto say about troops?"


@pytest.fixture()
def bot_settings(fake_service, tmp_path):
    """The fast service's settings with a private feedback database (and so a private question log)."""
    return fake_service.settings.with_overrides(feedback_db=tmp_path / "feedback.sqlite3")


@pytest.fixture()
def simcord_bot(bot_settings, fake_service):
    return create_bot(bot_settings, service=fake_service)


def world(env: simcord.Env):
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(env.create_user("alice"))
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user("admin"), roles=[admins])
    return guild, channel, alice, admin


def logged(env: simcord.Env) -> list[LoggedQuestion]:
    questions: QuestionLog = env.bot.questions
    assert questions.flush()
    return questions.store.read()


async def test_answers_are_logged_by_where_they_were_asked(simcord_env: simcord.Env) -> None:
    _, channel, alice, _ = world(simcord_env)
    await alice.send(channel, f"{simcord_env.bot.user.mention} {QUESTION}")
    [thread] = channel.threads
    await alice.send(thread, "and why?")
    await alice.send_dm("What is the capital of Australia?")
    asked = await alice.slash(channel, "ask", question=QUESTION)
    await alice.click(asked.response, custom_id="newsbot:vote:down")

    rows = logged(simcord_env)
    assert [(r.channel, r.question) for r in rows] == [(CHANNEL, QUESTION), (THREAD, "and why?"),
                                                       (DM, "What is the capital of Australia?"), (CHANNEL, QUESTION)]
    mention, follow_up, dm, slash = rows
    assert mention.answered and mention.sources and mention.reading is None and mention.message_id
    assert follow_up.reading and follow_up.reading != "and why?"
    assert not dm.answered and dm.rule and dm.reason
    assert slash.message_id == asked.response.id and (slash.votes_down, slash.votes_up) == (1, 0)
    assert {r.user for r in rows} == {simcord_env.bot.questions.user(alice.id)}
    assert all(r.latency_ms > 0 for r in rows)


async def test_no_user_id_is_stored_in_clear(simcord_env: simcord.Env, bot_settings) -> None:
    guild, channel, alice, _ = world(simcord_env)
    bob = guild.add_member(simcord_env.create_user("bob"))
    asked = await alice.slash(channel, "ask", question=QUESTION)
    await bob.click(asked.response, custom_id="newsbot:vote:up")
    await bob.send_dm(QUESTION)
    assert len(logged(simcord_env)) == 2

    stored = b"".join(p.read_bytes() for p in bot_settings.feedback_db.parent.glob("feedback.sqlite3*")
                      if p != bot_settings.question_log_key_file)
    for user in (alice, bob):
        assert str(user.id).encode() not in stored
        assert user.id.to_bytes(8, "big") not in stored and user.id.to_bytes(8, "little") not in stored
    assert simcord_env.bot.questions.key not in stored  # the key lives beside the database, not in it


async def test_gaps_is_hidden_from_and_refused_to_plain_members(simcord_env: simcord.Env) -> None:
    guild, channel, alice, _ = world(simcord_env)
    assert "gaps" not in alice.available_commands(channel)
    with pytest.raises(simcord.SetupError):
        await alice.slash(channel, "gaps")
    [command] = [c for c in simcord_env.bot.synced_commands if c.name == "gaps"]
    guild.set_command_permissions(command, {alice: True})
    result = await alice.slash(channel, "gaps")
    assert result.ephemeral and result.response.content == embeds.NO_GAPS_PERMISSION


async def test_gaps_shows_the_weeks_unanswered_questions_by_subject(simcord_env: simcord.Env, bot_settings) -> None:
    _, channel, _, admin = world(simcord_env)
    old = datetime.now(UTC) - timedelta(days=10)
    write_log(bot_settings.feedback_db, [
        *known_log(datetime.now(UTC) - timedelta(days=3)),
        *(LoggedQuestion(timestamp(old), THREAD, "Why was the old pier closed?", False, rule="not_answered",
                         reason="r") for _ in range(6))])
    result = await admin.slash(channel, "gaps")
    assert result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "Unanswered questions, last 7 days"
    assert embed.description.startswith("8 of 12 questions were not answered: 3 subjects")
    assert [f.name for f in embed.fields] == [f"4× {limits_md(BRIDGE)}", f"3× {limits_md(FOOTBALL)}",
                                              f"1× {limits_md(MEALS)}"]
    bridge = embed.fields[0].value
    assert "closest: " in bridge and "declined: never_mentioned 3, not_answered 1" in bridge
    assert embed_parts_ok(embed) and "pier" not in str(embed.to_dict())


def limits_md(text: str) -> str:
    return discord.utils.escape_markdown(text)


async def test_gaps_says_so_when_the_log_is_off(bot_settings, fake_service) -> None:
    bot = create_bot(bot_settings, service=fake_service, questions=QuestionLog(None))
    async with simcord.run(bot, settle_timeout=30) as env:
        _, channel, _, admin = world(env)
        result = await admin.slash(channel, "gaps")
        assert result.ephemeral and result.response.content == embeds.QUESTION_LOG_OFF


async def test_gaps_of_a_quiet_week(simcord_env: simcord.Env) -> None:
    _, channel, _, admin = world(simcord_env)
    result = await admin.slash(channel, "gaps")
    assert result.response.embeds[0].description == "No questions were asked."


def test_the_gaps_embed_fits_discord_and_links_nothing() -> None:
    hostile = "**Why** [click](https://evil.example/x) <@123> @everyone http://x.example/" + "word " * 400
    groups = tuple(Gap(size=100 - n, examples=(hostile,) * 3, last_asked="2025-03-01T09:00:00+00:00",
                       rules=(("not_answered", 60), ("never_mentioned", 40)),
                       passages=(Passage("004_a", hostile, "2025-02-01", "text", 0.5),)) for n in range(30))
    embed = embeds.gaps_embed(5000, 3000, Gaps(groups, 40, 17), 7)
    assert embed_parts_ok(embed) and len(embed.fields) <= 10
    texts = [embed.title, embed.description, embed.footer.text, *(f.name for f in embed.fields),
             *(f.value for f in embed.fields)]
    assert not any(re.search(r"https?://", t) or re.search(r"(?<!\\)\[[^\]]*\]\(", t) for t in texts)
    assert embed.footer.text == "and 30 more subjects; 17 questions asked too rarely to group"
    answered = embeds.gaps_embed(12, 0, Gaps(), 7)
    assert answered.description == "All 12 questions were answered."
