"""The `newsbot` command line: the local test mode over the same answering code as the Discord bot."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from bot.answer.service import NewsService
from bot.cli.render import render_answer, render_hits, render_sources, render_timeline, search_as_dict
from bot.settings import Settings
from embeddings.errors import NewsbotError

log = logging.getLogger("newsbot")


class NewsbotGroup(click.Group):
    """Turns every NewsbotError into a one-line message and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NewsbotError as exc:
            click.echo(f"newsbot: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("newsbot: interrupted", err=True)
            ctx.exit(130)


def _emit(payload: object) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False))


def _service(ctx: click.Context) -> NewsService:
    state = ctx.find_root().obj
    if "service" not in state:
        state["service"] = NewsService(state["settings"])
    return state["service"]


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj["settings"]


def read_batch(path: Path) -> Iterator[str]:
    """Yield questions from JSON Lines (a `question` field) or plain text (one a line)."""
    try:
        handle = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    except OSError as exc:
        raise NewsbotError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    row = json.loads(line)
                    question = row["question"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise NewsbotError(f"{path}:{number}: expected an object with a 'question' field") from exc
                yield str(question)
            else:
                yield line


@click.group(cls=NewsbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index directory [NEWSBOT_INDEX_DIR].")
@click.option("--model", help="sentence-transformers model name or path [NEWSBOT_MODEL].")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None, model: str | None, verbose: bool) -> None:
    """newsbot: ask questions of the news articles and get answers with verbatim citations."""
    state = ctx.ensure_object(dict)
    settings = state.get("settings") or Settings.from_env()
    settings = settings.with_overrides(index_dir=index_dir, model=model)
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    state["settings"] = settings


@cli.command()
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds directory [NEWSBOT_SEEDS_DIR].")
@click.option("--rebuild", is_flag=True, help="Re-embed everything instead of reusing vectors.")
@click.option("--quiet", is_flag=True, help="Print only warnings and the summary line.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def index(ctx: click.Context, seeds: Path | None, rebuild: bool, quiet: bool, as_json: bool) -> None:
    """Build or update the index; only new or changed articles are embedded."""
    state = ctx.find_root().obj
    if seeds is not None:
        state["settings"] = _settings(ctx).with_overrides(seeds_dir=seeds)
        state.pop("service", None)
    service = _service(ctx)

    def progress(message: str) -> None:
        if not quiet and not as_json:
            click.echo(message, err=True)

    report = service.reindex(rebuild=rebuild, report=progress)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        _emit(report.as_dict())
    else:
        click.echo(report.summary())


@cli.command()
@click.argument("question", required=False)
@click.option("--from-file", "from_file", type=click.Path(path_type=Path), help="Questions: JSON Lines or text.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.pass_context
def ask(ctx: click.Context, question: str | None, from_file: Path | None, as_json: bool) -> None:
    """Answer a question with cited, verbatim quotes."""
    service = _service(ctx)
    questions = list(read_batch(from_file)) if from_file else [question or ""]
    if not from_file and not (question or "").strip():
        raise click.UsageError("give a QUESTION or --from-file FILE")
    for text in questions:
        answer = service.ask(text)
        if as_json:
            _emit(answer.as_dict())
        else:
            click.echo(render_answer(answer) + ("\n" if from_file else ""))


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
            click.echo(f"note: {notice}", err=True)
        click.echo(json.dumps(search_as_dict(text, hits), ensure_ascii=False) if as_json else render_hits(text, hits))


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
        _emit(result.as_dict() | {"timeline": [
            {"date": p.date, "text": p.text, "speaker": p.speaker, "citations": list(p.citations), "note": p.note}
            for p in result.points
        ]})
    else:
        click.echo(render_timeline(result))


@cli.command()
@click.argument("source_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def source(ctx: click.Context, source_id: str, as_json: bool) -> None:
    """Show one article: metadata, cleaned text and its passages."""
    view = _service(ctx).source(source_id)
    if as_json:
        _emit(view.as_dict())
        return
    info = view.info
    click.echo(f"{info.title or '(untitled)'}\n{info.date or 'undated'} - {info.source_id}"
               + (f" - {info.outlet}" if info.outlet else ""))
    provenance = ", ".join(f"{k} from {v}" for k, v in view.article.provenance)
    if provenance:
        click.echo(f"({provenance})")
    click.echo("\n" + view.article.clean_text + "\n")
    click.echo(f"{len(view.chunks)} passages:")
    for chunk in view.chunks:
        preview = chunk.text if len(chunk.text) <= 90 else chunk.text[:89] + "…"
        click.echo(f"  {chunk.chunk_id} [{chunk.start}:{chunk.end}] {preview}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the articles with their dates, newest first."""
    infos = _service(ctx).sources()
    if as_json:
        _emit({"sources": [{"source_id": i.source_id, "title": i.title, "date": i.date, "outlet": i.outlet}
                           for i in infos]})
    else:
        click.echo(render_sources(infos))


@cli.command()
@click.pass_context
def chat(ctx: click.Context) -> None:
    """Interactive local chat: ask questions; `:source ID`, `:sources`, `:search QUERY`, `:quit`."""
    service = _service(ctx)
    click.echo("Loading the model and index...", err=True)
    service.warm_up()
    click.echo("Ask about the articles. Commands: :source ID, :sources, :search QUERY, :quit")
    previous: str | None = None
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            click.echo()
            return
        if not line:
            continue
        if line in (":quit", ":q", ":exit"):
            return
        try:
            if line.startswith(":source "):
                ctx.invoke(source, source_id=line.split(maxsplit=1)[1], as_json=False)
            elif line == ":sources":
                ctx.invoke(sources, as_json=False)
            elif line.startswith(":search "):
                text = line.split(maxsplit=1)[1]
                click.echo(render_hits(text, service.search(text)))
            elif line.startswith(":"):
                click.echo("Unknown command. Try :source ID, :sources, :search QUERY or :quit")
            else:
                answer = service.ask(line, context=previous if _is_follow_up(line) else None)
                previous = line if not _is_follow_up(line) else previous
                click.echo("\n" + render_answer(answer) + "\n")
        except NewsbotError as exc:
            click.echo(f"error: {exc}")


def _is_follow_up(line: str) -> bool:
    """A short question starting with 'and', 'what about', 'also'... leans on the previous one."""
    lowered = line.lower()
    return len(line.split()) <= 6 and lowered.startswith(("and ", "what about", "how about", "also ", "and?"))


@cli.command(name="eval")
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), required=True,
              help="JSON Lines questions with gold sources and evidence.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def evaluate_command(ctx: click.Context, questions_file: Path, as_json: bool) -> None:
    """Measure hit@5, MRR@10, evidence coverage, answer accuracy and verbatim quotes."""
    from bot.answer.evaluation import evaluate, read_questions, render_evaluation

    service = _service(ctx)
    questions = read_questions(questions_file)
    service.load()
    texts = {source_id: article.text for source_id, article in service.index.articles.items()}
    seeds = _settings(ctx).seeds_dir
    for source_id in list(texts):
        path = seeds / f"{source_id}.txt"
        if path.is_file():
            texts[source_id] = path.read_text(encoding="utf-8")
    result = evaluate(questions, service.search, service.ask, texts)
    if as_json:
        _emit(result)
    else:
        click.echo(render_evaluation(result))


@cli.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN)."""
    from bot.discord_bot.client import run_bot

    run_bot(_settings(ctx))


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """The main job: the Discord bot when DISCORD_TOKEN is set, otherwise the local chat."""
    if _settings(ctx).discord_token:
        ctx.invoke(serve)
    else:
        click.echo("DISCORD_TOKEN is not set: starting the local chat (`newsbot serve` runs the Discord bot).",
                   err=True)
        ctx.invoke(chat)




def main() -> None:
    """Console-script entry point."""
    cli(prog_name="newsbot")
