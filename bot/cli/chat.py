"""The local chat: a loop over lines typed in a terminal, answered by the same service as Discord."""

from __future__ import annotations

from collections.abc import Callable

from bot.answer.service import NewsService
from bot.cli.render import render_answer, render_hits, render_source, render_sources
from embeddings.errors import NewsbotError

HELP = "Ask about the articles. Commands: :source ID, :sources, :search QUERY, :quit"


def run_chat(service: NewsService, read_line: Callable[[], str], write: Callable[[str], None]) -> None:
    """Answer lines until :quit or the end of input; `:source ID`, `:sources`, `:search QUERY` look things up."""
    write(HELP)
    previous: str | None = None
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
            if line.startswith(":source "):
                write(render_source(service.source(line.split(maxsplit=1)[1])))
            elif line == ":sources":
                write(render_sources(service.sources()))
            elif line.startswith(":search "):
                text = line.split(maxsplit=1)[1]
                write(render_hits(text, service.search(text)))
            elif line.startswith(":"):
                write("Unknown command. Try :source ID, :sources, :search QUERY or :quit")
            else:
                answer = service.ask(line, context=previous if _is_follow_up(line) else None)
                previous = line if not _is_follow_up(line) else previous
                write("\n" + render_answer(answer) + "\n")
        except NewsbotError as exc:
            write(f"error: {exc}")


def _is_follow_up(line: str) -> bool:
    """A short question starting with 'and', 'what about', 'also'... leans on the previous one."""
    lowered = line.lower()
    return len(line.split()) <= 6 and lowered.startswith(("and ", "what about", "how about", "also ", "and?"))
