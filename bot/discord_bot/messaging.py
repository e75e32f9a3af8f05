"""What the cogs and views share: the no-pings policy, the per-user cooldown and in-flight cap, error reporting."""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict

import discord

from bot.discord_bot import embeds
from embeddings.errors import NewsbotError

log = logging.getLogger("bot.discord")

# Passed on every send as well as set on the client: the bot never pings, whatever a question or an article says.
NO_PINGS = discord.AllowedMentions.none()

_MAX_TRACKED_USERS = 10_000


class Gate:
    """Per-user cooldown plus a cap on questions in flight; a full gate refuses at once rather than queueing."""

    def __init__(self, cooldown_seconds: float, max_in_flight: int) -> None:
        self.cooldown_seconds = max(0.0, cooldown_seconds)
        self.max_in_flight = max(1, max_in_flight)
        self.in_flight = 0
        self._last: OrderedDict[int, float] = OrderedDict()

    def retry_after(self, user_id: int) -> float:
        """Return how many seconds the user must still wait (0 when free to ask)."""
        if not self.cooldown_seconds or user_id not in self._last:
            return 0.0
        return max(0.0, self._last[user_id] + self.cooldown_seconds - time.monotonic())

    def admit(self, user_id: int) -> str | None:
        """Take a slot for the user and start their cooldown, or return the note that says why not."""
        wait = self.retry_after(user_id)
        if wait > 0:
            return embeds.cooldown_text(wait)
        if self.in_flight >= self.max_in_flight:
            return embeds.BUSY
        self.in_flight += 1
        if self.cooldown_seconds:
            self._last[user_id] = time.monotonic()
            self._last.move_to_end(user_id)
            while len(self._last) > _MAX_TRACKED_USERS:
                self._last.popitem(last=False)
        return None

    def release(self) -> None:
        """Give back a slot taken by admit()."""
        self.in_flight = max(0, self.in_flight - 1)


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
