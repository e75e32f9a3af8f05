"""The local chat: a loop over lines typed in a terminal, answered as one conversation by the same code as Discord
threads; and the same conversations for machines (`chat --json`, `ask --from-file` lines with a `conversation`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from bot.answer.contract import answer_json, turn_json
from bot.answer.conversation.state import Conversation
from bot.answer.inputs import QuestionLine
from bot.answer.questionlog import CLI
from bot.answer.questionlog_writer import QuestionLog
from bot.answer.service import NewsService
from bot.answer.types import Answer
from bot.cli.output import json_line
from bot.cli.render import render_answer, render_hits, render_source, render_sources
from embeddings.errors import NewsbotError

HELP = ("Ask about the articles; follow-ups are read with the conversation (\"and the minister?\", \"why?\"). "
        "Commands: :new (a new conversation), :source ID, :sources, :search QUERY, :quit")
MAX_CONVERSATIONS = 1000


def run_chat(service: NewsService, read_line: Callable[[], str], write: Callable[[str], None],
             questions: QuestionLog | None = None) -> None:
    """Answer lines until :quit or the end of input; `:new` starts a new conversation; `:source ID`, `:sources`,
    `:search QUERY` look things up. Questions go to the question log when one is given."""
    questions = questions or QuestionLog(None)
    write(HELP)
    conversation: Conversation | None = None
    while True:
        try:
            line = read_line().strip()
        except EOFError:
            write("")
            return
        if not line:
            continue
        if line in (":quit", ":q", ":exit"):
            return
        try:
            if line == ":new":
                conversation = None
                write("(a new conversation)")
            elif line.startswith(":source "):
                write(render_source(service.source(line.split(maxsplit=1)[1])))
            elif line == ":sources":
                write(render_sources(service.sources()))
            elif line.startswith(":search "):
                text = line.split(maxsplit=1)[1]
                write(render_hits(text, service.search(text)))
            elif line.startswith(":"):
                write("Unknown command. Try :new, :source ID, :sources, :search QUERY or :quit")
            else:
                started = time.perf_counter()
                reply = service.converse(line, conversation)
                questions.record(reply.answer, channel=CLI, latency_s=time.perf_counter() - started,
                                 reading=reply.reading)
                conversation = reply.conversation
                write("\n" + render_answer(reply.answer) + "\n")
        except NewsbotError as exc:
            write(f"error: {exc}")


def answer_lines(service: NewsService, lines: Iterable[QuestionLine], default: str | None = None,
                 questions: QuestionLog | None = None) -> Iterator[tuple[dict[str, object], Answer]]:
    """Answer question lines in order: a line with a `conversation` field (or every line, given a default key) is
    a turn of that conversation; others are questions on their own. Yields each line's JSON object and answer."""
    questions = questions or QuestionLog(None)
    conversations: dict[str, Conversation] = {}
    for line in lines:
        started = time.perf_counter()
        key = line.fields.get("conversation", default)
        if key is None or isinstance(key, bool) or not isinstance(key, str | int):
            if key is not None:
                raise NewsbotError(f"line {line.number}: 'conversation' must be a string or a number")
            answer = service.ask(line.question)
            questions.record(answer, channel=CLI, latency_s=time.perf_counter() - started)
            yield answer_json(answer), answer
            continue
        reply = service.converse(line.question, conversations.pop(str(key), None))
        questions.record(reply.answer, channel=CLI, latency_s=time.perf_counter() - started,
                         reading=reply.reading)
        conversations[str(key)] = reply.conversation
        while len(conversations) > MAX_CONVERSATIONS:
            conversations.pop(next(iter(conversations)))
        yield turn_json(reply) | ({"conversation": key} if key != default else {}), reply.answer


def emit_lines(service: NewsService, lines: Iterable[QuestionLine], write: Callable[[str], None],
               default: str | None = None, questions: QuestionLog | None = None) -> None:
    """Write one JSON object a line for each question line, in order."""
    for payload, _ in answer_lines(service, lines, default, questions):
        write(json_line(payload))
