"""Stories: what the watcher keeps of the articles it read, one file each in the seeds (`watch-<id>.jsonl`, an export
of one row that the seeds reader and the incremental build read like any other). A story seen again with other text
is updated in place; the same story under another outlet's URL becomes a copy on the first one's citations."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from embeddings.ingest.add import write_atomically
from embeddings.ingest.readers.common import short_hash
from embeddings.records import Article
from embeddings.watch import dedup
from embeddings.watch.state import Item, WatchState

log = logging.getLogger(__name__)

PREFIX = "watch-"
NEW, UPDATED, COPY, REMOVED = "new", "updated", "copy", "removed"


def story_file(seeds_dir: Path, story: str) -> Path:
    """Return the seeds file that holds a story."""
    return seeds_dir / f"{PREFIX}{story}.jsonl"


def text_digest(article: Article) -> str:
    """Return what decides that an item changed: its title and the text the index would read from it."""
    return hashlib.sha256(f"{article.title or ''}\n{article.clean_text}".encode()).hexdigest()


class Stories:
    """Turns items read from sources into story files in the seeds, and notes them for the next build."""

    def __init__(self, state: WatchState, seeds_dir: Path, clock=time.time) -> None:  # clock: () -> float
        self.state = state
        self.seeds_dir = seeds_dir
        self.clock = clock

    def today(self) -> str:
        """Return the UTC day of the clock."""
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def take(self, item: Item, article: Article) -> str | None:
        """Record an item read from a source; return what changed (NEW, UPDATED, COPY) or None. `item` holds its
        source, key, URL and validators; its story and digest are what the state knew before."""
        digest = text_digest(article)
        if item.story and self.state.story(item.story) is not None:
            row = self.state.story(item.story)
            assert row is not None
            self.state.save_item(replace(item, digest=digest, present=True))
            if item.digest == digest or row.get("origin") != [item.source, item.key]:
                return None  # unchanged, or a copy's own text: the story keeps the first outlet's
            row.update(_fields(article, row.get("date")), updated=self.today())
            self._write(item.story, row, article)
            self.state.mark_pending(item.story, UPDATED)
            return UPDATED
        if item.url and (known := self.state.story_of_url(item.url)) is not None:
            # The same page listed by another source (a feed and a sitemap of one site): one story, nothing new.
            self.state.save_item(replace(item, story=known, digest=digest, present=True))
            return None
        signature = dedup.signature(article.clean_text)
        same = self._same_story(signature)
        if same is not None:
            row = self.state.story(same)
            assert row is not None
            self.state.save_item(replace(item, story=same, digest=digest, present=True))
            copies = row.setdefault("copies", [])
            if item.url == row.get("url") or any(c.get("url") == item.url for c in copies):
                return None
            copies.append({"outlet": article.outlet or _host(item.url), "url": item.url})
            self._write(same, row, None)
            self.state.mark_pending(same, COPY)
            return COPY
        story = article.source_id if self.state.story(article.source_id) is None else short_hash(item.source, item.key)
        row = {"id": story, **_fields(article, article.date or self.today()), "copies": [],
               "origin": [item.source, item.key]}
        self.state.save_item(replace(item, story=story, digest=digest, present=True))
        self._write(story, row, article, signature)
        self.state.mark_pending(story, NEW)
        return NEW

    def forget(self, item: Item) -> str | None:
        """An item whose page is gone (404, 410): remove its story when it was the story's own, else drop the copy;
        return REMOVED, COPY or None."""
        self.state.save_item(replace(item, present=False, digest=None))
        row = self.state.story(item.story) if item.story else None
        if row is None or item.story is None:
            return None
        if row.get("origin") == [item.source, item.key]:
            story_file(self.seeds_dir, item.story).unlink(missing_ok=True)
            self.state.drop_story(item.story)
            self.state.mark_pending(item.story, REMOVED)
            return REMOVED
        copies = [c for c in row.get("copies", []) if c.get("url") != item.url]
        if len(copies) == len(row.get("copies", [])):
            return None
        row["copies"] = copies
        self._write(item.story, row, None)
        self.state.mark_pending(item.story, COPY)
        return COPY

    def _same_story(self, signature) -> str | None:  # signature: np.ndarray
        best, best_score = None, dedup.SAME_STORY
        for story, stored in self.state.candidates(dedup.bands(signature)):
            score = dedup.similarity(signature, dedup.from_bytes(stored))
            if score >= best_score:
                best, best_score = story, score
        return best

    def _write(self, story: str, row: dict, article: Article | None, signature=None) -> None:
        """Store the story's row (with a new signature when its text changed) and write its file into the seeds."""
        if signature is None and article is not None:
            signature = dedup.signature(article.clean_text)
        if signature is None:
            known = self.state.signature_of(story)
            signature = dedup.from_bytes(known) if known else dedup.signature(row.get("text", ""))
        self.state.save_story(story, row, dedup.to_bytes(signature), dedup.bands(signature), self.clock())
        public = {k: v for k, v in row.items() if k != "origin" and v not in (None, [], "")}
        write_atomically(self.seeds_dir, story_file(self.seeds_dir, story).name,
                         (json.dumps(public, ensure_ascii=False) + "\n").encode("utf-8"))


def _fields(article: Article, date: str | None) -> dict:
    """Return an article's export columns; the date is the first version's (or the day it was first seen)."""
    return {"title": article.title, "date": date or article.date or None, "url": article.url,
            "outlet": article.outlet, "author": article.author, "text": article.clean_text}


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").removeprefix("www.")
