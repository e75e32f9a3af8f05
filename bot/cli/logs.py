"""Logging for the command line: newsbot's own loggers at the configured level, every other library at WARNING."""

from __future__ import annotations

import logging
import sys

from bot.cli.output import safe_text

# newsbot's own loggers; everything else (onnx_ir, onnxscript, transformers, faiss...) is a third party.
OWN_LOGGERS = ("newsbot", "bot", "embeddings")


def configure_logging(level_name: str, verbosity: int = 0) -> None:
    """Log to stderr: newsbot at `level_name` (DEBUG with -v), other libraries at WARNING (INFO with -v, DEBUG
    with -vv), so that a first index build shows newsbot's progress, not the ONNX exporter's hundreds of lines."""
    own = logging.DEBUG if verbosity else getattr(logging, level_name, logging.INFO)
    others = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    if not any(getattr(handler, "_newsbot", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._newsbot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(others)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(min(own, others))


class _SafeFormatter(logging.Formatter):
    """Log lines pass the terminal sanitiser too: a warning may name a file or quote an article."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(super().format(record))
