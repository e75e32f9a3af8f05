"""The watcher as the front ends run it: built from the settings around the service's incremental build, and the
loop that polls it whenever a source is due until told to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.watch.state import WatchState
from embeddings.watch.watcher import PollReport, Watcher, read_sources

log = logging.getLogger("newsbot.watch")


def watched_sources(settings: Settings) -> tuple[str, ...]:
    """Return the configured sources (NEWSBOT_WATCH and NEWSBOT_WATCH_FILE); ConfigError for a bad one."""
    return read_sources(settings.watch, settings.watch_file)


def make_watcher(settings: Settings, service: NewsService) -> Watcher:
    """Build the watcher of the configured sources, writing into the seeds and building through the service."""
    return Watcher(watched_sources(settings), WatchState(settings.watch_state), settings.seeds_dir,
                   settings.read_limits, settings.watch_config, service.reindex)


def poll_forever(watcher: Watcher, stop: threading.Event, on_poll: Callable[[PollReport], None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
    """Poll each time a source is due, until `stop` is set; a poll never raises, and neither does `on_poll`."""
    clock = clock or watcher.clock
    while not stop.is_set():
        report = watcher.poll()
        if on_poll is not None:
            try:
                on_poll(report)
            except Exception:  # a report that cannot be shown must not stop the watching
                log.exception("watch: could not report a poll")
        stop.wait(max(1.0, min(watcher.next_due() - clock(), watcher.config.interval)))
