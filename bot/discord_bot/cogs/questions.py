"""Questions: mentions, DMs and NEWSBOT_CHANNELS messages answered in threads, follow-ups, and /ask."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import embeds, limits
from bot.discord_bot.cogs.common import Collaborators, HasCollaborators
from bot.discord_bot.messaging import NO_PINGS, report_error, user_text
from bot.discord_bot.views import AnswerView

if TYPE_CHECKING:
    from bot.answer.types import Answer

log = logging.getLogger("bot.discord")

MAX_THREADS = 2000
_QUESTION_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class Questions(commands.Cog):
    """Answers questions wherever the bot is asked, always in a thread when it can start one."""

    def __init__(self, bot: commands.Bot, parts: Collaborators) -> None:
        self.bot = bot
        self.parts = parts
        # thread id -> the thread's first question, the context for follow-ups; oldest threads are forgotten first.
        self.threads: OrderedDict[int, str] = OrderedDict()

    # ------------------------------------------------------------------ thread memory

    def remember_thread(self, thread_id: int, question: str) -> None:
        """Remember a thread's first question, forgetting the oldest thread beyond MAX_THREADS."""
        self.threads[thread_id] = question
        self.threads.move_to_end(thread_id)
        while len(self.threads) > MAX_THREADS:
            self.threads.popitem(last=False)

    def thread_question(self, thread_id: int) -> str | None:
        """Return a known thread's first question."""
        question = self.threads.get(thread_id)
        if question is not None:
            self.threads.move_to_end(thread_id)
        return question

    # ------------------------------------------------------------------ messages

    def _bot_role_ids(self, message: discord.Message) -> list[int]:
        me = message.guild.me if message.guild else None
        return [role.id for role in me.roles if role.is_bot_managed()] if isinstance(me, discord.Member) else []

    def _listened(self, channel: object) -> bool:
        wanted = {name.casefold() for name in self.parts.settings.channels}
        if not wanted:
            return False
        candidates = [channel]
        if isinstance(channel, discord.Thread) and channel.parent is not None:
            candidates.append(channel.parent)
        return any(str(getattr(c, "id", "")) in wanted or str(getattr(c, "name", "")).casefold() in wanted
                   for c in candidates)

    def addressed(self, message: discord.Message) -> bool:
        """True when a message asks the bot: a DM, a mention, a follow-up in its thread, or a listened channel."""
        if message.guild is None:
            return True
        me = self.bot.user
        if me is not None and any(user.id == me.id for user in message.mentions):
            return True
        if set(self._bot_role_ids(message)) & {role.id for role in message.role_mentions}:
            return True
        # Without the message-content intent only mentions and DMs carry text, so nothing else can be a question.
        if not self.bot.intents.message_content:
            return False
        if isinstance(message.channel, discord.Thread) and message.channel.id in self.threads:
            return True
        return self._listened(message.channel)

    @commands.Cog.listener("on_message")
    async def on_question(self, message: discord.Message) -> None:
        """Answer a message that asks the bot something."""
        if message.author.bot or message.type not in _QUESTION_TYPES or not self.addressed(message):
            return
        bot_id = self.bot.user.id if self.bot.user else 0
        question = limits.question_from_message(message.content, bot_id, self._bot_role_ids(message))
        try:
            await self.answer_message(message, question)
        except Exception as error:  # the last line of defence: one failure must not stop the bot
            text = embeds.error_id_text(report_error(error, f"answering message {message.id}"))
            await self._say(message, message.channel, text)

    async def answer_message(self, message: discord.Message, question: str) -> None:
        """Check, answer and reply to one question asked in a message."""
        # An over-long question is answered on its first NEWSBOT_MAX_QUESTION_CHARS characters, with a note.
        cleaned = self.parts.service.clean(question)
        if not cleaned.has_words:
            await self._say(message, message.channel, embeds.NO_QUESTION)
            return
        async with self.parts.gate.slot(message.author.id) as refusal:
            if refusal:
                if self.parts.gate.tell(message.author.id):
                    await self._say(message, message.channel, refusal)
                return
            destination, context = await self._destination(message, cleaned.text)
            with contextlib.suppress(discord.HTTPException):
                await destination.typing()
            try:
                answer = await asyncio.to_thread(self.parts.service.ask, question, context)
            except Exception as error:
                await self._say(message, destination, user_text(error, f"answering message {message.id}"))
                return
        try:
            await self._send_answer(message, destination, answer, context)
        except discord.HTTPException as error:
            text = embeds.error_id_text(report_error(error, f"sending the answer to message {message.id}"))
            await self._say(message, destination, text)

    async def _destination(self, message: discord.Message, question: str) -> tuple[discord.abc.Messageable, str | None]:
        """Return where to answer and the context for the question: the thread's first question, if any."""
        channel = message.channel
        if isinstance(channel, discord.Thread):
            context = self.thread_question(channel.id)
            if context is None:
                self.remember_thread(channel.id, question)
            return channel, context
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=limits.thread_name(question), auto_archive_duration=1440)
            except discord.HTTPException as error:
                log.warning("could not start a thread in channel %s (%s): answering in the channel", channel.id, error)
            else:
                self.remember_thread(thread.id, question)
                return thread, None
        return channel, None

    async def _send_answer(self, message: discord.Message, destination: discord.abc.Messageable, answer: Answer,
                           context: str | None) -> None:
        view = AnswerView(answer, self.parts.feedback, context=context)
        embed = embeds.answer_embed(answer)
        if destination is message.channel:
            await message.reply(embed=embed, view=view, mention_author=False, allowed_mentions=NO_PINGS)
        else:
            await destination.send(embed=embed, view=view, allowed_mentions=NO_PINGS)
        self.parts.live_views.keep(view)

    async def _say(self, message: discord.Message, destination: discord.abc.Messageable, text: str) -> None:
        """Send a short note, as a reply when in the question's own channel; failures are only logged."""
        try:
            if destination is message.channel:
                await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS)
            else:
                await destination.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            log.warning("could not send a note to channel %s: %s", getattr(destination, "id", "?"), error)

    # ------------------------------------------------------------------ /ask and /timeline

    async def _answer_slash(self, interaction: discord.Interaction, text: str,
                            work: Callable[[str], Answer]) -> Answer | None:
        """Validate, pass the gate, defer, then run the blocking work off the event loop."""
        # An over-long question is answered on its first NEWSBOT_MAX_QUESTION_CHARS characters, with a note.
        if not self.parts.service.clean(text).has_words:
            await interaction.response.send_message(embeds.NO_QUESTION, ephemeral=True, allowed_mentions=NO_PINGS)
            return None
        async with self.parts.gate.slot(interaction.user.id) as refusal:
            if refusal:
                await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
                return None
            await interaction.response.defer(thinking=True)
            return await asyncio.to_thread(work, text)

    @app_commands.command(name="timeline", description="What the articles said on a topic, oldest first, with quotes.")
    @app_commands.describe(topic="A topic, e.g. the budget talks")
    async def timeline(self, interaction: discord.Interaction, topic: str) -> None:
        """Show every distinct statement on a topic in date order: how a position changed over time."""
        result = await self._answer_slash(interaction, topic, self.parts.service.timeline)
        if result is not None:
            await interaction.followup.send(embed=embeds.timeline_embed(result), allowed_mentions=NO_PINGS)

    @app_commands.command(name="ask", description="Ask a question about the news; the answer quotes the articles.")
    @app_commands.describe(question="Your question, e.g. What did the minister say about the budget?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Answer a question with cited quotes, plus Passages and feedback buttons."""
        answer = await self._answer_slash(interaction, question, self.parts.service.ask)
        if answer is None:
            return
        view = AnswerView(answer, self.parts.feedback)
        await interaction.followup.send(embed=embeds.answer_embed(answer), view=view, allowed_mentions=NO_PINGS,
                                        wait=True)
        self.parts.live_views.keep(view)


async def setup(bot: commands.Bot) -> None:
    """Load the cog as an extension, with the collaborators the bot carries."""
    parts = cast("HasCollaborators", bot).collaborators
    await bot.add_cog(Questions(bot, parts))
