"""What reaches a terminal (issue 25): escape sequences and bidi overrides in article text, titles and file names are
neutralised in every command's output, terminal or not, and escaped in JSON; a non-UTF-8 locale degrades
characters instead of crashing; a dumb terminal gets plain progress lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from tests.robustness.conftest import tiny_seeds

pytestmark = pytest.mark.fast

# What must never reach a terminal raw: C0 controls but newline and tab, DEL, C1 (\x9b is CSI), bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
TITLE = "Harbour\x1b]0;owned\x07 repairs \u202eevil"
BODY = ("The harbour master said the repairs\x1b[2J\x1b[H would finish in May, “on time”. Engineers confirmed\x9b31m "
        "the plan for the harbour repairs on Tuesday.\u2066 Residents welcomed the news about the harbour repairs.")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, fake_embedder) -> Settings:
    base = tmp_path_factory.mktemp("hostile")
    seeds = tiny_seeds(base / "seeds", 3)
    (seeds / "harbour.txt").write_text(f"{TITLE}\n2024-03-01\n\n{BODY}\n", encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=base / "index", feedback_db=base / "feedback.sqlite3")
    assert invoke(settings, fake_embedder, "index").exit_code == 0
    return settings


def invoke(settings: Settings, embedder, *args: str, **kwargs):
    runner = CliRunner(**kwargs.pop("runner", {}))
    return runner.invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)},
                         **kwargs)


COMMANDS = [
    ["ask", "What did the harbour master say about the harbour repairs?"],
    ["search", "harbour repairs"],
    ["source", "harbour"],
    ["sources"],
    ["timeline", "harbour repairs"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_control_and_bidi_characters_of_articles_never_reach_the_output(hostile: Settings, fake_embedder,
                                                                        command: list[str]) -> None:
    result = invoke(hostile, fake_embedder, *command)
    assert result.exit_code == 0, result.output
    assert "harbour" in result.stdout.lower()
    assert not RAW.findall(result.stdout) and not RAW.findall(result.stderr), RAW.findall(result.output)
    if command[0] in ("source", "sources"):
        assert "\\x1b]0;owned\\x07 repairs \\u202eevil" in result.stdout  # shown as escapes, not dropped


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_json_strings_escape_them(hostile: Settings, fake_embedder, command: list[str]) -> None:
    result = invoke(hostile, fake_embedder, *command, "--json")
    assert result.exit_code == 0, result.output
    assert not RAW.findall(result.stdout), RAW.findall(result.stdout)
    payload = json.loads(result.stdout)
    if command[0] in ("source", "sources"):
        assert TITLE in strings(payload)  # the data itself is intact once parsed


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def test_file_names_with_escapes_or_line_breaks_print_as_one_line(hostile: Settings, fake_embedder,
                                                                  tmp_path: Path) -> None:
    from tests.embeddings.ingest.readers.conftest import FEEDS

    name = "a\nnewsbot: error: fake\x1b[31m.rss"
    (tmp_path / name).write_bytes((FEEDS / "coastal-ledger.rss").read_bytes())
    (tmp_path / "broken\x1b]0;x\x07.xml").write_bytes(b"not a feed")
    result = invoke(hostile, fake_embedder, "add", str(tmp_path / name), str(tmp_path / "broken\x1b]0;x\x07.xml"))
    assert result.exit_code == 0, result.output
    assert not RAW.findall(result.output)
    assert not [line for line in result.output.splitlines() if line.startswith("newsbot: error")]
    assert "added a\\x0anewsbot: error: fake\\x1b[31m.rss to " in result.stdout
    result = invoke(hostile, fake_embedder, "index")
    assert result.exit_code == 0 and not RAW.findall(result.output), result.output
    assert not [line for line in result.output.splitlines() if line.startswith("newsbot: error")]


@pytest.mark.parametrize("charset", ["iso-8859-1", "ascii"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_locale_that_cannot_encode_curly_quotes_degrades_them(hostile: Settings, fake_embedder, charset: str,
                                                                command: list[str]) -> None:
    result = invoke(hostile, fake_embedder, *command, runner={"charset": charset})
    assert result.exit_code == 0, (result.output, result.exception)
    assert "harbour" in result.stdout.lower()
    if command[0] == "source":
        assert '"on time"' in result.stdout  # the curly quotes, as plain ones
    result = invoke(hostile, fake_embedder, *command, "--json", runner={"charset": charset})
    assert result.exit_code == 0, (result.output, result.exception)
    payload = json.loads(result.stdout)  # stand-ins would change the data: JSON escapes what the locale lacks
    if command[0] == "source":
        assert "“on time”" in payload["text"]


def test_a_dumb_terminal_gets_plain_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from bot.cli.progress import TerminalProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "dumb")
    stream = Terminal()
    shown = TerminalProgress(stream)
    for phase, total in (("read", 200), ("embed", 1000), ("write", 10)):
        for done in range(0, total + 1, total // 4):
            shown(phase, done, total, "units")
    shown("write", 10, 10, "units")  # a phase may report its end twice
    shown.close()
    lines = stream.getvalue().splitlines()
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert [line.split()[0] for line in lines] == ["read", "embed", "write"]
    assert all("100.0%" in line for line in lines)
