"""Load (issue 6): bursts of questions from many users through simcord, and a long run through the service.

Figures (loop lag, counts, RSS) are printed, run with `-s` to see them; the assertions are generous bounds only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections import Counter
from collections.abc import Iterator

import discord
import simcord

from bot.answer.service import NewsService
from bot.discord_bot import embeds, limits
from bot.discord_bot.client import create_bot
from bot.settings import Settings
from tests.bot.discord_bot.test_bot import assert_pings_nobody
from tests.robustness.conftest import rss_mb

USERS = 20
PER_USER = 10
TOPICS = ["troops", "diplomacy", "the counteroffensive", "peace talks", "Finimondo", "weapons", "Crimea",
          "the economy", "NATO", "negotiations"]


def question(user: int, n: int) -> str:
    return f"What did Crosetto say about {TOPICS[(user + n) % len(TOPICS)]}? (asked by user {user}, #{n})"


class LoopLag:
    """A task that sleeps 10 ms in a loop and records how late it wakes: the event loop's responsiveness.

    What the test itself does to drive simcord is left out: emitting the events (`excluding`, synchronous), and
    settling or moving simcord's clock (`pause`/`resume`). What is measured is the bot at work: discord.py, the
    cogs, simcord's in-process HTTP and the answers in worker threads.
    """

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.lags: list[float] = []
        self._paused_at: float | None = None
        self._excluded = 0.0
        self._task: asyncio.Task[None] | None = None

    def pause(self) -> None:
        self._paused_at = time.perf_counter()

    def resume(self) -> None:
        self._paused_at = None

    @contextlib.contextmanager
    def excluding(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._excluded += time.perf_counter() - started

    async def _run(self) -> None:
        while True:
            start, excluded, paused = time.perf_counter(), self._excluded, self._paused_at is not None
            await asyncio.sleep(self.period)
            end = time.perf_counter() if self._paused_at is None else min(self._paused_at, time.perf_counter())
            if not paused and end > start:
                self.lags.append(max(0.0, end - start - self.period - (self._excluded - excluded)))

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)

    def summary(self) -> str:
        ordered = sorted(self.lags) or [0.0]
        p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (f"loop lag over {len(self.lags)} samples: median {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                f"worst {self.worst * 1000:.1f} ms")

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


_REPLY_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def bot_replies(env: simcord.Env) -> int:
    """How many answers and notes the bot has posted so far (read from simcord's store: cheap, no settling)."""
    bot_id = env.backend.bot_user.id
    return sum(1 for messages in env.backend.messages.values() for stored in messages.values()
               if stored.author_id == bot_id and stored.type in (0, 19))


async def until_replies(env: simcord.Env, count: int, lag: LoopLag, timeout: float = 600.0) -> None:
    """Let the bot work in real time until it has posted `count` replies, then settle what is left.

    Waiting this way rather than in env.settle() keeps simcord's own polling out of the loop-lag figure: what is
    measured is the bot (discord.py, the cogs, the answers in worker threads) and simcord's in-process HTTP.
    """
    deadline = time.perf_counter() + timeout
    while bot_replies(env) < count:
        assert time.perf_counter() < deadline, f"only {bot_replies(env)} of {count} replies after {timeout}s"
        await asyncio.sleep(0.02)
    lag.pause()  # simcord's own bookkeeping, not the bot
    await env.settle()


def replies_by_question(env: simcord.Env, channel: simcord.ChannelHandle) -> dict[int, list[str]]:
    """For each question message: what the bot did about it ('answer' in its thread, or the note's text)."""
    bot_id = env.bot.user.id
    outcome: dict[int, list[str]] = {}
    for thread in channel.threads:
        for message in thread.history():
            if message.author.id == bot_id and message.embeds:
                outcome.setdefault(thread.id, []).append("answer")
    for message in channel.history():
        if message.author.id == bot_id and message.reference is not None and message.type in _REPLY_TYPES:
            outcome.setdefault(message.reference.message_id, []).append(message.content)
    return outcome


def kind(reply: str) -> str:
    if reply == "answer":
        return "answered"
    if reply == embeds.BUSY:
        return "busy"
    if reply.startswith("Please wait "):
        return "cooldown"
    return f"other: {reply[:80]}"


def crowd(env: simcord.Env):
    """A channel with USERS members, and the mention that addresses the bot."""
    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    users = [guild.add_member(env.create_user(f"user{u}")) for u in range(USERS)]
    return channel, users, env.bot.user.mention


async def test_a_burst_of_200_questions_from_20_users_each_user_hears_back_without_a_flood_of_notes(
        bot_settings: Settings, service: NewsService) -> None:
    """The production limits (5 s cooldown, 4 in flight): every user hears back, with one note per user per
    cooldown window, not one per message; nothing queues or is lost."""
    production = bot_settings.with_overrides(cooldown_seconds=5.0, max_in_flight=4)
    async with simcord.run(create_bot(production, service=service), settle_timeout=600) as env:
        channel, users, mention = crowd(env)
        asked: dict[int, int] = {}
        with LoopLag() as lag:
            await asyncio.sleep(0.02)
            started = time.perf_counter()
            # All 200 arrive before the bot runs any of them: messages created straight in simcord's backend,
            # which emits each MESSAGE_CREATE at once (an actor's send would wait for the bot after each).
            with lag.excluding():
                for n in range(PER_USER):
                    for u, user in enumerate(users):
                        message = env.backend.create_message(channel.id, user.id, f"{mention} {question(u, n)}")
                        asked[message.id] = u
            # The first 4 users fill the 4 slots, then hear once that they must wait; the other 16 once that the
            # bot is busy (no queue); every later message in the burst goes without a note.
            await until_replies(env, 4 + 4 + 16, lag)
            elapsed = time.perf_counter() - started

        outcome = replies_by_question(env, channel)
        counts = Counter(kind(r) for rs in outcome.values() for r in rs)
        print(f"\nburst: {len(asked)} questions in {elapsed:.2f}s: {dict(counts)}; {lag.summary()}")
        assert set(outcome) <= set(asked)
        assert all(len(rs) == 1 for rs in outcome.values()), "no question got two replies"
        heard = {u: sorted(kind(r) for message_id, rs in outcome.items() if asked[message_id] == u for r in rs)
                 for u in range(USERS)}
        assert heard == {u: ["answered", "cooldown"] if u < 4 else ["busy"] for u in range(USERS)}
        assert env.bot.gate.in_flight == 0
        # The loop's lag is printed, not asserted: a timing depends on the machine (make bench measures it).
        assert_pings_nobody(env)


async def test_200_questions_from_20_users_in_waves_are_all_answered_and_the_loop_stays_responsive(
        bot_settings: Settings, service: NewsService) -> None:
    """Twenty users ask at the same moment, ten times over: all 200 answered, 20 at a time, loop lag measured."""
    waves = bot_settings.with_overrides(cooldown_seconds=5.0, max_in_flight=USERS)
    async with simcord.run(create_bot(waves, service=service), settle_timeout=600) as env:
        channel, users, mention = crowd(env)
        asked: dict[int, str] = {}
        with LoopLag() as lag:
            started = time.perf_counter()
            for n in range(PER_USER):
                lag.resume()
                await asyncio.sleep(0.02)
                with lag.excluding():
                    for u, user in enumerate(users):
                        text = question(u, n)
                        asked[env.backend.create_message(channel.id, user.id, f"{mention} {text}").id] = text
                await until_replies(env, len(asked), lag)
                await env.advance_time(5.0)  # each user waits out the cooldown before the next wave
            elapsed = time.perf_counter() - started

        outcome = replies_by_question(env, channel)
        counts = Counter(kind(r) for rs in outcome.values() for r in rs)
        print(f"\nwaves: {len(asked)} questions in {elapsed:.2f}s ({elapsed / len(asked) * 1000:.0f} ms each): "
              f"{dict(counts)}; {lag.summary()}")
        assert counts == {"answered": 200}
        assert all(len(rs) == 1 for rs in outcome.values())
        titles = {thread.id: thread.history()[-1].embeds[0].title
                  for thread in channel.threads if thread.history() and thread.history()[-1].embeds}
        # Each answer went to its own question's thread, titled with that question.
        assert all(titles[message_id] == limits.shorten(text, 256) for message_id, text in asked.items())
        assert env.bot.gate.in_flight == 0
        # Answers run in worker threads: the loop only waits for the GIL between them. Generous on shared CI.
        # The loop's lag is printed, not asserted: a timing depends on the machine (make bench measures it).


def test_memory_levels_off_over_2000_questions(service: NewsService) -> None:
    """2,000 different questions in a row: RSS at 0, 1,000 and 2,000 is printed; growth after warm-up bounded.

    At the expected 10-20 ms a question this takes under a minute. NEWSBOT_SOAK_QUESTIONS changes the count;
    NEWSBOT_SOAK_SECONDS (default 45; 0 for no limit) stops early on a slow or shared machine, and the bound is
    then checked over the questions that ran. For the full figures anywhere:
    NEWSBOT_SOAK_SECONDS=0 .venv/bin/pytest -s tests/bot/test_robustness_load.py -k memory
    """
    total = int(os.environ.get("NEWSBOT_SOAK_QUESTIONS", "2000"))
    budget = float(os.environ.get("NEWSBOT_SOAK_SECONDS", "45")) or float("inf")
    for n in range(50):  # warm-up: caches, lazy imports, allocator pools
        service.ask(question(n, n))
    gc.collect()
    figures = {0: rss_mb()}
    started = time.perf_counter()
    done = 0
    for n in range(total):
        # Different users and topics: a cache keyed by question text would show up as growth.
        service.ask(f"{question(n % 97, n)} {n}")
        done = n + 1
        if done % 1000 == 0 or done == total:
            gc.collect()
            figures[done] = rss_mb()
        # The budget stops a long soak early, never before the 100 questions the bound is checked over: how long
        # they take depends on the machine and is printed, not asserted.
        if done >= 100 and time.perf_counter() - started > budget:
            break
    gc.collect()
    figures[done] = rss_mb()
    elapsed = time.perf_counter() - started
    print(f"\nsoak: {done} questions in {elapsed:.1f}s ({elapsed / max(done, 1) * 1000:.1f} ms each); RSS MB "
          + ", ".join(f"at {k}: {v:.1f}" for k, v in sorted(figures.items())))
    assert done >= min(total, 100)
    assert figures[done] - figures[0] < 50
