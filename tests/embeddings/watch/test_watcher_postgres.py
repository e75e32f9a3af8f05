"""The watcher into the PostgreSQL store: new and updated stories go through its own build, the same call."""

from __future__ import annotations

import pytest

from tests.embeddings.watch.test_watcher import Clock, feed, ferry, make_watcher
from tests.watchdata import FERRY_UPDATED, watched_service

pytestmark = pytest.mark.slow


def test_the_postgresql_store_takes_new_and_updated_stories_likewise(server, tmp_path, fake_embedder, pg_url) -> None:
    service = watched_service(tmp_path, fake_embedder, database_url=pg_url)
    clock = Clock()
    url = feed(server, ferry(server))
    watcher = make_watcher(service, [url], clock)
    [story] = watcher.poll().new
    assert service.index.source(story).title == "Sunday ferries to stop"
    assert watcher.poll(force=True).build is None
    clock.now += 86_400
    feed(server, ferry(server, FERRY_UPDATED), etag='"v2"')
    assert watcher.poll(force=True).updated == [story]
    assert service.index.source(story).updated == "2023-11-15"
    assert "fewer than thirty" in service.index.articles[story].text
