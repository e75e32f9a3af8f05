"""newsbot's answering, CLI and Discord layers, built on `embeddings`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord.ext import commands

    from bot.settings import Settings


def create_bot(settings: Settings | None = None, **kwargs: object) -> commands.Bot:
    """Build the Discord bot; discord.py is imported only when a bot is made."""
    from bot.discord_bot.client import create_bot as _create_bot

    return _create_bot(settings, **kwargs)
