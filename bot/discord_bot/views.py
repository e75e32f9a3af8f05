"""Buttons: "Passages" and 👍/👎 under an answer, "Full text" under a source."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_bot import embeds
from bot.discord_bot.messaging import report_error, send_ephemeral, send_pages, user_text

if TYPE_CHECKING:
    from bot.answer.types import Answer, SourceView
    from bot.discord_bot.feedback import FeedbackStore

log = logging.getLogger("bot.discord")

MAX_LIVE_VIEWS = 1000


class LiveViews:
    """Keeps at most `limit` views listening; the oldest stop first, so memory stays bounded without timeouts."""

    def __init__(self, limit: int = MAX_LIVE_VIEWS) -> None:
        self.limit = limit
        self._views: OrderedDict[int, discord.ui.View] = OrderedDict()

    def keep(self, view: discord.ui.View) -> None:
        """Track a view that was just sent, stopping the oldest beyond the limit."""
        self._views[id(view)] = view
        while len(self._views) > self.limit:
            _, oldest = self._views.popitem(last=False)
            oldest.stop()

    def __len__(self) -> int:
        return len(self._views)


class NewsView(discord.ui.View):
    """A view whose callback errors reach the user as a short note and the log with an error id."""

    def __init__(self) -> None:
        # No timeout: LiveViews bounds how many stay alive instead, so buttons keep working for a long time.
        super().__init__(timeout=None)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        """Tell the user briefly; log unexpected errors with an error id."""
        text = user_text(error, f"handling the {getattr(item, 'label', None) or getattr(item, 'emoji', '')} button")
        try:
            await send_ephemeral(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user about a button error", exc_info=True)


class AnswerView(NewsView):
    """Under an answer: the retrieved passages, and feedback votes stored with a hashed user id."""

    def __init__(self, answer: Answer, feedback: FeedbackStore, *, context: str | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.feedback = feedback
        self.context = context
        if not answer.leads:
            self.passages.disabled = True

    @discord.ui.button(label="Passages", style=discord.ButtonStyle.secondary, custom_id="newsbot:passages")
    async def passages(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        """Show the full retrieved passages to the clicking user only."""
        await send_pages(interaction, embeds.passages_pages(self.answer.leads))

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id="newsbot:vote:up")
    async def upvote(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        """Record that the answer helped."""
        await self._vote(interaction, 1)

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id="newsbot:vote:down")
    async def downvote(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        """Record that the answer did not help."""
        await self._vote(interaction, -1)

    async def _vote(self, interaction: discord.Interaction, vote: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        message_id = interaction.message.id if interaction.message else None
        try:
            await asyncio.to_thread(
                self.feedback.record, question=self.answer.question, source_ids=embeds.answer_source_ids(self.answer),
                user_id=interaction.user.id, vote=vote, message_id=message_id, context=self.context,
            )
        except Exception as error:  # feedback is best effort: never let it break the conversation
            await send_ephemeral(interaction, embeds.feedback_failed_text(report_error(error, "saving feedback")))
            return
        await send_ephemeral(interaction, embeds.FEEDBACK_THANKS[vote])


class SourceTextView(NewsView):
    """Under /source: a button that shows the cleaned article text to the clicking user only."""

    def __init__(self, source: SourceView) -> None:
        super().__init__()
        self.source = source

    @discord.ui.button(label="Full text", style=discord.ButtonStyle.secondary, custom_id="newsbot:fulltext")
    async def full_text(self, interaction: discord.Interaction, _button: discord.ui.Button[SourceTextView]) -> None:
        """Send the article's cleaned text, split over as many private messages as it needs."""
        await send_pages(interaction, [[embed] for embed in embeds.full_text_embeds(self.source)])
