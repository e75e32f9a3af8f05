"""/follow on Discord, against a real feed on 127.0.0.1: a digest arrives after a poll brings a matching article,
nothing for one on another subject, nothing twice after a restart; /unfollow, /following, /whatsnew and /watch."""

from __future__ import annotations

import asyncio

import discord
import pytest
import simcord

from bot.discord_bot import digests
from bot.discord_bot.client import create_bot
from bot.discord_bot.limits import embed_parts_ok
from tests.bot.discord_bot.test_bot import assert_pings_nobody, bot_messages
from tests.watchdata import BRIDGE, FERRY, FERRY_UPDATED, STORM, item, watched_service
from tests.watchserver import LoopbackServer, Route, rss

pytestmark = [pytest.mark.fast, pytest.mark.simcord(settle_timeout=30)]

TOPIC = "the Sunday ferry service"


@pytest.fixture()
def server():
    with LoopbackServer() as running:
        yield running


@pytest.fixture()
def service(tmp_path, fake_embedder, server):
    return watched_service(tmp_path, fake_embedder, watch=(server.url("/feed.xml"),), watch_interval=600.0)


@pytest.fixture()
def simcord_bot(service):
    return create_bot(service.settings, service=service, autowatch=False)


def publish(server, *items) -> None:
    server.routes["/feed.xml"] = Route(rss("Westport Post", server.url("/"), list(items)),
                                       etag=f'"{len(server.requests)}"')


def ferry(server, text=FERRY):
    return item("ferry-1", "Sunday ferries to stop", server.url("/news/ferry"), "Tue, 06 Feb 2024 09:00:00 GMT", text)


def storm(server):
    return item("storm-1", "Storm cuts power", server.url("/news/storm"), "Wed, 07 Feb 2024 07:00:00 GMT", STORM)


def world(env: simcord.Env):
    guild = env.create_guild()
    channel = guild.create_text_channel("news")
    editors = guild.create_role("Editors", permissions=discord.Permissions(manage_channels=True, manage_guild=True))
    editor = guild.add_member(env.create_user("editor"), roles=[editors])
    reader = guild.add_member(env.create_user("reader"))
    return guild, channel, editor, reader


def digests_in(channel, env) -> list[discord.Embed]:
    return [e for m in bot_messages(channel, env) for e in m.embeds if (e.title or "").startswith("New on")]


async def poll(env: simcord.Env) -> None:
    await env.bot.get_cog("Following").poll_now(force=True)
    await env.settle()


async def test_a_digest_arrives_after_a_poll_brings_a_matching_article(simcord_env, server) -> None:
    _, channel, editor, _ = world(simcord_env)
    publish(server, storm(server))
    await poll(simcord_env)  # what was there before the channel followed anything is not news to it
    result = await editor.slash(channel, "follow", topic=TOPIC)
    assert not result.ephemeral and "Following “the Sunday ferry service” here" in result.response.content

    publish(server, storm(server), ferry(server))
    await poll(simcord_env)
    [embed] = digests_in(channel, simcord_env)
    assert embed.title == f"New on “{TOPIC}”" and embed_parts_ok(embed)
    quoted = " ".join(f.value for f in embed.fields)
    assert "Sunday crossings" in quoted or "Sunday" in quoted
    first = embed.fields[0].value
    quote = first.split("\n", 1)[0].removeprefix("> ")
    assert discord.utils.remove_markdown(quote).rstrip("…") in FERRY.replace("\n\n", " ")
    assert "Westport Post" in first and server.url("/news/ferry") in first and "2024-02-06" in first
    assert "Storm" not in str(embed.to_dict())
    assert_pings_nobody(simcord_env)


async def test_nothing_arrives_for_an_article_on_another_subject(simcord_env, server) -> None:
    _, channel, editor, _ = world(simcord_env)
    await editor.slash(channel, "follow", topic=TOPIC)
    publish(server, storm(server))
    await poll(simcord_env)
    assert digests_in(channel, simcord_env) == []
    publish(server, storm(server), item("bridge-1", "Rail bridge closed", server.url("/news/bridge"),
                                        "Fri, 09 Feb 2024 12:00:00 GMT", BRIDGE))
    await poll(simcord_env)
    assert digests_in(channel, simcord_env) == []


async def test_nothing_is_posted_twice_after_a_restart(service, server) -> None:
    async with simcord.run(create_bot(service.settings, service=service, autowatch=False),
                           settle_timeout=30) as env:
        _, channel, editor, _ = world(env)
        await editor.slash(channel, "follow", topic=TOPIC)
        publish(server, ferry(server))
        await poll(env)
        assert len(digests_in(channel, env)) == 1
        follows = env.bot.collaborators.follows.all()
        channel_id = channel.id
    assert follows[0].last_digest is not None

    # A new process: the same feedback database and watch state; the channel still follows the topic.
    async with simcord.run(create_bot(service.settings, service=service, autowatch=False),
                           settle_timeout=30) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        env.bot.collaborators.follows.unfollow(channel_id, None)
        for follow in follows:  # the restarted bot's channel takes over the stored subscription as it was
            env.bot.collaborators.follows.follow(follow.guild_id, channel.id, follow.topic, follow.last_seq)
        with env.bot.collaborators.follows._connect() as conn:
            conn.execute("UPDATE follows SET last_digest = ? WHERE channel_id = ?", (follows[0].last_digest,
                                                                                      channel.id))
        await poll(env)
        assert digests_in(channel, env) == []


async def test_a_digest_claimed_by_another_process_is_not_posted_again(simcord_env, server) -> None:
    _, channel, editor, _ = world(simcord_env)
    await editor.slash(channel, "follow", topic=TOPIC)
    publish(server, ferry(server))
    cog = simcord_env.bot.get_cog("Following")
    await cog.poll_now(force=True)
    await simcord_env.settle()
    assert len(digests_in(channel, simcord_env)) == 1
    assert await cog.post_digests() == 0  # the same round again: the stories were claimed
    assert len(digests_in(channel, simcord_env)) == 1


async def test_an_updated_article_waits_for_the_next_interval(simcord_env, server) -> None:
    _, channel, editor, _ = world(simcord_env)
    await editor.slash(channel, "follow", topic=TOPIC)
    publish(server, ferry(server))
    await poll(simcord_env)
    publish(server, ferry(server, FERRY_UPDATED))
    await poll(simcord_env)
    assert len(digests_in(channel, simcord_env)) == 1  # at most one digest per interval
    follows = simcord_env.bot.collaborators.follows
    with follows._connect() as conn:
        conn.execute("UPDATE follows SET last_digest = last_digest - 601")
    await poll(simcord_env)
    later = digests_in(channel, simcord_env)
    assert len(later) == 2 and "updated" in str(later[-1].to_dict())


async def test_follow_is_for_manage_channels_and_unfollow_and_following_list(simcord_env) -> None:
    guild, channel, editor, reader = world(simcord_env)
    assert "follow" not in reader.available_commands(channel)
    [command] = [c for c in simcord_env.bot.synced_commands if c.name == "follow"]
    guild.set_command_permissions(command, {reader: True})
    refused = await reader.slash(channel, "follow", topic=TOPIC)
    assert refused.ephemeral and refused.response.content == digests.NO_FOLLOW_PERMISSION

    await editor.slash(channel, "follow", topic=TOPIC)
    again = await editor.slash(channel, "follow", topic=TOPIC.upper())
    assert again.ephemeral and "already follows" in again.response.content
    listed = await reader.slash(channel, "following")
    assert listed.ephemeral and TOPIC in listed.response.content
    dropped = await editor.slash(channel, "unfollow", topic=TOPIC)
    assert "No longer following" in dropped.response.content
    assert "follows nothing" in (await reader.slash(channel, "following")).response.content


async def test_whatsnew_and_watch_status(simcord_env, server) -> None:
    _, channel, editor, reader = world(simcord_env)
    publish(server, ferry(server))
    await poll(simcord_env)
    result = await reader.slash(channel, "whatsnew", topic=TOPIC, since="2024-02-01")
    [embed] = result.response.embeds
    assert embed.title == f"What is new on “{TOPIC}” since 2024-02-01" and embed.fields
    assert "first reported" in embed.fields[0].name and embed_parts_ok(embed)
    bad = await reader.slash(channel, "whatsnew", since="last week")
    assert bad.ephemeral and "YYYY-MM-DD" in bad.response.content

    status = await editor.slash(channel, "watch")
    [shown] = status.response.embeds
    assert status.ephemeral and shown.fields[0].name == server.url("/feed.xml")
    assert "added 1" in shown.fields[0].value


async def test_serve_polls_the_watched_sources_beside_the_bot(service, server) -> None:
    publish(server, ferry(server))
    async with simcord.run(create_bot(service.settings, service=service), settle_timeout=30) as env:
        for _ in range(200):
            await env.settle()
            if env.bot.collaborators.watcher.state.source(server.url("/feed.xml")).last_success:
                break
            await asyncio.sleep(0.05)
        state = env.bot.collaborators.watcher.state.source(server.url("/feed.xml"))
        assert state.last_success and state.added == 1
        assert any(info.title == "Sunday ferries to stop" for info in service.sources())
