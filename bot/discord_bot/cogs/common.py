"""What every cog is given when it is loaded: the collaborators the client built once, passed in, never imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import discord

from bot.answer.questionlog import CHANNEL, DM, THREAD
from bot.answer.questionlog_writer import QuestionLog
from bot.answer.service import NewsService
from bot.discord_bot.feedback import FeedbackStore
from bot.discord_bot.gate import Gate
from bot.discord_bot.subscriptions import FollowStore
from bot.discord_bot.views import LiveViews
from bot.settings import Settings
from embeddings.watch.watcher import Watcher


@dataclass
class Collaborators:
    """The service that answers, the settings, the feedback store, the gate, the live views, the question log, the
    followed topics and the watcher of one bot.

    One object per bot, shared by its cogs: settings swapped here are what every cog reads next.
    """

    settings: Settings
    service: NewsService
    feedback: FeedbackStore
    gate: Gate
    live_views: LiveViews
    questions: QuestionLog
    # Followed topics (/follow), and the watcher of the configured sources, polled beside the bot unless `autowatch`
    # is off (tests drive the polls by hand).
    follows: FollowStore
    watcher: Watcher | None = None
    autowatch: bool = True


class HasCollaborators(Protocol):
    """A bot that carries its collaborators (as the client does), so that an extension's setup can pass them on."""

    collaborators: Collaborators


def asked_in(channel: object, guild_id: int | None) -> str:
    """Return the question log's kind of the channel a question was asked in: a DM, a thread or a channel."""
    if guild_id is None:
        return DM
    return THREAD if isinstance(channel, discord.Thread) else CHANNEL
