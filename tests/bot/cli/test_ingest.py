"""A newsroom's files end to end (fast tier, fake embedder): `newsbot add` pages, feeds and exports, then ask, cite
with URL, outlet and author, look sources up; every JSON shape matches its schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.answer import contract
from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.errors import IndexMismatchError
from tests.embeddings.ingest.readers.conftest import EXPORTS, FEEDS, INGEST, PAGES

pytestmark = pytest.mark.fast
FILES = sorted([*PAGES.iterdir(), *FEEDS.iterdir(), *EXPORTS.iterdir()])


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory, fake_embedder):
    """A service over an empty seeds directory, then every fixture file added with `newsbot add`."""
    base = tmp_path_factory.mktemp("newsroom")
    settings = Settings(seeds_dir=base / "seeds", index_dir=base / "index", feedback_db=base / "feedback.sqlite3")
    service = NewsService(settings, fake_embedder)
    result = invoke(service, "add", *map(str, FILES), "--json")
    assert result.exit_code == 0, result.output
    return service, json.loads(result.stdout)


def invoke(service: NewsService, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": service.settings, "service": service})


def test_add_copies_the_files_that_hold_articles_and_indexes_them(newsroom):
    service, payload = newsroom
    jsonschema.validate(payload, contract.ADD_SCHEMA)
    copied = dict((c["file"], c["articles"]) for c in payload["copied"])
    assert copied == {"cafe-parking.htm": 1, "coastal-ledger.rss": 3, "courier-export.jsonl": 2,
                      "ferry-terminal.html": 1, "ledger-export.csv": 3, "northern-courier.atom": 3,
                      "school-meals.html": 1, "storm-warning.html": 1}
    assert sorted(p.name for p in service.settings.seeds_dir.iterdir()) == sorted(copied)
    assert "broken-feed.xml: not an RSS or Atom feed, skipped" in payload["warnings"]
    assert "broken-feed.xml: no article in it, not added" in payload["warnings"]
    assert "section-front.html: no article in it, not added" in payload["warnings"]
    assert "ledger-export.csv row 4 (line 12): 8 fields, the header has 9, skipped" in payload["warnings"]
    assert len(payload["index"]["added"]) == 15 and payload["index"]["chunks"] > 15


def test_adding_the_same_file_again_changes_nothing(newsroom):
    service, _ = newsroom
    result = invoke(service, "add", str(PAGES / "ferry-terminal.html"))
    assert result.exit_code == 0, result.output
    assert "ferry-terminal.html is already in" in result.stdout and "index up to date" in result.stdout


def test_adding_nothing_usable_is_an_error(newsroom, tmp_path: Path):
    service, _ = newsroom
    (tmp_path / "notes.docx").write_bytes(b"PK")
    result = invoke(service, "add", str(tmp_path / "notes.docx"), str(tmp_path / "missing.html"))
    assert result.exit_code == 1
    assert result.stderr.startswith("newsbot: error: nothing added: notes.docx: not a file newsbot reads")
    assert "Traceback" not in result.output


def test_citations_carry_url_outlet_and_author_and_quote_the_text_of_record(newsroom):
    service, _ = newsroom
    result = invoke(service, "ask", "What did Helen Okafor say about the ferry terminal?", "--json")
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, contract.ANSWER_SCHEMA)
    assert payload["answered"], payload
    [citation] = [c for c in payload["citations"] if c["source_id"] == "ferry-terminal"][:1]
    assert citation["url"] == "https://www.coastalledger.example/news/2024/03/05/harbour-board-approves-ferry-terminal"
    assert (citation["outlet"], citation["author"]) == ("The Coastal Ledger", "Priya Ramaswamy")
    for c in payload["citations"]:
        text = service.index.articles[c["source_id"]].text
        assert text[c["start"]:c["end"]] == c["quote"]


def test_the_cli_prints_the_url_of_each_citation(newsroom):
    service, _ = newsroom
    result = invoke(service, "ask", "What did Helen Okafor say about the ferry terminal?")
    assert "      https://www.coastalledger.example/news/2024/03/05/harbour-board-approves-ferry-terminal" in (
        result.stdout.splitlines())


def test_source_shows_the_extracted_text_metadata_and_where_it_came_from(newsroom):
    service, _ = newsroom
    payload = json.loads(invoke(service, "source", "school-meals", "--json").stdout)
    jsonschema.validate(payload, contract.SOURCE_SCHEMA)
    assert payload["url"] == "http://www.dunmoreherald.example/education/free-school-meals-extended-12345.html"
    assert payload["author"] == "Catriona Begg" and payload["outlet"] == "Dunmore Herald"
    assert payload["text"].startswith("Every primary school pupil in Dunmore")
    assert {"kind": "read-more", "text": "READ MORE: Council agrees budget with 3% tax rise"} in payload["noise"]
    assert payload["provenance"]["date"] == "page metadata (htmldate)"
    shown = invoke(service, "source", "school-meals").stdout.splitlines()
    assert shown[1] == "2023-06-12 - school-meals - Dunmore Herald - by Catriona Begg"
    assert shown[2] == "http://www.dunmoreherald.example/education/free-school-meals-extended-12345.html"


def test_sources_carry_url_outlet_and_author_null_when_unknown(newsroom):
    service, _ = newsroom
    payload = json.loads(invoke(service, "sources", "--json").stdout)
    jsonschema.validate(payload, contract.SOURCES_SCHEMA)
    by_id = {s["source_id"]: s for s in payload["sources"]}
    assert by_id["cms-20240214-0007"]["author"] is None
    assert by_id["cms-20240214-0007"]["url"] == "https://www.coastalledger.example/sport/2024/02/14/rowing-centenary"
    assert all(set(s) == {"source_id", "title", "date", "outlet", "url", "author"} for s in payload["sources"])


def test_a_summary_only_feed_item_says_so_in_its_metadata(newsroom):
    service, _ = newsroom
    school = next(i for i in service.sources() if i.title and i.title.startswith("Village school"))
    payload = json.loads(invoke(service, "source", school.source_id, "--json").stdout)
    assert payload["provenance"]["text"] == "feed summary only: the feed has no full text for this item"


def test_staleness_follows_the_original_file(newsroom, tmp_path: Path, fake_embedder, monkeypatch):
    service, _ = newsroom
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(service.settings.seeds_dir, seeds)
    shutil.copytree(service.settings.index_dir.resolve(), index)
    settings = service.settings.with_overrides(seeds_dir=seeds, index_dir=index)
    with monkeypatch.context() as patch:
        # The check hashes the pages' bytes; an unchanged page is never extracted again.
        patch.setattr("embeddings.ingest.readers.html._extract", lambda text: pytest.fail("page extracted again"))
        NewsService(settings, fake_embedder).load()  # the copied index is current
    page = seeds / "storm-warning.html"
    page.write_bytes(page.read_bytes().replace(b"80mph", b"85mph"))
    with pytest.raises(IndexMismatchError, match="storm-warning"):
        NewsService(settings, fake_embedder).load()


def test_the_fixture_files_are_listed_in_the_readme():
    readme = (INGEST / "README.md").read_text(encoding="utf-8")
    assert all(path.name in readme for path in FILES)
