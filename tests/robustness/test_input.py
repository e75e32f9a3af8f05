"""Bad input (issue 6): odd questions and source ids through the service, the CLI and Discord.

Each gets a clear answer or a clear message; nothing crashes; nothing pings; no file outside the index is read.
"""

from __future__ import annotations

import json
import re

import pytest
import simcord
from click.testing import CliRunner

from bot.answer.contract import answer_json
from bot.answer.inputs import NO_WORDS, OTHER_LANGUAGE_NOTICE, clean_question
from bot.answer.service import NewsService
from bot.answer.types import NOT_FOUND, Answer
from bot.cli.app import cli
from bot.discord_bot import embeds
from bot.discord_bot.client import create_bot
from bot.settings import Settings
from embeddings.errors import SourceNotFoundError
from tests.bot.discord_bot.test_bot import assert_pings_nobody, bot_messages, cited_ids, world
from tests.robustness.conftest import opened_files, outside

CROSETTO = "What did Crosetto say about troops?"
CROSETTO_ID = "004_347bbc5789c47b0a"
LONG = CROSETTO + " " + "and what else did he say about the war " * 600  # about 24,000 characters

# (label, question, what the question reads as once cleaned: None when it has no words)
ODD_QUESTIONS = [
    ("empty", "", None),
    ("whitespace", " \t\n  \r\n ", None),
    ("controls and zero-width", "What\x00 did\u200b Cro\u200bsetto\u2060 say\x07 about\u202e troops\ufeff?", CROSETTO),
    ("markdown and code fences", "```\nWhat did **Crosetto** say about _troops_?\n```", CROSETTO),
    ("inline code and quote", "> `What did Crosetto say about troops?`", CROSETTO),
    ("mentions", "@everyone @here <@&123456> <@!987654321> <@987654321> <#5555> What did Crosetto say about troops?",
     CROSETTO),
    ("russian", "Что сказал Крозетто о войсках?", "Что сказал Крозетто о войсках?"),
    ("chinese", "克罗塞托对军队说了什么？", "克罗塞托对军队说了什么？"),
    ("emoji only", "🤔🔥🇺🇦👍🏽", None),
    ("punctuation only", "?!… --- ***", None),
]
BAD_SOURCE_IDS = ["nope", "../../etc/passwd", "/etc/passwd", "..", ".", "x" * 5000, f"{CROSETTO_ID}/../../etc/passwd",
                  f"../seeds/{CROSETTO_ID}", "\x00", "con", "~root", "%2e%2e%2fetc%2fpasswd", "🙂"]


def quotes_are_verbatim(answer: Answer, service: NewsService) -> bool:
    return all(c.quote in service.index.articles[c.source_id].text for c in answer.citations)


# --------------------------------------------------------------------------- the service


@pytest.mark.parametrize(("label", "question", "reads_as"), ODD_QUESTIONS, ids=[q[0] for q in ODD_QUESTIONS])
def test_odd_questions_get_a_clear_answer_or_message(service: NewsService, label: str, question: str,
                                                     reads_as: str | None) -> None:
    answer = service.ask(question)
    assert answer.answer.strip()
    assert quotes_are_verbatim(answer, service)
    if reads_as is None:
        assert (answer.answered, answer.answer, answer.leads) == (False, NO_WORDS, ())
        assert service.search(question) == []
        return
    assert answer.question == reads_as
    if reads_as == CROSETTO:
        # Read exactly as the plain question: same answer, same citations.
        plain = service.ask(CROSETTO)
        assert answer.answered and answer.citations == plain.citations
        assert CROSETTO_ID in {c.source_id for c in answer.citations}
        assert [h.chunk.chunk_id for h in service.search(question)] == [h.chunk.chunk_id for h in
                                                                        service.search(CROSETTO)]
    else:
        # Not English: the articles (in English) don't answer it, and the answer says why it may miss them.
        assert answer.answer.startswith(NOT_FOUND)
        assert OTHER_LANGUAGE_NOTICE in answer.notices
    assert not re.search(r"\d{4,}", answer.question), "mention ids never reach retrieval"


def test_a_20000_character_question_is_answered_on_its_first_part_with_a_notice(service: NewsService) -> None:
    limit = service.settings.max_question_chars
    assert len(LONG) > 20_000
    answer = service.ask(LONG)
    assert len(answer.question) <= limit and LONG.startswith(answer.question)
    assert answer.notices == (f"Your question was {len(LONG):,} characters long: only its first {limit:,} were used.",)
    # Exactly the answer to the question as cut, plus the notice.
    cut = service.ask(answer.question)
    assert (answer.answered, answer.answer, answer.citations, cut.notices) == (cut.answered, cut.answer,
                                                                               cut.citations, ())
    assert answer_json(answer)["notices"] == list(answer.notices)
    assert service.search(LONG)  # a long query is cut too, never refused
    timeline = service.timeline(LONG)
    assert timeline.notices == answer.notices


def test_cleaning_is_idempotent_and_bounded() -> None:
    for _, question, _ in ODD_QUESTIONS:
        once = clean_question(question, 2000)
        assert clean_question(once.text, 2000).text == once.text
    huge = clean_question("word " * 2_000_000, 2000)  # ten million characters pasted: cut, not scanned for long
    assert len(huge.text) <= 2000 and huge.truncated and "10,000,000 characters" in huge.notices[0]


# --------------------------------------------------------------------------- the CLI


@pytest.fixture()
def run(service: NewsService, settings: Settings):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": service}, input=input)

    return invoke


def test_cli_answers_a_20000_character_question_with_the_notice(run) -> None:
    result = run("ask", LONG)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("(Your question was ") and "only its first 2,000 were used" in result.output
    assert CROSETTO_ID in result.output  # cited, or shown among the closest passages
    payload = json.loads(run("ask", LONG, "--json").output)
    assert payload["notices"] and len(payload["question"]) <= 2000
    searched = run("search", LONG, "--json")
    assert searched.exit_code == 0 and json.loads(searched.stdout)["results"]


def test_cli_batch_of_odd_questions_answers_each_in_order(run, tmp_path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps({"question": q}) + "\n" for _, q, _ in ODD_QUESTIONS), encoding="utf-8")
    result = run("ask", "--from-file", str(path), "--json")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert len(answers) == len(ODD_QUESTIONS)
    for (_, _, reads_as), answer in zip(ODD_QUESTIONS, answers, strict=True):
        if reads_as is not None:
            assert answer["question"] == reads_as
        else:
            assert answer["answer"] == NO_WORDS and not answer["leads"]


@pytest.mark.parametrize("question", ["\u200b\u200b", "🤔", "```\n```"])
def test_cli_a_question_without_words_is_a_clear_message(run, question: str) -> None:
    result = run("ask", question)
    assert result.exit_code == 0 and result.output.strip() == NO_WORDS


@pytest.mark.parametrize("source_id", BAD_SOURCE_IDS)
def test_cli_unknown_source_ids_read_no_file(run, settings: Settings, source_id: str) -> None:
    with opened_files() as opened:
        result = run("source", source_id)
    assert result.exit_code == 1 and "no such source" in result.output and "root:" not in result.output
    assert outside(opened, settings.index_dir) == []


# --------------------------------------------------------------------------- source ids in the service


@pytest.mark.parametrize("source_id", BAD_SOURCE_IDS)
def test_unknown_source_ids_are_not_found_and_read_no_file(service: NewsService, settings: Settings,
                                                           source_id: str) -> None:
    with opened_files() as opened, pytest.raises(SourceNotFoundError, match="no such source") as caught:
        service.source(source_id)
    assert opened == []  # the service only ever reads the loaded index, never a path it is given
    assert len(str(caught.value)) < 200 and "\n" not in str(caught.value)


def test_an_absolute_path_to_a_real_seed_is_not_a_source(service: NewsService, settings: Settings) -> None:
    path = settings.seeds_dir / f"{CROSETTO_ID}.txt"
    assert path.is_file()
    for candidate in (str(path), str(path.with_suffix("")), f"{CROSETTO_ID}.txt"):
        with opened_files() as opened, pytest.raises(SourceNotFoundError):
            service.source(candidate)
        assert opened == []
    assert service.source(f"  {CROSETTO_ID} ").info.source_id == CROSETTO_ID


# --------------------------------------------------------------------------- Discord


async def test_odd_questions_on_discord_get_an_answer_or_a_note_and_ping_nobody(simcord_env: simcord.Env) -> None:
    _, channel, alice = world(simcord_env)
    mention = simcord_env.bot.user.mention
    for _, question, reads_as in ODD_QUESTIONS:
        before = len(channel.threads)
        await alice.send(channel, f"{mention} {question}")
        if reads_as is None:
            assert channel.last_message.content == embeds.NO_QUESTION
            assert len(channel.threads) == before
        else:
            assert len(channel.threads) == before + 1
            [answer] = bot_messages(channel.threads[-1], simcord_env)
            assert answer.embeds[0].title == reads_as
            if reads_as == CROSETTO:
                assert CROSETTO_ID in cited_ids(answer.embeds[0])
        result = await alice.slash(channel, "ask", question=question or "\u200b")
        if reads_as is None:
            assert result.ephemeral and result.response.content == embeds.NO_QUESTION
        else:
            assert result.response.embeds[0].title == reads_as
        search = await alice.slash(channel, "search", query=question or "\u200b")
        assert search.response.embeds or search.response.content == "Please give a query."
    assert simcord_env.errors == []
    assert_pings_nobody(simcord_env)


async def test_an_overlong_question_on_discord_is_answered_with_a_note(bot_settings: Settings,
                                                                     service: NewsService) -> None:
    short = bot_settings.with_overrides(max_question_chars=500)
    async with simcord.run(create_bot(short, service=NewsService(short, service.embedder)),
                           settle_timeout=120) as env:
        await overlong_questions(env)


async def overlong_questions(env: simcord.Env) -> None:
    _, channel, alice = world(env)
    message = (CROSETTO + " and what else" * 150)[:1970]  # a message is at most 2,000 characters
    await alice.send(channel, f"{env.bot.user.mention} {message}")
    thread = channel.threads[-1]
    assert len(thread.name) <= 100
    [answer] = bot_messages(thread, env)
    fields = {f.name: f.value for f in answer.embeds[0].fields}
    assert "only its first 500 were used" in fields[embeds.NOTICE_FIELD]
    assert CROSETTO_ID in " ".join(fields)  # cited, or among the closest passages

    option = (CROSETTO + " and what else" * 450)[:6000]  # the longest a slash command option can be
    result = await alice.slash(channel, "ask", question=option)
    fields = {f.name: f.value for f in result.response.embeds[0].fields}
    assert "6,000 characters long: only its first 500 were used" in fields[embeds.NOTICE_FIELD]
    search = await alice.slash(channel, "search", query=option)
    assert search.response.content.startswith("Your question was 6,000 characters long")
    assert search.response.embeds[0].fields
    timeline = await alice.slash(channel, "timeline", topic=option)
    assert embeds.NOTICE_FIELD in [f.name for f in timeline.response.embeds[0].fields]
    assert_pings_nobody(env)


async def test_unknown_source_ids_on_discord_are_not_found_and_read_no_file(simcord_env: simcord.Env,
                                                                            settings: Settings) -> None:
    _, channel, alice = world(simcord_env)
    for source_id in BAD_SOURCE_IDS:
        with opened_files() as opened:
            result = await alice.slash(channel, "source", id=source_id)
            choices = await alice.autocomplete(channel, "source", "id", source_id[:100])
        note = (result.followups or [result.response])[-1]
        assert note.content.startswith("no such source"), note.content
        assert "root:" not in note.content and len(note.content) <= 300
        assert all(choice["value"] != source_id for choice in choices)
        assert outside(opened, settings.index_dir) == []
    simcord.assert_error(simcord_env, SourceNotFoundError)
