"""Build progress on a terminal, silence elsewhere, and third-party logs kept at WARNING."""

from __future__ import annotations

import io
import logging

import pytest

from bot.cli import progress as progress_module
from bot.cli.logs import configure_logging
from bot.cli.progress import TerminalProgress

pytestmark = pytest.mark.fast


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_each_phase_is_one_line_redrawn_with_its_rate_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    monkeypatch.setenv("TERM", "xterm-256color")
    stream = Terminal()
    shown = TerminalProgress(stream)
    shown("read", 0, 100, "files")
    shown("read", 50, 100, "files")
    shown("read", 100, 100, "files")
    shown("embed", 10, 1000, "characters")
    shown("embed", 500, 1000, "characters")
    shown.close()
    text = stream.getvalue()
    assert "\r\033[Kread    50.0%  50/100 files  50 files/s, ETA 1s" in text
    assert "\r\033[Kread   100.0%  100/100 files  in 2s\n" in text
    assert "\r\033[Kembed   50.0%  500/1,000 characters  71 characters/s, ETA 7s" in text
    assert text.endswith("\n") and text.count("\n") == 2


def test_nothing_is_drawn_off_a_terminal_or_when_quiet() -> None:
    for stream, enabled in ((io.StringIO(), None), (Terminal(), False)):
        shown = TerminalProgress(stream, enabled=enabled)
        shown("read", 1, 2, "files")
        shown.close()
        assert stream.getvalue() == ""


def test_other_libraries_say_warnings_only_unless_asked() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("INFO")
        assert logging.getLogger("embeddings.index.directory").isEnabledFor(logging.INFO)
        assert not logging.getLogger("onnx_ir.passes.common").isEnabledFor(logging.INFO)
        assert logging.getLogger("onnx_ir.passes.common").isEnabledFor(logging.WARNING)
        configure_logging("INFO", verbosity=1)
        assert logging.getLogger("onnxscript").isEnabledFor(logging.INFO)
        assert not logging.getLogger("onnxscript").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("bot.cli").isEnabledFor(logging.DEBUG)
        configure_logging("WARNING")
        assert not logging.getLogger("newsbot").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
        for name in ("newsbot", "bot", "embeddings"):
            logging.getLogger(name).setLevel(logging.NOTSET)
