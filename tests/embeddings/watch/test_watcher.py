"""The watcher against a real HTTP server on 127.0.0.1: conditional requests, updates, removals, syndicated copies,
sitemaps, and every kind of failing source ending in one log line, a backoff, and no effect on the others."""

from __future__ import annotations

import logging

import pytest

from embeddings.records import BuildReport
from embeddings.watch.fetch import FetchLimits
from embeddings.watch.state import WatchState
from embeddings.watch.watcher import NEW, REMOVED, WatchConfig, Watcher
from tests.watchdata import BRIDGE, FERRY, FERRY_UPDATED, LIBRARY, STORM, item, watched_service
from tests.watchserver import Route, http_date, page, rss, sitemap

pytestmark = pytest.mark.fast

FAST = WatchConfig(interval=60.0, fetch=FetchLimits(timeout=2.0, max_bytes=200_000, max_redirects=3), max_pages=10)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def service(tmp_path, fake_embedder):
    return watched_service(tmp_path, fake_embedder)


def make_watcher(service, urls, clock=None, config=FAST) -> Watcher:
    settings = service.settings
    return Watcher(urls, WatchState(settings.watch_state), settings.seeds_dir, settings.read_limits, config,
                   service.reindex, clock=clock or Clock())


def feed(server, *items, outlet="Westport Post", path="/feed.xml", etag='"v1"') -> str:
    server.routes[path] = Route(rss(outlet, server.url("/"), list(items)), etag=etag)
    return server.url(path)


def ferry(server, text=FERRY):
    return item("ferry-1", "Sunday ferries to stop", server.url("/news/ferry"), "Tue, 06 Feb 2024 09:00:00 GMT", text)


def library(server):
    return item("library-1", "Library to open later", server.url("/news/library"), "Mon, 05 Feb 2024 10:00:00 GMT",
                LIBRARY)


def test_new_items_are_indexed_and_an_unchanged_feed_costs_no_build(server, service, counting=None) -> None:
    url = feed(server, ferry(server), library(server))
    watcher = make_watcher(service, [url])
    first = watcher.poll()
    assert sorted(first.indexed.values()) == [NEW, NEW] and first.build is not None
    assert {service.index.source(s).title for s in first.new} == {"Sunday ferries to stop", "Library to open later"}
    generation = service.backend.read_manifest()["created_at"], service.index.path.resolve()

    second = watcher.poll(force=True)
    assert second.sources[0].not_modified and second.build is None and not second.indexed
    assert server.hits("/feed.xml")[-1].get("If-None-Match") == '"v1"'
    assert (service.backend.read_manifest()["created_at"], service.index.path.resolve()) == generation


def test_a_server_that_ignores_validators_costs_no_build_either(server, service) -> None:
    url = feed(server, ferry(server), etag=None)
    server.routes["/feed.xml"].conditional = False
    watcher = make_watcher(service, [url])
    assert watcher.poll().new
    again = watcher.poll(force=True)
    assert not again.sources[0].not_modified and again.build is None and not again.indexed


def test_an_updated_item_replaces_its_earlier_version_and_says_updated(server, service) -> None:
    clock = Clock()
    url = feed(server, ferry(server))
    watcher = make_watcher(service, [url], clock)
    [story] = watcher.poll().new
    assert service.index.source(story).updated is None
    clock.now += 86_400
    feed(server, ferry(server, FERRY_UPDATED), etag='"v2"')
    polled = watcher.poll(force=True)
    assert polled.updated == [story] and not polled.new
    info = service.index.source(story)
    assert info.updated == "2023-11-15" and info.date == "2024-02-06"
    text = service.index.articles[story].text
    assert "fewer than thirty" in text and "fewer than forty" not in text
    answer = service.ask("What did Lindqvist say about the Sunday crossings?")
    assert answer.answered and any(c.updated == "2023-11-15" for c in answer.citations if c.source_id == story)


def test_an_item_removed_from_the_feed_stays_unless_its_page_is_gone(server, service) -> None:
    url = feed(server, ferry(server), library(server))
    server.routes["/news/library"] = Route(b"<html>still here</html>")
    watcher = make_watcher(service, [url])
    stories = {service.index.source(s).title: s for s in watcher.poll().new}
    feed(server, etag='"v2"')  # both items roll off; the ferry page was taken down (404), the library's is there
    server.routes["/feed.xml"].body = rss("News - Westport Post", server.url("/"), [
        item("storm-1", "Storm cuts power", server.url("/news/storm"), "Wed, 07 Feb 2024 07:00:00 GMT", STORM)])
    polled = watcher.poll(force=True)
    assert polled.sources[0].counts == {NEW: 1, REMOVED: 1}
    assert stories["Sunday ferries to stop"] not in service.index.articles
    assert stories["Library to open later"] in service.index.articles
    assert not (service.settings.seeds_dir / f"watch-{stories['Sunday ferries to stop']}.jsonl").exists()


def test_a_syndicated_story_is_indexed_once_and_cited_with_every_outlet(server, service) -> None:
    first = feed(server, ferry(server), outlet="Westport Post")
    wire = item("wire-77", "Ferry cuts on Sundays", server.url("/wire/ferry-cuts"), "Tue, 06 Feb 2024 11:00:00 GMT",
                "From our partners.\n\n" + FERRY)
    second = feed(server, wire, outlet="Coast Courier", path="/courier.xml")
    watcher = make_watcher(service, [first, second])
    polled = watcher.poll()
    [story] = polled.new
    info = service.index.source(story)
    assert info.outlet == "Westport Post" and info.copies == (("Coast Courier", server.url("/wire/ferry-cuts")),)
    assert polled.sources[1].counts == {"copy": 1}
    answer = service.ask("Why will the Sunday ferry stop?")
    assert answer.answered and all(c.copies for c in answer.citations if c.source_id == story)


def test_a_sitemap_brings_its_pages_and_rereads_one_whose_lastmod_changed(server, service) -> None:
    pages = {"/p/bridge": ("Rail bridge closed for repairs", BRIDGE), "/p/storm": ("Storm cuts power", STORM)}
    for path, (title, text) in pages.items():
        server.routes[path] = Route(page(title, "Northby News", "2024-02-09", text, server.url(path)),
                                    last_modified=http_date(1_700_000_000))
    server.routes["/sitemap.xml"] = Route(sitemap([(server.url(p), "2024-02-09") for p in pages]))
    watcher = make_watcher(service, [server.url("/sitemap.xml")])
    polled = watcher.poll()
    assert len(polled.new) == 2
    assert {service.index.source(s).outlet for s in polled.new} == {"Northby News"}

    server.routes["/sitemap.xml"].body = sitemap([(server.url("/p/bridge"), "2024-02-10"),
                                                  (server.url("/p/storm"), "2024-02-09")])
    again = watcher.poll(force=True)
    assert not again.indexed  # the page answered 304: nothing to read
    assert server.hits("/p/bridge")[-1].get("If-Modified-Since") == http_date(1_700_000_000)
    assert len(server.hits("/p/storm")) == 1


def test_the_page_budget_carries_over_to_the_next_poll(server, service) -> None:
    texts = [FERRY, LIBRARY, STORM, BRIDGE]
    for n, text in enumerate(texts):
        server.routes[f"/p/{n}"] = Route(page(f"Story {n}", "Northby News", f"2024-02-0{n + 1}", text,
                                              server.url(f"/p/{n}")))
    server.routes["/sitemap.xml"] = Route(sitemap([(server.url(f"/p/{n}"), f"2024-02-0{n + 1}") for n in range(4)]))
    watcher = make_watcher(service, [server.url("/sitemap.xml")], config=WatchConfig(60.0, FAST.fetch, max_pages=3))
    assert len(watcher.poll().new) == 3
    assert len(watcher.poll(force=True).new) == 1
    assert not watcher.poll(force=True).indexed


@pytest.mark.parametrize(("route", "expected"), [
    (Route(status=404), "HTTP 404"),
    (Route(status=500), "HTTP 500"),
    (Route(b"x" * 300_000), "over the 200,000 limit"),
    (Route(b"<rss>" + b" " * 4000, trickle=0.3, piece=200), "no complete answer in 2 s"),
    (Route(location="/loop-b", status=302), "redirect loop"),
    (Route(b"<html><body>not a feed</body></html>"), "not a feed or sitemap"),
])
def test_a_failing_source_is_one_line_backs_off_and_leaves_the_others_alone(server, service, caplog, route,
                                                                            expected) -> None:
    server.routes["/bad"] = route
    server.routes["/loop-b"] = Route(location="/bad", status=302)
    good = feed(server, ferry(server))
    clock = Clock()
    watcher = make_watcher(service, [server.url("/bad"), good], clock)
    with caplog.at_level(logging.WARNING, logger="newsbot.watch"):
        polled = watcher.poll()
    assert polled.new and polled.sources[1].error is None
    [line] = [r.getMessage() for r in caplog.records if "/bad" in r.getMessage()]
    assert expected in line and "\n" not in line and "next try in 2 min" in line
    state = watcher.state.source(server.url("/bad"))
    assert state.failures == 1 and state.next_poll == clock.now + 120
    clock.now += 121
    watcher.poll()
    assert watcher.state.source(server.url("/bad")).next_poll == clock.now + 240


def test_too_many_redirects_and_a_redirect_that_arrives(server, service) -> None:
    for n in range(6):
        server.routes[f"/r{n}"] = Route(location=f"/r{n + 1}", status=301)
    server.routes["/moved"] = Route(location="/feed.xml", status=301)
    feed(server, ferry(server))
    watcher = make_watcher(service, [server.url("/r0"), server.url("/moved")])
    polled = watcher.poll()
    assert polled.sources[0].error == "more than 3 redirects"
    assert polled.sources[1].error is None and polled.new


def test_retry_after_is_honoured(server, service) -> None:
    server.routes["/busy"] = Route(status=503, headers={"Retry-After": "7200"})
    clock = Clock()
    watcher = make_watcher(service, [server.url("/busy")], clock)
    watcher.poll()
    assert watcher.state.source(server.url("/busy")).next_poll == clock.now + 7200


def test_a_build_that_fails_is_one_line_and_is_tried_again(server, service, caplog) -> None:
    url = feed(server, ferry(server))
    calls = []

    def failing() -> BuildReport:
        calls.append(1)
        raise OSError("disk full")

    watcher = make_watcher(service, [url])
    watcher.build = failing
    with caplog.at_level(logging.WARNING, logger="newsbot.watch"):
        polled = watcher.poll()
    assert polled.build_error == "OSError: disk full" and not polled.indexed
    assert any("the index was not updated" in r.getMessage() for r in caplog.records)
    watcher.build = service.reindex
    assert watcher.poll().new  # the feed is unchanged (304), but the story written last time is still pending

