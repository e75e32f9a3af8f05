"""Following stories: /follow, /unfollow, /following (Manage Channels to change), /whatsnew, /watch (Manage Server),
and the loop that polls the watched sources beside the bot and posts each followed topic's digest after a poll."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.whatsnew import digest, whats_new
from bot.discord_bot import digests
from bot.discord_bot.cogs.common import Collaborators, HasCollaborators
from bot.discord_bot.limits import md, one_line, shorten
from bot.discord_bot.messaging import NO_PINGS, send_ephemeral
from bot.discord_bot.subscriptions import MAX_PER_CHANNEL
from embeddings.watch.state import SourceState, WatchState
from embeddings.watch.stories import NEW, UPDATED

if TYPE_CHECKING:
    from embeddings.watch.watcher import PollReport

log = logging.getLogger("bot.discord")

WHATSNEW_DAYS = 7


class Following(commands.Cog):
    """Followed topics and their digests; the watcher's polls run in a worker thread, never on the event loop."""

    def __init__(self, bot: commands.Bot, parts: Collaborators) -> None:
        self.bot = bot
        self.parts = parts
        self.log_state = WatchState(parts.settings.watch_state)
        self._round = asyncio.Lock()
        self._task: asyncio.Task | None = None

    async def cog_load(self) -> None:
        """Start polling beside the bot when sources are watched here (not when the bot is driven by hand)."""
        if self.parts.watcher is not None and self.parts.autowatch:
            self._task = asyncio.create_task(self._watch_loop())

    async def cog_unload(self) -> None:
        """Stop the polling loop."""
        if self._task is not None:
            self._task.cancel()

    async def _watch_loop(self) -> None:
        watcher = self.parts.watcher
        assert watcher is not None
        await self.bot.wait_until_ready()
        while True:
            try:
                await self.poll_now()
            except Exception:  # the loop outlives any one round's failure: it is logged, the bot keeps answering
                log.exception("watch: a poll round failed")
            await asyncio.sleep(max(1.0, min(watcher.next_due() - time.time(), watcher.config.interval)))

    async def poll_now(self, force: bool = False) -> PollReport | None:
        """Poll the due sources (all with `force`), then post the digests the poll brought."""
        async with self._round:
            report = None
            if self.parts.watcher is not None:
                report = await asyncio.to_thread(self.parts.watcher.poll, force)
            await self.post_digests()
            return report

    async def post_digests(self) -> int:
        """Post each followed topic's digest of the stories indexed since its last one (at most one per interval);
        return how many went out."""
        follows = await asyncio.to_thread(self.parts.follows.all)
        if not follows:
            return 0
        start = min(f.last_seq for f in follows)
        log_entries = await asyncio.to_thread(self.log_state.indexed_since, start)
        posted = 0
        for follow in follows:
            channel = self.bot.get_channel(follow.channel_id)
            if channel is None or not hasattr(channel, "send"):
                continue  # another shard's channel, or one that is gone
            entries = [e for e in log_entries if e.seq > follow.last_seq]
            if not entries:
                continue
            top = max(e.seq for e in entries)
            stories = list(dict.fromkeys(e.story for e in entries if e.kind in (NEW, UPDATED)))
            if follow.last_digest and time.time() - follow.last_digest < self.parts.settings.watch_interval:
                continue  # at most one digest per interval: the stories wait for the next one
            found = await asyncio.to_thread(digest, self.parts.service, follow.topic, stories) if stories else None
            if found is None:
                await asyncio.to_thread(self.parts.follows.claim, follow, top, None)
                continue
            if not await asyncio.to_thread(self.parts.follows.claim, follow, top, time.time()):
                continue  # another process or an earlier run sent it
            try:
                await channel.send(embed=digests.digest_embed(follow.topic, found), allowed_mentions=NO_PINGS)
                posted += 1
            except discord.HTTPException as error:
                await asyncio.to_thread(self.parts.follows.release, follow, top)
                log.warning("could not post the digest of %r to channel %s: %s", follow.topic, follow.channel_id,
                            " ".join(str(error).split())[:200])
        return posted

    # ------------------------------------------------------------------ /follow, /unfollow, /following

    @app_commands.command(name="follow", description="Post new statements on a topic here after each poll of the "
                                                     "watched sources (Manage Channels).")
    @app_commands.describe(topic="What to follow, as you would ask about it: a story, a person, a place")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def follow(self, interaction: discord.Interaction, topic: str) -> None:
        """Follow a topic in this channel or thread."""
        if not interaction.permissions.manage_channels:
            await send_ephemeral(interaction, digests.NO_FOLLOW_PERMISSION)
            return
        cleaned = self.parts.service.clean(topic[: digests.MAX_TOPIC])
        if not cleaned.has_words:
            await send_ephemeral(interaction, "Please give a topic to follow.")
            return
        start = await asyncio.to_thread(self.log_state.last_seq)
        added = await asyncio.to_thread(self.parts.follows.follow, interaction.guild_id, interaction.channel_id,
                                        cleaned.text, start)
        if added is None:
            await send_ephemeral(interaction, f"This channel follows {MAX_PER_CHANNEL} topics already: /unfollow one "
                                              "first.")
            return
        shown = md(one_line(cleaned.text))
        if not added:
            await send_ephemeral(interaction, f"This channel already follows “{shown}”.")
            return
        minutes = self.parts.settings.watch_interval / 60
        text = (f"Following “{shown}” here: new statements on it from newly indexed articles will be posted after "
                f"each poll, at most one digest every {minutes:g} min.")
        if self.parts.watcher is None:
            text += f"\n{digests.NOT_WATCHING}"
        await interaction.response.send_message(text, allowed_mentions=NO_PINGS)

    @app_commands.command(name="unfollow", description="Stop posting a followed topic here (Manage Channels).")
    @app_commands.describe(topic="The followed topic (leave empty to stop every one of this channel)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def unfollow(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        """Stop following one topic, or all of this channel's."""
        if not interaction.permissions.manage_channels:
            await send_ephemeral(interaction, digests.NO_FOLLOW_PERMISSION)
            return
        wanted = self.parts.service.clean(topic).text if topic else None
        dropped = await asyncio.to_thread(self.parts.follows.unfollow, interaction.channel_id, wanted)
        if not dropped:
            await send_ephemeral(interaction, "This channel does not follow that." if topic else
                                 "This channel follows nothing.")
            return
        names = ", ".join(f"“{md(one_line(t))}”" for t in dropped)
        await interaction.response.send_message(f"No longer following {names} here.", allowed_mentions=NO_PINGS)

    @unfollow.autocomplete("topic")
    async def unfollow_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        """Offer this channel's followed topics."""
        follows = await asyncio.to_thread(self.parts.follows.of_channel, interaction.channel_id or 0)
        return [app_commands.Choice(name=f.topic[:100], value=f.topic[:100]) for f in follows
                if current.lower() in f.topic.lower()][:25]

    @app_commands.command(name="following", description="The topics this channel follows.")
    async def following(self, interaction: discord.Interaction) -> None:
        """List this channel's followed topics."""
        follows = await asyncio.to_thread(self.parts.follows.of_channel, interaction.channel_id or 0)
        if not follows:
            await send_ephemeral(interaction, "This channel follows nothing: /follow TOPIC starts.")
            return
        lines = [f"• “{md(one_line(f.topic))}” since <t:{int(f.created_at)}:d>" +
                 (f", last digest <t:{int(f.last_digest)}:R>" if f.last_digest else "") for f in follows]
        await send_ephemeral(interaction, shorten("\n".join(lines), 2000))

    # ------------------------------------------------------------------ /whatsnew and /watch

    @app_commands.command(name="whatsnew", description="Statements first reported since a day, newest first, with "
                                                       "what they change.")
    @app_commands.describe(topic="A topic (leave empty for the period's newest articles)",
                           since=f"The first day, YYYY-MM-DD (default: {WHATSNEW_DAYS} days ago)")
    async def whatsnew(self, interaction: discord.Interaction, topic: str | None = None,
                       since: str | None = None) -> None:
        """Show what is new since a day."""
        try:
            day = date.fromisoformat(since.strip()) if since else None
        except ValueError:
            await send_ephemeral(interaction, "Give the day as YYYY-MM-DD, for example 2024-03-01.")
            return
        day = day or (datetime.now(UTC) - timedelta(days=WHATSNEW_DAYS)).date()
        async with self.parts.gate.slot(interaction.user.id) as refusal:
            if refusal:
                await send_ephemeral(interaction, refusal)
                return
            await interaction.response.defer(thinking=True)
            found = await asyncio.to_thread(whats_new, self.parts.service, day.isoformat(), topic)
        await interaction.followup.send(embed=digests.whatsnew_embed(found), allowed_mentions=NO_PINGS)

    @app_commands.command(name="watch", description="The watched sources: last success, next poll, articles "
                                                    "added, errors (Manage Server).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def watch(self, interaction: discord.Interaction) -> None:
        """Show the watched sources' status, only to the caller."""
        if not interaction.permissions.manage_guild:
            await send_ephemeral(interaction, digests.NO_STATUS_PERMISSION)
            return
        watcher = self.parts.watcher
        states: list[SourceState] = await asyncio.to_thread(watcher.status) if watcher is not None else []
        await send_ephemeral(interaction, embeds=[digests.status_embed(states, time.time())])


async def setup(bot: commands.Bot) -> None:
    """Load the cog as an extension, with the collaborators the bot carries."""
    parts = cast("HasCollaborators", bot).collaborators
    await bot.add_cog(Following(bot, parts))
