"""`newsbot watch` (the sources polled in the foreground, `--once`, `--status`) and `newsbot whatsnew`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import click

from bot.answer.contract import watch_status_json, whatsnew_json
from bot.answer.service import NewsService
from bot.answer.watching import make_watcher, poll_forever, watched_sources
from bot.answer.whatsnew import whats_new
from bot.cli.output import echo, json_line, safe_line
from bot.cli.render import render_watch_status, render_whatsnew
from bot.settings import Settings
from embeddings.errors import ConfigError
from embeddings.watch.state import SourceState, WatchState
from embeddings.watch.watcher import PollReport

DEFAULT_DAYS = 7


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj["settings"]


def _service(ctx: click.Context) -> NewsService:
    state = ctx.find_root().obj
    if "service" not in state:
        state["service"] = NewsService(state["settings"])
    return state["service"]


def poll_line(report: PollReport) -> str:
    """Return one line saying what a poll did."""
    if report.skipped:
        return "poll skipped: another process is polling these sources"
    failing = sum(1 for s in report.sources if s.error)
    counts = {kind: sum(s.counts.get(kind, 0) for s in report.sources) for kind in ("new", "updated", "removed")}
    parts = [f"{len(report.sources)} sources polled", *(f"{n} {kind}" for kind, n in counts.items() if n)]
    if failing:
        parts.append(f"{failing} failing")
    if report.build is not None:
        parts.append(report.build.summary(with_path=False))
    elif report.build_error:
        parts.append(f"index not updated: {report.build_error}")
    else:
        parts.append("nothing to index")
    return safe_line("poll: " + "; ".join(parts))


@click.command()
@click.option("--once", is_flag=True, help="Poll every source once, now, then exit.")
@click.option("--status", is_flag=True, help="Show each source's last success, next poll, counts and errors.")
@click.option("--json", "as_json", is_flag=True, help="With --status: print it as JSON.")
@click.pass_context
def watch(ctx: click.Context, once: bool, status: bool, as_json: bool) -> None:
    """Poll the watched feeds and sitemaps (NEWSBOT_WATCH, NEWSBOT_WATCH_FILE) and index what is new, in the
    foreground until interrupted; a failing source is one line and is tried again later."""
    settings = _settings(ctx)
    urls = watched_sources(settings)
    if status:
        known = {s.url: s for s in WatchState(settings.watch_state).sources()} if settings.watch_state.exists() else {}
        states = [known.get(url) or SourceState(url) for url in urls]
        echo(json_line(watch_status_json(states)) if as_json else render_watch_status(states, time.time()))
        return
    if not urls:
        raise ConfigError("no sources to watch: set NEWSBOT_WATCH or NEWSBOT_WATCH_FILE (docs/watch.md)")
    watcher = make_watcher(settings, _service(ctx))
    if once:
        echo(poll_line(watcher.poll(force=True)))
        return
    echo(f"watching {len(urls)} sources every {settings.watch_interval:g} s (Ctrl-C stops)", err=True)
    poll_forever(watcher, threading.Event(), lambda report: echo(poll_line(report)))


@click.command()
@click.argument("topic", required=False)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help=f"The first day of the period (YYYY-MM-DD); default: {DEFAULT_DAYS} days ago.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def whatsnew(ctx: click.Context, topic: str | None, since: datetime | None, as_json: bool) -> None:
    """The statements first reported since a day, newest first, with what they change against what the archive
    said before: first reported, now says, sources differ."""
    day = (since.date() if since else (datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)).date()).isoformat()
    found = whats_new(_service(ctx), day, topic)
    echo(json_line(whatsnew_json(found)) if as_json else render_whatsnew(found))
