"""What reaches a terminal (issue 25): escape sequences and bidi overrides in article text, titles and file names are
neutralised in every command's output, terminal or not, and escaped in JSON; a non-UTF-8 locale degrades
characters instead of crashing; a dumb terminal gets plain progress lines."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.fast

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
