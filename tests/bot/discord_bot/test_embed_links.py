"""Article URLs in Discord: titles link to the article, and a hostile or odd URL never breaks an embed."""

from __future__ import annotations

import pytest

from bot.answer.types import Answer, Citation, SourceView
from bot.discord_bot import embeds
from embeddings.records import Article, Chunk, Hit, SourceInfo
from tests.bot.discord_bot.test_embeds import assert_within_limits

pytestmark = pytest.mark.fast
URL = "https://www.coastalledger.example/news/2024/03/05/harbour-board-approves-ferry-terminal"


def citation(n: int = 1, url: str | None = URL, title: str = "Harbour board approves [£40m] terminal") -> Citation:
    return Citation(n=n, source_id="ferry-terminal", chunk_id="ferry-terminal#0", quote="“This terminal secures it.”",
                    start=0, end=27, title=title, date="2024-03-05", outlet="The Coastal Ledger",
                    speaker="Helen Okafor", url=url, author="Priya Ramaswamy")


def answer(*citations: Citation) -> Answer:
    return Answer("What did the board decide?", True, "It approved the terminal. [1]", citations=citations,
                  as_of="2024-03-05")


def test_a_citation_with_a_url_links_its_title_above_the_quote():
    embed = embeds.answer_embed(answer(citation()))
    field = embed.fields[0]
    assert field.name == "[1] 2024-03-05 - ferry-terminal (Helen Okafor)"
    assert field.value.startswith(f"[Harbour board approves \\[£40m\\] terminal]({URL})\n> “This terminal")
    assert_within_limits(embed)


def test_a_citation_without_a_url_is_shown_as_before():
    field = embeds.answer_embed(answer(citation(url=None))).fields[0]
    assert field.name == embeds.citation_name(citation(url=None))
    assert field.value == embeds.quote_block("“This terminal secures it.”")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://x.example/a b", "ftp://x.example/a",
                                 "https://x.example/" + "a" * 600, "//x.example/a", ""])
def test_an_unusable_url_is_not_linked(url):
    assert embeds.link_target(url) is None
    assert "](" not in embeds.answer_embed(answer(citation(url=url))).fields[0].value


def test_brackets_in_a_url_cannot_end_the_link_early():
    target = embeds.link_target("https://x.example/wiki/Ferry_(boat)<x>")
    assert target == "https://x.example/wiki/Ferry_%28boat%29%3Cx%3E"


def test_timeline_sources_link_their_titles():
    timeline = Answer("terminal", True, "", citations=(citation(1), citation(2, url=None)), as_of="2024-03-05")
    sources = embeds.timeline_embed(timeline).fields[-1].value.splitlines()
    assert sources[0] == f"[1] [Harbour board approves \\[£40m\\] terminal]({URL}) - 2024-03-05 - ferry-terminal"
    assert sources[1] == "[2] Harbour board approves \\[£40m\\] terminal - 2024-03-05 - ferry-terminal"


def test_source_and_passage_embeds_link_their_title_to_the_article():
    info = SourceInfo("ferry-terminal", "Harbour board approves", "2024-03-05", "The Coastal Ledger", URL,
                      "Priya Ramaswamy")
    text = "The harbour board approved the terminal."
    article = Article("ferry-terminal", text, body=((0, len(text)),), url=URL, author="Priya Ramaswamy")
    chunk = Chunk("ferry-terminal#0", "ferry-terminal", 0, len(text), text)
    view = SourceView(info, article, (chunk,))
    source = embeds.source_embed(view)
    assert source.url == URL and "**Author:** Priya Ramaswamy" in source.description
    assert embeds.full_text_embeds(view)[0].url == URL
    [passage] = embeds.passages_embeds([Hit(chunk, 0.9, info, 1)])
    assert passage.url == URL
    assert_within_limits(source)


def test_many_long_urls_still_fit_an_answer(huge_answer):
    long_url = "https://x.example/" + "p/" * 240
    linked = Answer(huge_answer.question, True, huge_answer.answer,
                    citations=tuple(Citation(**{**c.__dict__, "url": long_url}) for c in huge_answer.citations),
                    notes=huge_answer.notes, as_of=huge_answer.as_of)
    assert_within_limits(embeds.answer_embed(linked))
