"""What the cogs and views share when they reply: the no-pings policy, private replies, error reporting."""

from __future__ import annotations

import logging
import secrets

import discord

from bot.discord_bot import embeds
from embeddings.errors import NewsbotError

log = logging.getLogger("bot.discord")

# Passed on every send as well as set on the client: the bot never pings, whatever a question or an article says.
NO_PINGS = discord.AllowedMentions.none()


def new_error_id() -> str:
    """Return a short random id that ties a user's apology to the logged traceback."""
    return secrets.token_hex(4)


def report_error(error: BaseException, where: str) -> str:
    """Log an unexpected error with its traceback and a fresh error id; return the id."""
    error_id = new_error_id()
    log.error("error %s while %s", error_id, where, exc_info=(type(error), error, error.__traceback__))
    return error_id


def user_text(error: BaseException, where: str) -> str:
    """Return what a user sees for an error: a newsbot error's own message, else an apology with a logged error id."""
    if isinstance(error, NewsbotError):
        log.info("newsbot error while %s: %s", where, error)
        return embeds.newsbot_error_text(error)
    return embeds.error_id_text(report_error(error, where))


async def send_ephemeral(interaction: discord.Interaction, content: str | None = None, *,
                         embeds: list[discord.Embed] | None = None) -> None:
    """Send a message only the user sees, as the response or, once responded, as a follow-up."""
    kwargs: dict[str, object] = {"ephemeral": True, "allowed_mentions": NO_PINGS}
    if content is not None:
        kwargs["content"] = content
    if embeds:
        kwargs["embeds"] = embeds
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)  # type: ignore[arg-type]
    else:
        await interaction.response.send_message(**kwargs)  # type: ignore[arg-type]


async def send_pages(interaction: discord.Interaction, pages: list[list[discord.Embed]]) -> None:
    """Send pages of embeds privately: the first as the response, the rest as follow-ups."""
    for page in pages:
        await send_ephemeral(interaction, embeds=page)
