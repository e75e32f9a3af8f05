"""The `newsbot` command line: the local test mode over the same answering code as the Discord bot."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from bot.answer.contract import (
    add_json,
    answer_json,
    build_report_json,
    question_report_json,
    search_json,
    source_json,
    sources_json,
    timeline_json,
)
from bot.answer.inputs import QuestionLine, open_question_file, read_question_lines
from bot.answer.questionlog import CLI
from bot.answer.questionlog_sqlite import SqliteQuestionStore
from bot.answer.questionlog_writer import QuestionLog, open_question_log
from bot.answer.questionreport import build_report
from bot.answer.service import NewsService
from bot.cli.chat import answer_lines, emit_lines, run_chat
from bot.cli.logs import configure_logging
from bot.cli.output import echo, json_line, safe_line, tolerate_encoding
from bot.cli.postgres import postgres
from bot.cli.progress import TerminalProgress
from bot.cli.render import (
    render_answer,
    render_hits,
    render_question_report,
    render_source,
    render_sources,
    render_timeline,
)
from bot.cli.report_page import render_page
from bot.cli.watch import watch, whatsnew
from bot.settings import Settings
from embeddings.errors import NewsbotError
from embeddings.progress import Report
from embeddings.records import BuildReport, SourceInfo

log = logging.getLogger("newsbot")


class NewsbotGroup(click.Group):
    """Turns every NewsbotError into a one-line message and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NewsbotError as exc:
            echo(f"newsbot: error: {safe_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            echo("newsbot: interrupted", err=True)
            ctx.exit(130)


def _emit(payload: object) -> None:
    echo(json_line(payload))


def _service(ctx: click.Context) -> NewsService:
    state = ctx.find_root().obj
    if "service" not in state:
        state["service"] = NewsService(state["settings"])
    return state["service"]


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj["settings"]


def _questions(ctx: click.Context) -> QuestionLog:
    """The question log, opened once per run and written out when the command ends."""
    root = ctx.find_root()
    if "questions" not in root.obj:
        root.obj["questions"] = open_question_log(_settings(ctx))
        root.call_on_close(root.obj["questions"].close)
    return root.obj["questions"]


def read_lines(path: Path) -> Iterator[QuestionLine]:
    """Yield the lines of a question file: JSON Lines (a `question` field) or plain text (one a line)."""
    handle = open_question_file(path, sys.stdin)
    try:
        yield from read_question_lines(handle, str(path))
    finally:
        if handle is not sys.stdin:
            handle.close()


def read_batch(path: Path) -> Iterator[str]:
    """Yield questions from JSON Lines (a `question` field) or plain text (one a line)."""
    for line in read_lines(path):
        yield line.question


@click.group(cls=NewsbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index directory [NEWSBOT_INDEX_DIR].")
@click.option("--model", help="sentence-transformers model name or path [NEWSBOT_MODEL].")
@click.option("-v", "--verbose", count=True, help="Log more: newsbot's debug lines and other libraries' INFO "
              "(-vv: their DEBUG).")
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None, model: str | None, verbose: int) -> None:
    """newsbot: ask questions of the news articles and get answers with verbatim citations."""
    tolerate_encoding()
    state = ctx.ensure_object(dict)
    settings = state.get("settings") or Settings.from_env()
    settings = settings.with_overrides(index_dir=index_dir, model=model)
    configure_logging(settings.log_level, verbose)
    state["settings"] = settings


@cli.command()
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds directory [NEWSBOT_SEEDS_DIR].")
@click.option("--rebuild", is_flag=True, help="Re-embed everything instead of reusing vectors.")
@click.option("--allow-shrink", is_flag=True, help="Build even when most of the index's articles would be removed.")
@click.option("--quiet", is_flag=True, help="Print only warnings and the summary line.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def index(ctx: click.Context, seeds: Path | None, rebuild: bool, allow_shrink: bool, quiet: bool,
          as_json: bool) -> None:
    """Build or update the index; only new or changed articles are embedded. A build that would remove most of the
    index's articles (a wrong or empty seeds directory) is refused unless --allow-shrink."""
    state = ctx.find_root().obj
    if seeds is not None:
        state["settings"] = _settings(ctx).with_overrides(seeds_dir=seeds)
        state.pop("service", None)
    service = _service(ctx)

    with _build_output(quiet or as_json) as (say, phases):
        report = service.reindex(rebuild=rebuild, report=say, progress=phases, allow_shrink=allow_shrink)
    for warning in report.warnings:
        echo(f"warning: {safe_line(warning)}", err=True)
    if as_json:
        _emit(build_report_json(report))
    else:
        _summarize(report)


@contextlib.contextmanager
def _build_output(silent: bool) -> Iterator[tuple[Report, TerminalProgress]]:
    """A build's messages on stderr and its phases drawn on a terminal (neither when silent), closed at the end."""
    phases = TerminalProgress(enabled=False if silent else None)

    def say(message: str) -> None:
        if not silent:
            phases.close()  # a message starts on a line of its own, after the phase drawn so far
            echo(safe_line(message), err=True)

    try:
        yield say, phases
    finally:
        phases.close()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds directory [NEWSBOT_SEEDS_DIR].")
@click.option("--quiet", is_flag=True, help="Print only warnings and the summary lines.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def add(ctx: click.Context, paths: tuple[Path, ...], seeds: Path | None, quiet: bool, as_json: bool) -> None:
    """Copy pages, feeds, exports or .txt articles into the seeds directory and update the index, in one step."""
    state = ctx.find_root().obj
    if seeds is not None:
        state["settings"] = _settings(ctx).with_overrides(seeds_dir=seeds)
        state.pop("service", None)

    with _build_output(quiet or as_json) as (say, phases):
        added, report = _service(ctx).add(list(paths), report=say, progress=phases)
    for warning in (*added.warnings, *report.warnings):
        echo(f"warning: {safe_line(warning)}", err=True)
    if as_json:
        _emit(add_json(added, report))
        return
    for name, count in added.copied:
        echo(safe_line(f"added {name} to {_settings(ctx).seeds_dir} ({count} article{'s' if count != 1 else ''})"))
    for name in added.unchanged:
        echo(safe_line(f"{name} is already in {_settings(ctx).seeds_dir}, unchanged"))
    _summarize(report)


def _summarize(report: BuildReport) -> None:
    """An index run's summary: what reading kept and left out, then what the build did."""
    for line in report.cleaning.lines() if report.cleaning else ():
        echo(safe_line(line), err=line.startswith("WARNING"))
    echo(safe_line(report.summary()))


@cli.command()
@click.argument("question", required=False)
@click.option("--from-file", "from_file", type=click.Path(path_type=Path), help="Questions: JSON Lines or text.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.pass_context
def ask(ctx: click.Context, question: str | None, from_file: Path | None, as_json: bool) -> None:
    """Answer a question with cited, verbatim quotes; in a file, lines with a `conversation` field are the turns of
    that conversation, in order."""
    if not from_file and not (question or "").strip():
        raise click.UsageError("give a QUESTION or --from-file FILE")
    service, questions = _service(ctx), _questions(ctx)
    if from_file:
        # Line by line: the lines before a bad one are answered before it is reported, by its own number.
        for payload, answer in answer_lines(service, read_lines(from_file), questions=questions):
            _emit(payload) if as_json else echo(render_answer(answer) + "\n")
        return
    started = time.perf_counter()
    answer = service.ask(question or "")
    questions.record(answer, channel=CLI, latency_s=time.perf_counter() - started)
    _emit(answer_json(answer)) if as_json else echo(render_answer(answer))


@cli.command()
@click.argument("query", required=False)
@click.option("--k", "k", type=click.IntRange(1, 50), default=None, help="How many passages [NEWSBOT_TOP_K].")
@click.option("--from-file", "from_file", type=click.Path(path_type=Path), help="Queries: JSON Lines or text.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.pass_context
def search(ctx: click.Context, query: str | None, k: int | None, from_file: Path | None, as_json: bool) -> None:
    """Show the passages most relevant to a query, ranked, with scores."""
    if not from_file and not (query or "").strip():
        raise click.UsageError("give a QUERY or --from-file FILE")
    service = _service(ctx)
    for text in (read_batch(from_file) if from_file else [query or ""]):
        hits = service.search(text, k)
        for notice in service.clean(text).notices:
            echo(f"note: {safe_line(notice)}", err=True)
        echo(json_line(search_json(text, hits)) if as_json else render_hits(text, hits))


@cli.command()
@click.argument("topic")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def timeline(ctx: click.Context, topic: str, as_json: bool) -> None:
    """What the articles said on a topic, in date order, with citations."""
    if not topic.strip():
        raise click.UsageError("give a TOPIC")
    result = _service(ctx).timeline(topic)
    if as_json:
        _emit(timeline_json(result))
    else:
        echo(render_timeline(result))


@cli.command()
@click.argument("source_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def source(ctx: click.Context, source_id: str, as_json: bool) -> None:
    """Show one article: metadata, cleaned text and its passages."""
    view = _service(ctx).source(source_id)
    if as_json:
        _emit(source_json(view))
        return
    echo(render_source(view))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the articles with their dates, newest first."""
    infos = _service(ctx).sources()
    if as_json:
        _emit(sources_json(infos))
    else:
        echo(render_sources(infos))


@cli.command()
@click.option("--json", "as_json", is_flag=True,
              help="Read questions from standard input (text or JSON objects with a `question` field) as one "
                   "conversation; write one JSON object per answer line.")
@click.pass_context
def chat(ctx: click.Context, as_json: bool) -> None:
    """Interactive local chat, one conversation: follow-ups are read with it; `:new`, `:source ID`, `:sources`,
    `:search QUERY`, `:quit`."""
    service = _service(ctx)
    if as_json:
        service.load()
        emit_lines(service, read_question_lines(sys.stdin, "<stdin>"), echo, default="chat",
                   questions=_questions(ctx))
        return
    echo("Loading the model and index...", err=True)
    service.warm_up()
    run_chat(service, read_line=lambda: input("you> "), write=echo, questions=_questions(ctx))


@cli.command(name="eval")
@click.option("--questions", "questions_file", type=click.Path(path_type=Path),
              help="JSON Lines questions with gold sources and evidence.")
@click.option("--conversations", "conversations_file", type=click.Path(path_type=Path),
              help="JSON Lines conversations: turns with a gold standalone question each.")
@click.option("--ablation", is_flag=True,
              help="Also answer without the reader (the answer model fit without it) and show both, with the "
                   "reader's cost per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def evaluate_command(ctx: click.Context, questions_file: Path | None, conversations_file: Path | None,
                     ablation: bool, as_json: bool) -> None:
    """Measure hit@5, MRR@10, evidence coverage, answer accuracy and verbatim quotes; or, for conversations,
    follow-up accuracy, agreement with the gold standalone questions and unanswerable follow-ups declined."""
    from bot.answer import evaluation

    if (questions_file is None) == (conversations_file is None):
        raise click.UsageError("give --questions FILE or --conversations FILE")
    service = _service(ctx)
    if conversations_file is not None:
        conversations = evaluation.read_conversations(conversations_file)
        service.load()
        result = evaluation.evaluate_conversations(conversations, service.converse, service.ask)
        _emit(result) if as_json else echo(evaluation.render_conversation_evaluation(result))
        return
    questions = evaluation.read_questions(questions_file)
    service.load()
    # Quotes are checked against each article's text of record, as the index read it (the one safe reader).
    texts = {source_id: article.text for source_id, article in service.index.articles.items()}
    result = evaluation.evaluate(questions, service.search, service.ask, texts)
    if ablation:
        without = service.answering(ablation=True)
        result = evaluation.ablation(result, evaluation.evaluate(questions, service.search, without.ask, texts))
    if as_json:
        _emit(result)
    else:
        echo(evaluation.render_ablation(result) if ablation else evaluation.render_evaluation(result))


@cli.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only the questions asked from this day "
              "on (YYYY-MM-DD, UTC); default: all the log keeps.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the report as a self-contained "
              "HTML page to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of the summary.")
@click.pass_context
def report(ctx: click.Context, since: datetime | None, out: Path | None, as_json: bool) -> None:
    """What readers asked and did not get, from the question log: per day, declines by rule, unanswered questions
    grouped by subject with the closest passages, answers rated down, the most cited sources, latency."""
    settings = _settings(ctx)
    store = SqliteQuestionStore(settings.feedback_db)
    start = since.replace(tzinfo=UTC) if since else None
    notes = ["NEWSBOT_QUESTION_LOG is off: no new questions are being logged."] * (settings.question_log == "off")
    try:
        store.expire(datetime.now(UTC) - timedelta(days=settings.question_log_days))
        rows = store.read(start)
    except (sqlite3.Error, OSError) as error:
        raise NewsbotError(f"cannot read the question log in {settings.feedback_db}: {error}") from None
    service = _service(ctx)
    try:
        index = service.index
    except NewsbotError as error:
        # The log alone still makes a report: without the archive, groups come without passages, sources untitled.
        notes.append(f"No passages or titles: {error}")
        result = build_report(rows, service.embedder, since=start.date() if start else None, notes=notes)
    else:
        def describe(source_id: str) -> SourceInfo | None:
            return index.source(source_id) if source_id in index.articles else None

        result = build_report(rows, service.embedder, service.search, describe,
                              since=start.date() if start else None, notes=notes)
    if out is not None:
        try:
            out.write_text(render_page(result), encoding="utf-8")
        except OSError as error:
            raise NewsbotError(f"cannot write {out}: {error.strerror or error}") from None
    if as_json:
        _emit(question_report_json(result))
    else:
        click.echo(render_question_report(result))
        if out is not None:
            click.echo(f"\nThe report is in {out}")


@cli.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN)."""
    run_discord = ctx.find_root().obj.get("serve")
    if run_discord is None:
        raise NewsbotError("this command line was started without the Discord bot: run `newsbot serve`")
    run_discord(_settings(ctx))


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """The main job: the Discord bot when DISCORD_TOKEN is set, otherwise the local chat."""
    if _settings(ctx).discord_token:
        ctx.invoke(serve)
    else:
        echo("DISCORD_TOKEN is not set: starting the local chat (`newsbot serve` runs the Discord bot).",
                   err=True)
        ctx.invoke(chat)


cli.add_command(postgres)
cli.add_command(watch)
cli.add_command(whatsnew)
