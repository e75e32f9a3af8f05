"""`newsbot watch` (--once, --status) and `newsbot whatsnew` against a real feed on 127.0.0.1: one line per poll,
the status of each source, what is new since a day with what it changes; bad settings are one line and exit 2."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from bot.answer import contract
from bot.cli.app import cli
from tests.watchdata import FERRY, item, watched_service
from tests.watchserver import LoopbackServer, Route, rss

pytestmark = pytest.mark.fast

EARLIER = ("date 2024-01-10 Ferry timetable stays\n\nThe Westport ferry will keep its winter timetable, the harbour "
           "board said on Wednesday.\n\nBoard chair Maria Lindqvist said the Sunday crossings carried more than "
           "sixty passengers on average last winter. \"The Sunday boat is here to stay,\" Lindqvist said.\n")


@pytest.fixture()
def server():
    with LoopbackServer() as running:
        running.routes["/feed.xml"] = Route(rss("Westport Post", running.url("/"), [
            item("ferry-1", "Sunday ferries to stop", running.url("/n/ferry"), "Tue, 06 Feb 2024 09:00:00 GMT",
                 FERRY)]), etag='"1"')
        yield running


@pytest.fixture()
def service(tmp_path, fake_embedder, server):
    made = watched_service(tmp_path, fake_embedder, watch=(server.url("/feed.xml"),))
    (made.settings.seeds_dir / "ferries.txt").write_text(EARLIER, encoding="utf-8")
    made.reindex()
    return made


def invoke(service, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": service.settings, "service": service})


def test_watch_once_then_status(service, server) -> None:
    before = invoke(service, "watch", "--status")
    assert before.exit_code == 0 and "last success never; next poll now" in before.output
    polled = invoke(service, "watch", "--once")
    assert polled.exit_code == 0, polled.output
    assert polled.output.startswith("poll: 1 sources polled; 1 new; index written: 1 added")
    again = invoke(service, "watch", "--once")
    assert again.output.strip() == "poll: 1 sources polled; nothing to index"
    status = invoke(service, "watch", "--status", "--json")
    payload = json.loads(status.stdout)
    jsonschema.validate(payload, contract.WATCH_STATUS_SCHEMA)
    [source] = payload["sources"]
    assert source["url"] == server.url("/feed.xml") and source["added"] == 1 and source["failures"] == 0
    assert source["last_success"] and source["next_poll"] > source["last_success"]


def test_a_failing_source_shows_in_the_status(service, server) -> None:
    server.routes["/feed.xml"] = Route(status=500)
    polled = invoke(service, "watch", "--once")
    assert polled.exit_code == 0 and "1 failing" in polled.output
    status = invoke(service, "watch", "--status")
    assert "1 failures in a row; last: HTTP 500" in status.output


def test_whatsnew_says_what_each_new_statement_changes(service) -> None:
    invoke(service, "watch", "--once")
    result = invoke(service, "whatsnew", "What did Lindqvist say about the Sunday crossings?", "--since", "2024-02-01",
                    "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, contract.WHATSNEW_SCHEMA)
    kinds = {change["kind"] for change in payload["changes"]}
    assert kinds <= {"first reported", "now says", "sources differ"} and payload["changes"]
    assert all(c["date"] >= "2024-02-01" for c in payload["changes"])
    assert all(cited["date"] < "2024-02-01" for c in payload["changes"] for cited in c["before"])
    said = [c for c in payload["changes"] if c["kind"] == "now says"]
    assert said and said[0]["speaker"] == "Maria Lindqvist" and said[0]["before"][0]["source_id"] == "ferries"
    dates = [c["date"] for c in payload["changes"]]
    assert dates == sorted(dates, reverse=True)
    text = invoke(service, "whatsnew", "--since", "2024-02-01")
    assert text.exit_code == 0 and "[first reported]" in text.output
    nothing = invoke(service, "whatsnew", "the Sunday ferry crossings", "--since", "2030-01-01")
    assert "Nothing new on this topic." in nothing.output


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"watch": ()}, "no sources to watch"),
    ({"watch": ("ftp://example.invalid/feed",)}, "NEWSBOT_WATCH: not an http(s) URL"),
])
def test_bad_watch_settings_are_one_line(service, overrides, expected) -> None:
    settings = service.settings.with_overrides(**overrides)
    result = CliRunner().invoke(cli, ["watch", "--once"], obj={"settings": settings, "service": service})
    assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_sources_file_with_comments_and_a_bad_line(service, server, tmp_path) -> None:
    sources = tmp_path / "sources.txt"
    sources.write_text(f"# the newsroom's feeds\n{server.url('/feed.xml')}  # main\n\n", encoding="utf-8")
    settings = service.settings.with_overrides(watch=(), watch_file=sources)
    result = CliRunner().invoke(cli, ["watch", "--status"], obj={"settings": settings, "service": service})
    assert result.exit_code == 0 and server.url("/feed.xml") in result.output
    sources.write_text("https://ok.example/feed\nnot a url\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["watch", "--status"], obj={"settings": settings, "service": service})
    assert result.exit_code == 2 and "line 2: not an http(s) URL" in result.output
