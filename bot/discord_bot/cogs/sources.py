"""The corpus commands: /search, /source (autocomplete, full text), /sources, /about and /reindex."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import embeds
from bot.discord_bot.cogs.common import Collaborators, HasCollaborators
from bot.discord_bot.messaging import NO_PINGS, send_ephemeral
from bot.discord_bot.views import SourceTextView
from embeddings.errors import NewsbotError

if TYPE_CHECKING:
    from embeddings.records import BuildReport, SourceInfo

log = logging.getLogger("bot.discord")

MAX_SEARCH_K = 10


class Sources(commands.Cog):
    """Thin commands over NewsService; all blocking work runs in a worker thread."""

    def __init__(self, bot: commands.Bot, parts: Collaborators) -> None:
        self.bot = bot
        self.parts = parts
        self._catalog: list[SourceInfo] | None = None
        self._catalog_of: object = None
        self._reindexing = asyncio.Lock()

    async def catalog(self) -> list[SourceInfo]:
        """Return every article, newest first, cached until the index changes (here or, shared, in another shard)."""
        index = await asyncio.to_thread(lambda: self.parts.service.index)
        if self._catalog is None or self._catalog_of is not index:
            self._catalog = await asyncio.to_thread(self.parts.service.sources)
            self._catalog_of = index
        return self._catalog

    # ------------------------------------------------------------------ /search

    @app_commands.command(name="search", description="Show the passages most relevant to a query, with scores.")
    @app_commands.describe(query="Words or a question to look for in the articles",
                           k="How many passages to show, 1 to 10 (default: the configured top_k)")
    async def search(self, interaction: discord.Interaction, query: str,
                     k: app_commands.Range[int, 1, MAX_SEARCH_K] | None = None) -> None:
        """Rank passages for a query."""
        cleaned = self.parts.service.clean(query)
        if not cleaned.has_words:
            await send_ephemeral(interaction, "Please give a query.")
            return
        async with self.parts.gate.slot(interaction.user.id) as refusal:
            if refusal:
                await send_ephemeral(interaction, refusal)
                return
            await interaction.response.defer(thinking=True)
            count = k or min(self.parts.settings.top_k, MAX_SEARCH_K)
            hits = await asyncio.to_thread(self.parts.service.search, query, count)
        # The service searches on the cleaned query; an over-long one was cut, and the reply says so.
        notice = " ".join(cleaned.notices) or None
        await interaction.followup.send(notice, embed=embeds.search_embed(cleaned.text, hits),
                                        allowed_mentions=NO_PINGS)

    # ------------------------------------------------------------------ /source

    @app_commands.command(name="source", description="Show one article: metadata, date, passages and its full text.")
    @app_commands.rename(source_id="id")
    @app_commands.describe(source_id="The article's source id: start typing an id or a title to choose")
    async def source(self, interaction: discord.Interaction, source_id: str) -> None:
        """Show an article by id, with a button for its full text."""
        await interaction.response.defer(thinking=True)
        view = await asyncio.to_thread(self.parts.service.source, source_id)
        buttons = SourceTextView(view)
        await interaction.followup.send(embed=embeds.source_embed(view), view=buttons, allowed_mentions=NO_PINGS,
                                        wait=True)
        self.parts.live_views.keep(buttons)

    @source.autocomplete("source_id")
    async def source_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        """Offer up to 25 articles whose id or title matches what was typed."""
        try:
            catalog = await self.catalog()
        except NewsbotError as error:
            log.warning("no choices for /source: %s", error)
            return []
        return [app_commands.Choice(name=name, value=value) for name, value in embeds.source_choices(catalog, current)]

    # ------------------------------------------------------------------ /sources and /about

    @app_commands.command(name="sources", description="List the articles the bot answers from, newest first.")
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the corpus with dates and ids."""
        await interaction.response.defer(thinking=True)
        self._catalog = await asyncio.to_thread(self.parts.service.sources)
        await interaction.followup.send(embed=embeds.sources_embed(self._catalog), allowed_mentions=NO_PINGS)

    @app_commands.command(name="about", description="Show the model, the number of passages and the corpus dates.")
    async def about(self, interaction: discord.Interaction) -> None:
        """Describe what the bot runs on."""
        await interaction.response.defer(thinking=True)
        about = await asyncio.to_thread(self.parts.service.about)
        await interaction.followup.send(embed=embeds.about_embed(about), allowed_mentions=NO_PINGS)

    # ------------------------------------------------------------------ /reindex

    @app_commands.command(name="reindex", description="Re-read the article files and update the index (Manage Server).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Bring the index in line with the seeds and report what changed."""
        # Server admins can grant the command to anyone in Integrations settings, so check the permission here too.
        if not interaction.permissions.manage_guild:
            await send_ephemeral(interaction, embeds.NO_PERMISSION)
            return
        if self._reindexing.locked():
            await send_ephemeral(interaction, embeds.REINDEX_RUNNING)
            return
        async with self._reindexing:
            await interaction.response.defer(thinking=True, ephemeral=True)
            log.info("reindex requested by user %s in guild %s", interaction.user.id, interaction.guild_id)
            report = await asyncio.to_thread(self._reindex)
            self._catalog = None
        log.info("reindex done: added %d, changed %d, removed %d", len(report.added), len(report.changed),
                 len(report.removed))
        await interaction.followup.send(embeds.reindex_text(report), ephemeral=True, allowed_mentions=NO_PINGS)

    def _reindex(self) -> BuildReport:
        report = self.parts.service.reindex()
        # Load the new index now so that the next question doesn't pay for it.
        self.parts.service.warm_up()
        return report


async def setup(bot: commands.Bot) -> None:
    """Load the cog as an extension, with the collaborators the bot carries."""
    parts = cast("HasCollaborators", bot).collaborators
    await bot.add_cog(Sources(bot, parts))
