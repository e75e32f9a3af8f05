"""The pure formatting functions: every part of every embed and text stays within Discord's limits."""

from __future__ import annotations

import random

import discord
import pytest

from bot.answer.types import NOT_FOUND, Answer, Citation, SourceView
from bot.discord_bot import embeds, limits
from embeddings.errors import IndexMissingError, SourceNotFoundError
from embeddings.records import Article, BuildReport, Chunk, SourceInfo

pytestmark = pytest.mark.fast


def assert_within_limits(embed: discord.Embed) -> None:
    """Check every part of an embed against Discord's limits, using discord.Embed's own len()."""
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert 0 < len(field.name or "") <= 256
        assert 0 < len(field.value or "") <= 1024
    assert len(embed.footer.text or "") <= 2048
    assert len(embed.author.name or "") <= 256
    assert len(embed) <= 6000
    assert limits.embed_parts_ok(embed)


# --------------------------------------------------------------------------- primitives


@pytest.mark.parametrize("limit", [0, 1, 2, 5, 10, 100])
def test_shorten_respects_the_limit_and_marks_cuts(limit: int) -> None:
    text = "word " * 50
    out = limits.shorten(text, limit)
    assert len(out) <= limit
    if limit > 1:
        assert out.endswith("…")
    assert limits.shorten("short", 10) == "short"


def test_split_text_pieces_fit_and_keep_all_words() -> None:
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    text = " ".join(words[:1000]) + ".\n\n" + "\n".join(words[1000:2000]) + " " + "x" * 5000
    pieces = limits.split_text(text, 2000)
    assert all(0 < len(p) <= 2000 for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
    assert limits.split_text("", 10) == []


def test_question_from_message_strips_only_the_bot() -> None:
    content = "<@42> <@!42>  What did <@7> say?  <@&99> <@&5>"
    assert limits.question_from_message(content, 42, [99]) == "What did <@7> say? <@&5>"


def test_thread_name_is_readable_and_short() -> None:
    name = limits.thread_name("<@1> @everyone <@&2> in <#3> " + "why " * 100)
    assert 0 < len(name) <= 100
    assert "<@" not in name and "<#" not in name and "@everyone" not in name
    assert limits.thread_name("   ") == "Question"


# --------------------------------------------------------------------------- fit_embed


def test_fit_embed_enforces_every_limit() -> None:
    embed = discord.Embed(title="t" * 1000, description="d" * 10000)
    for n in range(40):
        embed.add_field(name=f"name {n} " * 100, value=f"value {n} " * 500)
    embed.set_footer(text="f" * 5000)
    embed.set_author(name="a" * 1000)
    fitted = limits.fit_embed(embed)
    assert_within_limits(fitted)
    assert fitted.fields[-1].value.endswith("more not shown")


def test_fit_embed_fuzz() -> None:
    rng = random.Random(3)
    for _ in range(200):
        embed = discord.Embed(title="T" * rng.randint(0, 400), description="D " * rng.randint(0, 5000))
        for _ in range(rng.randint(0, 40)):
            embed.add_field(name="N" * rng.randint(0, 400), value="V " * rng.randint(0, 900))
        if rng.random() < 0.5:
            embed.set_footer(text="F" * rng.randint(1, 3000))
        assert_within_limits(limits.fit_embed(embed))


def test_fit_embed_leaves_small_embeds_alone() -> None:
    embed = discord.Embed(title="Title", description="Text").add_field(name="a", value="b")
    assert limits.fit_embed(embed).to_dict() == embed.to_dict()


def test_paginate_respects_message_totals() -> None:
    many = [discord.Embed(description="x" * 3000) for _ in range(25)]
    pages = limits.paginate(many)
    assert sum(len(p) for p in pages) == 25
    for page in pages:
        assert len(page) <= 10
        assert sum(len(e) for e in page) <= 6000


# --------------------------------------------------------------------------- answers


def test_huge_answer_stays_within_every_limit(huge_answer: Answer) -> None:
    embed = embeds.answer_embed(huge_answer)
    assert_within_limits(embed)
    # The citations that show keep their id visible even when the headline is cut.
    assert all("_abab" in f.name for f in embed.fields if f.name.startswith("["))
    assert embed.footer.text == "as of 2024-03-10"
    for page in embeds.passages_pages(huge_answer.leads):
        assert len(page) <= 10 and sum(len(e) for e in page) <= 6000
        for embed in page:
            assert_within_limits(embed)


def test_answer_embed_layout() -> None:
    answer = Answer(
        question="What did Crosetto say about troops?", answered=True, answer="He said no. [1]",
        citations=(Citation(1, "004_347bbc5789c47b0a", "004#5", "He said no.", 0, 11, "Crosetto opposes troops",
                            "2024-03-10", None, "Crosetto"),),
        as_of="2024-03-10", notes=("Sources differ on the year: 2023 [1]; 2024 [2].",),
    )
    embed = embeds.answer_embed(answer)
    assert embed.title == "What did Crosetto say about troops?"
    assert embed.description == "He said no. \\[1\\]"  # shown as "[1]": every bracket escaped, none a link
    assert embed.fields[0].name == "⚠️ Sources differ"
    assert embed.fields[1].name == "[1] Crosetto opposes troops - 2024-03-10 - 004_347bbc5789c47b0a (Crosetto)"
    assert embed.fields[1].value == "> He said no."
    assert embed.footer.text == "as of 2024-03-10"


def test_unanswered_shows_leads(make_hit) -> None:
    answer = Answer(question="Capital of Peru?", answered=False, answer=NOT_FOUND,
                    leads=tuple(make_hit(r, "lead " * 400) for r in range(1, 9)))
    embed = embeds.answer_embed(answer)
    assert_within_limits(embed)
    assert embed.description.startswith(limits.md(NOT_FOUND))
    assert len(embed.fields) == 8
    assert embed.fields[0].name.startswith("#1 · ")


def test_markdown_in_quotes_is_escaped() -> None:
    answer = Answer(question="q", answered=True, answer="a *b* [1]",
                    citations=(Citation(1, "s", "s#0", "a *b* _c_", 0, 9),))
    embed = embeds.answer_embed(answer)
    assert embed.fields[0].value == r"> a \*b\* \_c\_"


# --------------------------------------------------------------------------- search, sources, about


def test_search_embed_with_ten_long_passages(make_hit) -> None:
    embed = embeds.search_embed("troops " * 100, [make_hit(r, "x " * 2000) for r in range(1, 11)])
    assert_within_limits(embed)
    assert len(embed.fields) == 10
    assert embed.fields[0].name.startswith("#1 · 0.5000 · ")


def test_search_embed_without_hits() -> None:
    assert embeds.search_embed("nothing", []).description == "No passages found."


def source_view(chunks: int, text_chars: int, title: str = "Title") -> SourceView:
    text = ("Sentence of the article. " * (text_chars // 25 + 1))[:text_chars]
    article = Article(source_id="004_x", text=text, title=title, date="2024-03-10", body=((0, len(text)),),
                      provenance=(("date", "metadata (inferred)"),))
    parts = tuple(Chunk(f"004_x#{i}", "004_x", 0, 600, "chunk text " * 60) for i in range(chunks))
    return SourceView(SourceInfo("004_x", title, "2024-03-10"), article, parts)


def test_source_embed_with_many_passages() -> None:
    embed = embeds.source_embed(source_view(100, 1000, title="T" * 900))
    assert_within_limits(embed)
    assert "004_x" in embed.description


def test_full_text_pages_fit_and_are_capped() -> None:
    pages = embeds.full_text_embeds(source_view(1, 100_000))
    assert len(pages) == embeds.MAX_FULL_TEXT_PAGES
    for embed in pages:
        assert_within_limits(embed)
    assert "cut here" in pages[-1].description
    short = embeds.full_text_embeds(source_view(1, 3000))
    assert len(short) == 1 and short[0].title.startswith("Full text: ")


def test_sources_embed_with_many_articles() -> None:
    infos = [SourceInfo(f"{n:04d}_id", "Headline " * 40, "2024-01-01") for n in range(500)]
    embed = embeds.sources_embed(infos)
    assert_within_limits(embed)
    assert "more: use /source" in embed.description


def test_about_embed_never_shows_secrets() -> None:
    about = {"model": "m" * 3000, "articles": 5, "passages": 47, "first_date": "2024-01-10",
             "last_date": "2025-10-29", "discord_token": "SECRET", "api_key": "SECRET", "extra": "shown"}
    embed = embeds.about_embed(about)
    assert_within_limits(embed)
    text = str(embed.to_dict())
    assert "SECRET" not in text
    assert "2024-01-10 to 2025-10-29" in text and "shown" in text


def test_source_choices_are_discord_sized() -> None:
    infos = [SourceInfo(f"{n:03d}_{'f' * 16}", "Crosetto " + "long title " * 30, "2024-03-10") for n in range(60)]
    infos.append(SourceInfo("004_347bbc5789c47b0a", "Crosetto opposes sending Western troops to Ukraine", None))
    choices = embeds.source_choices(infos, "")
    assert len(choices) == 25
    assert all(0 < len(name) <= 100 and len(value) <= 100 for name, value in choices)
    assert embeds.source_choices(infos, "004_347")[0][1] == "004_347bbc5789c47b0a"
    assert embeds.source_choices(infos, "opposes")[0][1] == "004_347bbc5789c47b0a"
    assert embeds.source_choices(infos, "zzz") == []


def test_reindex_text_hides_paths_and_fits() -> None:
    report = BuildReport(path="/secret/path/index", added=tuple(f"{n:04d}" for n in range(900)), chunks=9,
                         embedded=9, warnings=("w" * 100,) * 50)
    text = embeds.reindex_text(report)
    assert len(text) <= 2000 and "/secret/path" not in text
    assert embeds.reindex_text(BuildReport(path="/p", unchanged=("a",), chunks=3, up_to_date=True)) == (
        "The index was already up to date: 1 articles, 3 passages.")


def test_newsbot_errors_are_short_and_hide_server_paths() -> None:
    text = embeds.newsbot_error_text(IndexMissingError("no index at /srv/newsbot/.newsbot/index: run `newsbot index`"))
    assert text == "no index at …/index: run `newsbot index`"
    assert embeds.newsbot_error_text(SourceNotFoundError("no such source: 'a/b'")) == "no such source: 'a/b'"
    assert len(embeds.newsbot_error_text(SourceNotFoundError("x" * 5000))) <= 300
