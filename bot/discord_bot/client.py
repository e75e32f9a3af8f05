"""The Discord client: builds the bot around one NewsService and runs it with a token from the settings."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer.questionlog_writer import QuestionLog, open_question_log
from bot.answer.service import NewsService
from bot.answer.watching import make_watcher
from bot.discord_bot.cogs.common import Collaborators
from bot.discord_bot.feedback import FeedbackStore
from bot.discord_bot.gate import Gate
from bot.discord_bot.messaging import NO_PINGS, send_ephemeral, user_text
from bot.discord_bot.subscriptions import FollowStore
from bot.discord_bot.views import LiveViews
from bot.settings import Settings
from embeddings.errors import ConfigError, NewsbotError
from embeddings.watch.watcher import Watcher

log = logging.getLogger("bot.discord")

# Loaded by name in setup_hook, as discord.py's extensions are: each module has `async def setup(bot)`.
EXTENSIONS = ("bot.discord_bot.cogs.questions", "bot.discord_bot.cogs.sources", "bot.discord_bot.cogs.coverage",
              "bot.discord_bot.cogs.following")


class NewsTree(app_commands.CommandTree):
    """The command tree whose on_error turns every failure into a short reply."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Show newsbot errors as their message, refusals as such, and anything else as an apology with an error id."""
        original = getattr(error, "original", None) or error
        command = interaction.command.qualified_name if interaction.command else "an interaction"
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            log.warning("/%s is out of sync with Discord: %s", command, error)
            text = "This command has just changed: please try again in a minute."
        elif isinstance(original, NewsbotError) or not isinstance(error, app_commands.CheckFailure):
            text = user_text(original, f"running /{command}")
        elif isinstance(error, app_commands.MissingPermissions):
            text = f"You need the {', '.join(error.missing_permissions).replace('_', ' ')} permission for /{command}."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = f"/{command} only works in a server."
        else:
            text = f"You can't use /{command} here."
        try:
            await send_ephemeral(interaction, text)
        except discord.HTTPException:
            log.warning("could not report an error for /%s to the user", command, exc_info=True)


class NewsBot(commands.Bot):
    """newsbot on Discord: questions by mention, DM, listened channel or /ask, and the corpus commands."""

    def __init__(self, settings: Settings, service: NewsService, *, feedback: FeedbackStore | None = None,
                 questions: QuestionLog | None = None, message_content: bool = True, watcher: Watcher | None = None,
                 autowatch: bool = True) -> None:
        intents = discord.Intents.default()
        # Privileged: without it mentions and DMs still carry their text, but listened channels don't.
        intents.message_content = message_content
        # Several processes, one shard each, share one index when it is in PostgreSQL (docs/postgres.md).
        shards = {"shard_id": settings.shard_id, "shard_count": settings.shard_count} if settings.shard_count else {}
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_PINGS,
                         help_command=None, tree_cls=NewsTree, **shards)
        self.collaborators = Collaborators(settings, service, feedback or FeedbackStore(settings.feedback_db),
                                           Gate(settings.cooldown_seconds, settings.max_in_flight), LiveViews(),
                                           questions or open_question_log(settings), FollowStore(settings.feedback_db),
                                           watcher, autowatch)
        self.synced_commands: list[app_commands.AppCommand] = []

    @property
    def settings(self) -> Settings:
        """Return the settings every cog reads."""
        return self.collaborators.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.collaborators.settings = settings

    @property
    def service(self) -> NewsService:
        """Return the answering service every cog calls."""
        return self.collaborators.service

    @service.setter
    def service(self, service: NewsService) -> None:
        self.collaborators.service = service

    @property
    def feedback(self) -> FeedbackStore:
        """Return the feedback store the cogs and views record votes in."""
        return self.collaborators.feedback

    @property
    def questions(self) -> QuestionLog:
        """Return the question log the cogs record answers in."""
        return self.collaborators.questions

    @property
    def gate(self) -> Gate:
        """Return the per-user cooldown and in-flight cap."""
        return self.collaborators.gate

    @property
    def live_views(self) -> LiveViews:
        """Return the views still listening for clicks."""
        return self.collaborators.live_views

    async def setup_hook(self) -> None:
        """Load the model and index once, off the event loop, then add the cogs and sync the slash commands."""
        try:
            await asyncio.to_thread(self.service.warm_up)
        except NewsbotError as error:
            # Keep running: questions say what's wrong, and /reindex can build a missing index.
            log.error("newsbot is not ready: %s", error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Publish the slash commands: to NEWSBOT_GUILD_ID at once when set, otherwise globally."""
        guild = discord.Object(self.settings.guild_id) if self.settings.guild_id else None
        try:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            self.synced_commands = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            log.error("could not sync slash commands (%s): mentions and DMs still work; check that the bot was "
                      "invited with the applications.commands scope and that NEWSBOT_GUILD_ID is right", error)
            return
        log.info("synced %d slash commands %s", len(self.synced_commands),
                 f"to guild {guild.id}" if guild else "globally (may take up to an hour to appear)")

    async def close(self) -> None:
        """Write out the question log's queued rows, then disconnect."""
        await asyncio.to_thread(self.questions.close)
        await super().close()

    async def on_message(self, message: discord.Message, /) -> None:
        """Do nothing here: there are no prefix commands, and the Questions cog listens for questions."""

    async def on_ready(self) -> None:
        """Log who the bot is once connected."""
        log.info("connected as %s (id %s) to %d servers", self.user, self.user.id if self.user else "?",
                 len(self.guilds))


def create_bot(settings: Settings | None = None, *, service: NewsService | None = None,
               feedback: FeedbackStore | None = None, questions: QuestionLog | None = None,
               message_content: bool = True, autowatch: bool = True) -> commands.Bot:
    """Build the bot; the model and index load in setup_hook, when it logs in. With sources to watch, they are
    polled beside it (docs/watch.md); `autowatch=False` leaves the polls to whoever drives the bot."""
    settings = settings or Settings.from_env()
    service = service or NewsService(settings)
    watcher = make_watcher(settings, service) if settings.watch or settings.watch_file else None
    return NewsBot(settings, service, feedback=feedback, questions=questions, message_content=message_content,
                   watcher=watcher, autowatch=autowatch)


def run_bot(settings: Settings) -> None:
    """Connect to Discord and answer until stopped; token problems raise ConfigError, never a traceback."""
    token = (settings.discord_token or "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: put the bot token in .env or the environment "
                          "(see docs/discord.md)")
    if not logging.getLogger().handlers:
        discord.utils.setup_logging(level=getattr(logging, settings.log_level, logging.INFO))
    service = NewsService(settings)
    try:
        try:
            asyncio.run(_serve(create_bot(settings, service=service), token))
        except discord.PrivilegedIntentsRequired:
            log.warning("the Message Content intent is not enabled for this bot in the Developer Portal: running "
                        "without it, so mentions, DMs and slash commands work but NEWSBOT_CHANNELS is ignored")
            asyncio.run(_serve(create_bot(settings, service=service, message_content=False), token))
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN: copy a fresh token from the Developer Portal "
                          "(Bot > Reset Token) into .env") from None
    except (OSError, discord.HTTPException, discord.GatewayNotFound) as error:
        # Discord unreachable at start-up: one line, as for any newsbot error (discord.py retries once connected).
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise NewsbotError(f"cannot connect to Discord ({detail}): check the network, then start again") from None
    except KeyboardInterrupt:
        log.info("stopped")


async def _serve(bot: commands.Bot, token: str) -> None:
    async with bot:
        await bot.start(token)
