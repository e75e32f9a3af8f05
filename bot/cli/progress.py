"""Build progress on a terminal: one line per phase (read, clean, split, embed, write), redrawn in place with its
rate and an ETA, then left as a summary. A terminal that cannot redraw a line (TERM=dumb) gets each phase's summary
as a plain line. Nothing at all when stderr is not a terminal (CI, pipes) or with --quiet."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

# Redraws at most this often: a terminal line costs more than a batch of small articles.
REDRAW_SECONDS = 0.1


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class TerminalProgress:
    """The `Progress` callback of embeddings.progress, drawn on a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None, plain: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        # No cursor movement on a dumb terminal (Emacs shells, some CI consoles): ESC[K would print as junk there.
        self.plain = os.environ.get("TERM", "") == "dumb" if plain is None else plain
        self.phase: str | None = None
        self._started = self._drawn = 0.0
        self._line = ""
        self._ended = False

    def __call__(self, phase: str, done: int, total: int, unit: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if phase != self.phase:
            self.close()
            self.phase, self._started, self._drawn, self._ended = phase, now, 0.0, False
        if now - self._drawn < REDRAW_SECONDS and done < total:
            return
        self._drawn = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        if done >= total:
            tail = f"in {_duration(elapsed)}"
        elif rate > 0 and elapsed >= 0.5:
            tail = f"{rate:,.0f} {unit}/s, ETA {_duration((total - done) / rate)}"
        else:
            tail = ""
        share = 100.0 * done / total if total else 100.0
        line = f"{phase:<6} {share:5.1f}%  {done:,}/{total:,} {unit}  {tail}".rstrip()
        if self.plain:  # a phase's summary once, when it ends
            if done >= total and not self._ended:
                self._ended = True
                self.stream.write(line + "\n")
                self.stream.flush()
            return
        self._line = line
        self.stream.write("\r\033[K" + self._line)
        self.stream.flush()

    def close(self) -> None:
        """End the current phase's line."""
        if self.enabled and self.phase is not None and self._line:
            self.stream.write("\n")
            self.stream.flush()
        self.phase, self._line = None, ""
