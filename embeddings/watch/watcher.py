"""The watcher: polls each due source (a feed or a sitemap), turns what changed into stories in the seeds, and runs
the incremental build once per poll when anything did. A failing source costs one log line and backs off alone;
nothing here ever stops the process that serves answers."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from embeddings.errors import ConfigError, NewsbotError
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.ingest.readers.common import ReadLimits, clean_url, short_hash
from embeddings.ingest.readers.feeds import read_feed
from embeddings.ingest.readers.html import read_html
from embeddings.records import BuildReport
from embeddings.watch.fetch import Fetched, FetchError, FetchLimits, fetch
from embeddings.watch.sitemap import Sitemap, looks_like_sitemap, read_sitemap
from embeddings.watch.state import Item, SourceState, WatchState
from embeddings.watch.stories import COPY, NEW, REMOVED, UPDATED, Stories

FAILED = "failed"

log = logging.getLogger("newsbot.watch")

# A sources file lists a newsroom's feeds and sitemaps: a few dozen lines.
MAX_SOURCES_FILE = 256 * 1024
MAX_SOURCES = 500
# Child sitemaps read from a sitemap index per poll, newest first.
MAX_CHILD_SITEMAPS = 5


@dataclass(frozen=True)
class WatchConfig:
    """How the watcher polls: every `interval` seconds, each request within `fetch`, at most `max_pages` pages per
    source and poll, and a failing source's wait doubled up to `max_backoff` seconds."""

    interval: float = 900.0
    fetch: FetchLimits = field(default_factory=FetchLimits)
    max_pages: int = 30
    max_backoff: float = 6 * 3600.0


@dataclass(frozen=True)
class SourceReport:
    """What one source's poll found: counts of stories new, updated, copied, removed, or the error."""

    url: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class PollReport:
    """One poll: each source polled, the build (when anything changed) and the stories it indexed."""

    sources: tuple[SourceReport, ...] = ()
    build: BuildReport | None = None
    build_error: str | None = None
    indexed: dict[str, str] = field(default_factory=dict)
    skipped: bool = False

    @property
    def new(self) -> list[str]:
        """Return the stories indexed for the first time."""
        return [story for story, kind in self.indexed.items() if kind == NEW]

    @property
    def updated(self) -> list[str]:
        """Return the stories whose newer version replaced the old."""
        return [story for story, kind in self.indexed.items() if kind == UPDATED]


def read_sources(urls: Sequence[str], path: Path | None) -> tuple[str, ...]:
    """Return the sources to watch: the URLs of the setting, then those of the file (one a line, # comments)."""
    found = list(urls)
    if path is not None:
        raw = read_source_file(path, None, MAX_SOURCES_FILE, setting="")
        if isinstance(raw, Skipped):
            raise ConfigError(f"NEWSBOT_WATCH_FILE {path}: {raw.why}")
        for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if text and clean_url(text) is None:
                raise ConfigError(f"NEWSBOT_WATCH_FILE {path} line {number}: not an http(s) URL: {text[:80]!r}")
            if text:
                found.append(text)
    for url in found:
        if clean_url(url) is None:
            raise ConfigError(f"NEWSBOT_WATCH: not an http(s) URL: {url[:80]!r}")
    unique = tuple(dict.fromkeys(found))
    if len(unique) > MAX_SOURCES:
        raise ConfigError(f"{len(unique)} sources to watch, more than {MAX_SOURCES}")
    return unique


class Watcher:
    """Polls the sources into the seeds; `build` (the service's reindex) brings the index in line afterwards."""

    def __init__(self, urls: Sequence[str], state: WatchState, seeds_dir: Path, limits: ReadLimits,
                 config: WatchConfig, build: Callable[[], BuildReport],
                 fetcher: Callable[..., Fetched] = fetch, clock: Callable[[], float] = time.time) -> None:
        self.urls = tuple(urls)
        self.state = state
        self.seeds_dir = seeds_dir
        self.limits = limits
        self.config = config
        self.build = build
        self.fetcher = fetcher
        self.clock = clock
        self.stories = Stories(state, seeds_dir, clock)

    def status(self) -> list[SourceState]:
        """Return each configured source's state (a fresh one for a source never polled)."""
        states = {s.url: s for s in self.state.sources()}
        return [states.get(url) or SourceState(url) for url in self.urls]

    def next_due(self) -> float:
        """Return when the next source is due (a time of the clock)."""
        states = {s.url: s for s in self.state.sources()}
        return min((states[u].next_poll if u in states else 0.0 for u in self.urls), default=self.clock() + 3600)

    def poll(self, force: bool = False) -> PollReport:
        """Poll every due source (all with `force`), then build once if anything changed; never raises."""
        with self._exclusive() as mine:
            if not mine:
                log.info("watch: another process is polling these sources; this poll is skipped")
                return PollReport(skipped=True)
            now = self.clock()
            reports = []
            for url in self.urls:
                state = self.state.source(url)
                if force or state.next_poll <= now:
                    reports.append(self._poll_source(state))
            build, error, indexed = self._build()
            return PollReport(tuple(reports), build, error, indexed)

    @contextlib.contextmanager
    def _exclusive(self):  # -> Iterator[bool]
        """Hold the state's poll lock: one poll at a time across threads and processes."""
        path = self.state.path.with_name(self.state.path.name + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _build(self) -> tuple[BuildReport | None, str | None, dict[str, str]]:
        pending = self.state.pending()
        if not pending:
            return None, None, {}
        try:
            report = self.build()
        except Exception as exc:  # the build's own errors are NewsbotErrors; anything else must not stop serving
            why = str(exc) if isinstance(exc, NewsbotError) else f"{type(exc).__name__}: {exc}"
            log.warning("watch: the index was not updated (%s); the next poll tries again", " ".join(why.split()))
            return None, why, {}
        held = {*report.added, *report.changed, *report.removed, *(report.unchanged if report.up_to_date else ())}
        indexed = {story: kind for story, kind in pending.items() if story in held}
        for story in sorted(set(pending) - held):
            log.warning("watch: story %s was not indexed (the build's warnings say why)", story)
        self.state.log_indexed(indexed, self.clock(), clear=pending)
        return report, None, indexed

    def _poll_source(self, state: SourceState) -> SourceReport:
        """Poll one source; a failure is one log line and a longer wait for this source alone."""
        now = self.clock()
        counts: dict[str, int] = {}
        try:
            fetched = self.fetcher(state.url, self.config.fetch, state.etag, state.last_modified)
            body_digest = None
            if not fetched.not_modified:
                body_digest = hashlib.sha256(fetched.body).hexdigest()
                if body_digest != state.body_digest or self._unfinished(state.url):
                    complete = self._read(state.url, fetched.body, counts)
                    body_digest = body_digest if complete else None
            if counts.get(FAILED):
                log.warning("watch: %s: %d pages could not be read (tried again next poll)", state.url,
                            counts[FAILED])
        except FetchError as error:
            return self._failed(state, now, str(error), error.retry_after)
        except Exception as error:  # a reader or the state failing on one source must not stop the others
            return self._failed(state, now, f"{type(error).__name__}: {' '.join(str(error).split())[:200]}", None)
        self.state.save_source(replace(
            state, etag=fetched.etag or state.etag, last_modified=fetched.last_modified or state.last_modified,
            body_digest=body_digest or (state.body_digest if fetched.not_modified else None), last_success=now,
            last_attempt=now, next_poll=now + self.config.interval, failures=0, last_error=None,
            added=state.added + counts.get(NEW, 0), updated=state.updated + counts.get(UPDATED, 0),
            removed=state.removed + counts.get(REMOVED, 0)))
        return SourceReport(state.url, counts, not_modified=fetched.not_modified)

    def _failed(self, state: SourceState, now: float, why: str, retry_after: float | None) -> SourceReport:
        failures = state.failures + 1
        wait = min(self.config.interval * 2 ** min(failures, 16), self.config.max_backoff)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.config.max_backoff))
        self.state.save_source(replace(state, last_attempt=now, next_poll=now + wait, failures=failures,
                                       last_error=why))
        log.warning("watch: %s: %s (%d in a row; next try in %s)", state.url, why, failures, _duration(wait))
        return SourceReport(state.url, error=why)

    def _unfinished(self, url: str) -> bool:
        """True when a sitemap's pages were not all read last time (the page budget ran out)."""
        return any(item.present and item.digest is None and item.story is None for item in
                   self.state.items(url).values() if not item.key.startswith("sitemap:"))

    def _read(self, url: str, body: bytes, counts: dict[str, int]) -> bool:
        """Read a source's document as a sitemap or a feed; return whether every entry was read."""
        if looks_like_sitemap(body):
            sitemap = read_sitemap(body)
            if sitemap is None:
                raise FetchError("a sitemap that cannot be read (not well-formed, or with a document type)")
            return self._sitemap(url, sitemap, counts)
        extracted = read_feed(f"{short_hash(url)}.xml", body, self.limits)
        if not extracted.articles:
            why = extracted.warnings[0].split(": ", 1)[-1] if extracted.warnings else "no items"
            raise FetchError(f"not a feed or sitemap that newsbot reads ({why})")
        items = self.state.items(url)
        seen = set()
        for article in extracted.articles:
            seen.add(article.source_id)
            known = items.get(article.source_id) or Item(url, article.source_id, None, article.url, None)
            _count(counts, self.stories.take(replace(known, url=article.url or known.url), article))
        budget = [self.config.max_pages]
        for key, item in items.items():
            if key not in seen and item.present:
                _count(counts, self._gone_check(item, budget))
        return True

    def _sitemap(self, url: str, sitemap: Sitemap, counts: dict[str, int]) -> bool:
        items = self.state.items(url)
        entries = list(sitemap.entries)
        if sitemap.is_index:
            entries = []
            for child, lastmod in sitemap.entries[:MAX_CHILD_SITEMAPS]:
                read = self._child_sitemap(url, child, lastmod, items)
                entries.extend(read.entries if read is not None else ())
        entries = list(dict(entries).items())  # a page listed by two child sitemaps is read once
        budget = [self.config.max_pages]
        complete = True
        listed = set()
        for page, lastmod in sorted(entries, key=lambda e: e[1] or "", reverse=True):
            listed.add(page)
            item = items.get(page) or Item(url, page, None, page, None)
            if item.present and item.lastmod == lastmod and (item.digest or item.story) and lastmod is not None:
                continue
            if item.present and item.digest and lastmod is None:
                continue  # an undated entry is read once; it changes only when its lastmod says so
            if budget[0] <= 0:
                complete = False
                self.state.save_item(replace(item, digest=None, present=True))
                continue
            budget[0] -= 1
            _count(counts, self._page(replace(item, lastmod=lastmod)))
        for key, item in items.items():
            if key not in listed and not key.startswith("sitemap:") and item.present:
                _count(counts, self._gone_check(item, budget))
        return complete and not counts.get(FAILED)

    def _child_sitemap(self, url: str, child: str, lastmod: str | None, items: dict[str, Item]) -> Sitemap | None:
        key = f"sitemap:{child}"
        known = items.get(key) or Item(url, key, None, child, None)
        fetched = self.fetcher(child, self.config.fetch, known.etag, known.last_modified)
        if fetched.not_modified:
            # Unchanged since it was read: its pages are in the items already, listed as they were.
            return Sitemap(False, tuple((i.key, i.lastmod) for i in items.values()
                                        if not i.key.startswith("sitemap:") and i.present))
        self.state.save_item(replace(known, etag=fetched.etag, last_modified=fetched.last_modified, lastmod=lastmod))
        read = read_sitemap(fetched.body)
        return read if read is not None and not read.is_index else None

    def _page(self, item: Item) -> str | None:
        """Fetch and read one page of a sitemap (conditionally when seen before)."""
        assert item.url is not None
        try:
            fetched = self.fetcher(item.url, self.config.fetch, item.etag, item.last_modified)
        except FetchError as error:
            if error.gone and item.story:
                return self.stories.forget(item)
            if error.gone:
                self.state.save_item(replace(item, digest="gone", present=True))
                return None
            log.info("watch: %s: page %s: %s", item.source, item.url, error)
            self.state.save_item(replace(item, digest=None, present=True))
            return FAILED
        if fetched.not_modified:
            self.state.save_item(replace(item, present=True, digest=item.digest or "unchanged"))
            return None
        item = replace(item, etag=fetched.etag, last_modified=fetched.last_modified)
        extracted = read_html(f"{short_hash(item.url)}.html", fetched.body, self.limits)
        if not extracted.articles:
            # Not an article (a section front, a paywall): read again only when its lastmod changes.
            self.state.save_item(replace(item, digest="no article", present=True))
            return None
        article = extracted.articles[0]
        return self.stories.take(item, replace(article, url=article.url or item.url))

    def _gone_check(self, item: Item, budget: list[int]) -> str | None:
        """An entry no longer listed: feeds roll and sitemaps split, so its page is asked once; only a page that is
        gone (404, 410) takes its story out of the archive."""
        if item.url is None or budget[0] <= 0:
            self.state.save_item(replace(item, present=False))
            return None
        budget[0] -= 1
        try:
            self.fetcher(item.url, self.config.fetch)
        except FetchError as error:
            if error.gone:
                return self.stories.forget(item)
        self.state.save_item(replace(item, present=False))
        return None


def _count(counts: dict[str, int], change: str | None) -> None:
    if change:
        counts[change] = counts.get(change, 0) + 1


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["COPY", "NEW", "REMOVED", "UPDATED", "PollReport", "SourceReport", "WatchConfig", "Watcher",
           "read_sources"]
