"""Questions: mentions, DMs and NEWSBOT_CHANNELS messages answered in threads; follow-ups in the bot's threads, in
DMs and in replies to its answers read as conversations (read back from Discord after a restart); and /ask."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.conversation.state import ConversationStore
from bot.discord_bot import embeds, history, limits
from bot.discord_bot.cogs.common import Collaborators, HasCollaborators, asked_in
from bot.discord_bot.messaging import NO_PINGS, report_error, user_text
from bot.discord_bot.views import AnswerView

if TYPE_CHECKING:
    from bot.answer.conversation.state import Reply
    from bot.answer.types import Answer

log = logging.getLogger("bot.discord")

# Answer message id -> its conversation's key, so that a reply to an answer continues that conversation.
MAX_ANSWERS = 5000
LOCK_STRIPES = 64
_QUESTION_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class Questions(commands.Cog):
    """Answers questions wherever the bot is asked, always in a thread when it can start one; a thread the bot
    started, a DM, and a reply to one of its answers are conversations, whose follow-ups are read with them."""

    def __init__(self, bot: commands.Bot, parts: Collaborators) -> None:
        self.bot = bot
        self.parts = parts
        self.answers: OrderedDict[int, str] = OrderedDict()
        # This bot's conversations by thread, DM or message; after a restart they are read back from Discord.
        self.conversations = ConversationStore()
        # Two messages of one conversation answered at once would each add their turn to the same state: one waits.
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))

    # ------------------------------------------------------------------ conversations

    def remember_answer(self, message_id: int, key: str) -> None:
        """Remember which conversation an answer belongs to, forgetting the oldest beyond MAX_ANSWERS."""
        self.answers[message_id] = key
        self.answers.move_to_end(message_id)
        while len(self.answers) > MAX_ANSWERS:
            self.answers.popitem(last=False)

    def _own_thread(self, channel: object) -> bool:
        me = self.bot.user
        return isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id

    def _replied_answer(self, message: discord.Message) -> discord.Message | None:
        """The bot's answer a message replies to, if it does (and Discord sent it along)."""
        reference = message.reference
        resolved = reference.resolved if reference is not None else None
        me = self.bot.user
        if isinstance(resolved, discord.Message) and me is not None and history.is_answer(resolved, me.id):
            return resolved
        return None

    # ------------------------------------------------------------------ messages

    def _bot_role_ids(self, message: discord.Message) -> list[int]:
        me = message.guild.me if message.guild else None
        return [role.id for role in me.roles if role.is_bot_managed()] if isinstance(me, discord.Member) else []

    def _listened(self, channel: object) -> bool:
        wanted = {name.casefold() for name in self.parts.settings.channels}
        if not wanted or isinstance(channel, discord.Thread):
            # A thread is a conversation of its own: the bot's (always answered) or a member's (never taken over).
            return False
        return str(getattr(channel, "id", "")) in wanted or str(getattr(channel, "name", "")).casefold() in wanted

    def addressed(self, message: discord.Message) -> bool:
        """True when a message asks the bot: a DM, a mention, a reply to one of its answers, a message in a thread
        it started, or one in a listened channel. A thread a member started is never taken over."""
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
        reference = message.reference
        if reference is not None and reference.message_id in self.answers:
            return True  # a reply to an answer of this process, even when Discord did not send the answer along
        if self._replied_answer(message) is not None or self._own_thread(message.channel):
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
        """Check, answer and reply to one question asked in a message, as a turn of its conversation."""
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
            destination, key, earlier = await self._destination(message, cleaned.text)
            with contextlib.suppress(discord.HTTPException):
                await destination.typing()
            started = time.perf_counter()
            try:
                reply = await asyncio.to_thread(self._turn, key, question, earlier)
            except Exception as error:
                await self._say(message, destination, user_text(error, f"answering message {message.id}"))
                return
            latency = time.perf_counter() - started
        sent: discord.Message | None = None
        try:
            sent = await self._send_answer(message, destination, reply.answer, reply.reading.shown)
        except discord.HTTPException as error:
            text = embeds.error_id_text(report_error(error, f"sending the answer to message {message.id}"))
            await self._say(message, destination, text)
        where = asked_in(message.channel, message.guild.id if message.guild else None)
        self.parts.questions.record(reply.answer, channel=where, latency_s=latency, reading=reply.reading,
                                    user_id=message.author.id, message_id=sent.id if sent else None)
        if sent is not None:
            self.remember_answer(sent.id, key)

    def _turn(self, key: str, question: str, earlier: list[tuple[str, str]]) -> Reply:
        """Answer a turn of the conversation under `key`, first rebuilding it from what was read back, if needed."""
        service = self.parts.service
        with self._locks[hash(key) % LOCK_STRIPES]:
            conversation = self.conversations.get(key)
            if conversation is None and earlier:
                conversation = service.resume(earlier)
            reply = service.converse(question, conversation)
            self.conversations.put(key, reply.conversation)
        return reply

    async def _destination(self, message: discord.Message, question: str
                           ) -> tuple[discord.abc.Messageable, str, list[tuple[str, str]]]:
        """Return where to answer, the conversation's key, and, when this process does not know the conversation
        (a restart), its earlier turns read back from Discord."""
        channel = message.channel
        me_id = self.bot.user.id if self.bot.user else 0
        replied = self._replied_answer(message)
        earlier: list[tuple[str, str]] = []
        if replied is not None:
            known = self.answers.get(replied.id)
            if known is None:
                turn = history.turn_of(replied, me_id)
                earlier = [turn] if turn else []
        if isinstance(channel, discord.Thread):
            key = f"thread:{channel.id}"
            if key not in self.conversations and not earlier:
                earlier = await self._read_back(channel, me_id, message)
            return channel, key, earlier
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=limits.thread_name(question), auto_archive_duration=1440)
            except discord.HTTPException as error:
                log.warning("could not start a thread in channel %s (%s): answering in the channel", channel.id, error)
            else:
                return thread, f"thread:{thread.id}", self._carried(replied, earlier)
        key = f"dm:{channel.id}" if message.guild is None else f"message:{message.id}"
        if message.guild is None and key not in self.conversations:
            earlier = await self._read_back(channel, me_id, message)
        return channel, key, self._carried(replied, earlier)

    def _carried(self, replied: discord.Message | None, earlier: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The turns a reply to an answer carries into a new conversation: that answer's conversation's last ones."""
        if replied is None:
            return earlier
        known = self.answers.get(replied.id)
        conversation = self.conversations.get(known) if known else None
        if conversation is None:
            return earlier
        return [(t.reading.question, t.reading.shown) for t in conversation.turns]

    async def _read_back(self, channel: discord.abc.Messageable, bot_id: int, before: discord.Message
                         ) -> list[tuple[str, str]]:
        try:
            return await history.read_back(channel, bot_id, before)
        except discord.HTTPException as error:
            log.warning("could not read back the conversation in %s: %s", getattr(channel, "id", "?"), error)
            return []

    async def _send_answer(self, message: discord.Message, destination: discord.abc.Messageable, answer: Answer,
                           context: str | None) -> discord.Message:
        view = AnswerView(answer, self.parts.feedback, context=context)
        embed = embeds.answer_embed(answer)
        if destination is message.channel:
            sent = await message.reply(embed=embed, view=view, mention_author=False, allowed_mentions=NO_PINGS)
        else:
            sent = await destination.send(embed=embed, view=view, allowed_mentions=NO_PINGS)
        self.parts.live_views.keep(view)
        return sent

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
                            work: Callable[[str], Answer]) -> tuple[Answer, float] | None:
        """Validate, pass the gate, defer, then run the blocking work off the event loop; return the answer and the
        seconds it took."""
        # An over-long question is answered on its first NEWSBOT_MAX_QUESTION_CHARS characters, with a note.
        if not self.parts.service.clean(text).has_words:
            await interaction.response.send_message(embeds.NO_QUESTION, ephemeral=True, allowed_mentions=NO_PINGS)
            return None
        async with self.parts.gate.slot(interaction.user.id) as refusal:
            if refusal:
                await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
                return None
            await interaction.response.defer(thinking=True)
            started = time.perf_counter()
            answer = await asyncio.to_thread(work, text)
            return answer, time.perf_counter() - started

    @app_commands.command(name="timeline", description="What the articles said on a topic, oldest first, with quotes.")
    @app_commands.describe(topic="A topic, e.g. the budget talks")
    async def timeline(self, interaction: discord.Interaction, topic: str) -> None:
        """Show every distinct statement on a topic in date order: how a position changed over time."""
        result = await self._answer_slash(interaction, topic, self.parts.service.timeline)
        if result is not None:
            await interaction.followup.send(embed=embeds.timeline_embed(result[0]), allowed_mentions=NO_PINGS)

    @app_commands.command(name="ask", description="Ask a question about the news; the answer quotes the articles.")
    @app_commands.describe(question="Your question, e.g. What did the minister say about the budget?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Answer a question with cited quotes, plus Passages and feedback buttons."""
        result = await self._answer_slash(interaction, question, self.parts.service.ask)
        if result is None:
            return
        answer, latency = result
        view = AnswerView(answer, self.parts.feedback)
        sent: discord.Message | None = None
        try:
            sent = await interaction.followup.send(embed=embeds.answer_embed(answer), view=view,
                                                   allowed_mentions=NO_PINGS, wait=True)
        finally:
            self.parts.questions.record(answer, channel=asked_in(interaction.channel, interaction.guild_id),
                                        latency_s=latency, user_id=interaction.user.id,
                                        message_id=sent.id if sent else None)
        self.parts.live_views.keep(view)


async def setup(bot: commands.Bot) -> None:
    """Load the cog as an extension, with the collaborators the bot carries."""
    parts = cast("HasCollaborators", bot).collaborators
    await bot.add_cog(Questions(bot, parts))
