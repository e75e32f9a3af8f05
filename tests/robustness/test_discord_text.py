"""Article text on Discord (issue 25): a quote, a title or a passage never becomes a link, a mention, a heading, a
list or formatting, whatever markdown it holds; links come only from an article's own URL field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import simcord

from bot.answer.service import NewsService
from bot.discord_bot.client import create_bot
from bot.discord_bot.limits import md, split_text, unescape
from bot.settings import Settings
from tests.bot.discord_bot.test_bot import message_requests, world
from tests.robustness.conftest import tiny_seeds

pytestmark = [pytest.mark.fast, pytest.mark.simcord(settle_timeout=60)]

HOSTILE = (
    "Harbour notice [1] and [the timetable](http://127.0.0.1:9/evil) **update**\n2024-03-01\n\n"
    "The harbour master said notice [1] and [the timetable](http://127.0.0.1:9/evil) would change, see "
    "http://127.0.0.1:9/evil now.\n"
    "# The harbour repairs will finish in May, the **harbour master** said on Tuesday.\n"
    "-# Residents welcomed the ||harbour|| news from <@123456789> and @everyone at <t:1700000000:R> on Monday.\n"
    "> The harbour repairs cost __two million__ and `nothing else`, engineers said on Monday.\n"
    "- The harbour repairs were confirmed by ~~nobody~~ the council on Monday, <#42> said.\n"
    "1. The harbour repairs [were](<https://example.com/x>) praised by residents on Wednesday.\n"
)
ARTICLE_MARKUP = ["**update**", "**harbour master**", "||harbour||", "__two million__", "`nothing else`",
                  "~~nobody~~"]


def live(text: str) -> str:
    """Return text as Discord's parser sees it: each backslash-escaped punctuation character is a placeholder."""
    return re.sub(r"\\[!-/:-@\[-`{-~]", "\x00", text)


def problems(text: str) -> list[str]:
    """What in a piece of message or embed text Discord would render as a link, mention, heading, list or markup."""
    seen = live(text)
    found = [f"masked link: {m.group()}" for m in re.finditer(r"\[[^\]\n]*\]\(", seen)]
    found += [f"link: {m.group()}" for m in re.finditer(r"\w+://\S*", seen)]
    found += [f"mention: {m.group()}" for m in re.finditer(r"<[@#:t/a][^>\s]*>|@everyone|@here", seen)]
    found += [f"block: {line}" for line in seen.splitlines()
              if re.match(r"(?:> )?\s*(?:#{1,3} |-# |[-*+] |\d+\. )", line)]
    found += [f"markup: {m}" for m in ARTICLE_MARKUP if m in seen]
    return found


def texts(body: dict) -> list[str]:
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f.get(key) or "" for f in embed.get("fields") or [] for key in ("name", "value")]
    return [p for p in parts if p]


@pytest.fixture()
def simcord_bot(tmp_path: Path, fake_embedder):
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    (seeds / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3",
                        cooldown_seconds=0.0)
    service = NewsService(settings, fake_embedder)
    service.reindex()
    return create_bot(settings, service=service)


async def test_article_markdown_never_renders_on_discord(simcord_env: simcord.Env) -> None:
    env = simcord_env
    _, channel, alice = world(env)
    await alice.send(channel, f"{env.bot.user.mention} What did the harbour master say about the timetable?")
    result = await alice.slash(channel, "ask", question="What did the harbour master say about the harbour repairs?")
    await alice.click(result.response, label="Passages")
    await alice.slash(channel, "search", query="harbour repairs timetable")
    await alice.slash(channel, "timeline", topic="harbour repairs")
    shown = await alice.slash(channel, "source", id="harbour")
    await alice.click(shown.followups[-1] if shown.followups else shown.response, label="Full text")
    await alice.slash(channel, "sources")
    bodies = message_requests(env)
    everything = json.dumps(bodies, ensure_ascii=False)
    assert "timetable" in everything and "harbour master" in everything  # the article was shown
    found = [problem for body in bodies for text in texts(body) for problem in problems(text)]
    assert not found, "\n".join(found)
    assert not [e for body in bodies for e in body.get("embeds") or [] if e.get("url")]  # no article has a URL


def test_the_escapes_survive_splitting_and_show_the_text_as_written() -> None:
    text = md(HOSTILE)
    assert unescape(text) == HOSTILE  # shown, exactly the article (and read back so from a thread's history)
    for limit in range(20, 200, 7):  # a piece never ends with the backslash of an escape cut from its character
        for piece in split_text(text, limit):
            assert not problems(piece), (limit, piece)
