import dataclasses
import json

import discord
import simcord
from click.testing import CliRunner

from bot.answer.compose import Point
from bot.cli.app import cli
from bot.discord_bot.embeds import timeline_embed

TOPIC = "negotiations with Russia"


def test_a_timeline_lists_statements_oldest_first_with_verbatim_citations(service):
    result = service.timeline(TOPIC)
    assert result.answered and len(result.points) >= 3
    dates = [p.date for p in result.points]
    assert dates == sorted(dates)
    assert {"2024-01-10", "2025-10-29"} <= set(dates)
    for citation in result.citations:
        text = service.index.articles[citation.source_id].text
        assert text[citation.start : citation.end] == citation.quote
    assert result.as_of == dates[-1]


def test_timeline_cli_text_and_json(service, settings):
    runner = CliRunner()
    obj = {"settings": settings, "service": service}
    text = runner.invoke(cli, ["timeline", TOPIC], obj=obj).output
    assert text.startswith(f"Timeline: {TOPIC}") and "2024-01-10" in text and "As of" in text
    payload = json.loads(runner.invoke(cli, ["timeline", TOPIC, "--json"], obj=obj).output)
    assert [e["date"] for e in payload["timeline"]] == sorted(e["date"] for e in payload["timeline"])


def test_a_timeline_on_a_topic_the_articles_never_mention_says_so(service):
    result = service.timeline("Crosetto on Gaza")
    assert not result.answered and "Gaza" in result.answer


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
