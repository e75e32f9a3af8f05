"""/gaps: what readers asked this week that the articles did not answer, grouped by subject (Manage Server)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.gaps import find_gaps
from bot.discord_bot import embeds
from bot.discord_bot.cogs.common import Collaborators, HasCollaborators
from bot.discord_bot.messaging import NO_PINGS, send_ephemeral
from embeddings.errors import NewsbotError

if TYPE_CHECKING:
    from bot.answer.gaps import Gaps

log = logging.getLogger("bot.discord")

DAYS = 7
GROUPS = 10


class Coverage(commands.Cog):
    """The question log, read back for the people who run the bot."""

    def __init__(self, bot: commands.Bot, parts: Collaborators) -> None:
        self.bot = bot
        self.parts = parts
        self._running = asyncio.Lock()

    @app_commands.command(name="gaps", description="This week's questions the articles did not answer, by subject "
                                                   "(Manage Server).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def gaps(self, interaction: discord.Interaction) -> None:
        """Show the largest groups of unanswered questions of the last week, only to the caller."""
        # Server admins can grant the command to anyone in Integrations settings, so check the permission here too.
        if not interaction.permissions.manage_guild:
            await send_ephemeral(interaction, embeds.NO_GAPS_PERMISSION)
            return
        if not self.parts.questions.enabled:
            await send_ephemeral(interaction, embeds.QUESTION_LOG_OFF)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        async with self._running:
            asked, declined, found = await asyncio.to_thread(self._gaps)
        await interaction.followup.send(embed=embeds.gaps_embed(asked, declined, found, DAYS), ephemeral=True,
                                        allowed_mentions=NO_PINGS)

    def _gaps(self) -> tuple[int, int, Gaps]:
        """Count the last week's questions and group the unanswered ones (in a worker thread: it embeds them)."""
        questions = self.parts.questions
        questions.flush(timeout=2.0)
        assert questions.store is not None
        try:
            rows = questions.store.read(datetime.now(UTC) - timedelta(days=DAYS))
        except (sqlite3.Error, OSError) as error:
            raise NewsbotError(f"cannot read the question log ({error})") from None
        service = self.parts.service
        declined = sum(not r.answered for r in rows)
        return len(rows), declined, find_gaps(rows, service.embedder, service.search, top=GROUPS)


async def setup(bot: commands.Bot) -> None:
    """Load the cog as an extension, with the collaborators the bot carries."""
    parts = cast("HasCollaborators", bot).collaborators
    await bot.add_cog(Coverage(bot, parts))
