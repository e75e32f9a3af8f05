"""A conversation read back from Discord after a restart: the bot's own answers in a thread (their question and
how each was read, which the answer embeds carry), newest last, bounded in messages read and turns kept."""

from __future__ import annotations

import discord

from bot.answer.conversation.turn import READING_AS
from bot.discord_bot.embeds import NOTICE_FIELD
from bot.discord_bot.limits import unescape

# How far back a thread is read, and how many of the bot's answers in it make the conversation again.
HISTORY_MESSAGES = 50
HISTORY_TURNS = 6
ANSWER_BUTTON = "newsbot:passages"


def is_answer(message: discord.Message, bot_id: int) -> bool:
    """True for one of the bot's answers: its message, with an embed and the Passages button."""
    if message.author.id != bot_id or not message.embeds:
        return False
    return any(getattr(item, "custom_id", None) == ANSWER_BUTTON
               for row in message.components for item in getattr(row, "children", ()))


def turn_of(message: discord.Message, bot_id: int) -> tuple[str, str] | None:
    """Return (question, how it was read) from one of the bot's answers, or None for any other message."""
    if not is_answer(message, bot_id):
        return None
    embed = message.embeds[0]
    question = embed.title or ""
    shown = question
    for field in embed.fields:
        if field.name == NOTICE_FIELD:
            for line in (field.value or "").splitlines():
                line = unescape(line)
                if line.startswith(READING_AS):
                    shown = line[len(READING_AS):]
    return (question, shown) if question else None


async def read_back(channel: discord.abc.Messageable, bot_id: int, before: discord.abc.Snowflake | None = None
                    ) -> list[tuple[str, str]]:
    """Return the last HISTORY_TURNS answered turns of a channel before a message, oldest first."""
    turns: list[tuple[str, str]] = []
    async for message in channel.history(limit=HISTORY_MESSAGES, before=before):
        turn = turn_of(message, bot_id)
        if turn is not None:
            turns.append(turn)
            if len(turns) >= HISTORY_TURNS:
                break
    return turns[::-1]
