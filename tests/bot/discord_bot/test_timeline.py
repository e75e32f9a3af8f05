"""/timeline on Discord: defer, then dated lines within Discord's limits."""

import dataclasses

import discord
import simcord

from bot.answer.types import Point
from bot.discord_bot.embeds import timeline_embed

TOPIC = "negotiations with Russia"


async def test_slash_timeline_defers_then_shows_dated_lines(simcord_env: simcord.Env) -> None:
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    result = await alice.slash(channel, "timeline", topic=TOPIC)
    requests = [(r.path, r.json) for r in simcord_env.http_requests]
    defer = next(i for i, (path, body) in enumerate(requests) if "/callback" in path and body == {"type": 5})
    follow = next(i for i, (path, _) in enumerate(requests) if path.startswith("/webhooks/"))
    assert defer < follow and not result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == f"Timeline: {TOPIC}"
    assert "**2024-01-10**" in embed.description and "**2025-10-29**" in embed.description
    assert embed.footer.text.startswith("as of ")
    assert len(embed) <= 6000


def test_timeline_embed_stays_within_limits(huge_answer):
    points = tuple(Point("A long statement. " * 100, (c.n,), "Crosetto", c.date) for c in huge_answer.citations)
    embed = timeline_embed(dataclasses.replace(huge_answer, points=points))
    assert isinstance(embed, discord.Embed) and len(embed) <= 6000
    assert len(embed.description) <= 4096 and all(len(f.value) <= 1024 for f in embed.fields)
