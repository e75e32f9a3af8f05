"""Read one source file safely: a regular file that stays inside its directory, never more than a bounded size.

`stat` says 0 bytes for a FIFO or a device, so a size cap alone does not stop `/dev/zero` or a pipe that never
ends: only regular files are opened (non-blocking, so that a file swapped for a FIFO cannot hang the open), and the
read stops one byte past the cap. A symlink is followed only while it stays inside the directory it is read from,
so a seed cannot publish a file from elsewhere on the machine.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

_BLOCK = 1 << 20
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


@dataclass(frozen=True)
class Skipped:
    """Why a file was not read."""

    name: str
    why: str

    @property
    def reason(self) -> str:
        """Return the warning that names the file."""
        return f"{self.name}: {self.why}, skipped"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _unreadable(name: str, why: str) -> Skipped:
    return Skipped(name, f"cannot be read ({why})")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def read_source_file(path: Path, root: Path | None, max_bytes: int | None,
                     setting: str = "NEWSBOT_MAX_ARTICLE_BYTES") -> bytes | Skipped:
    """Return a file's bytes, or why it is skipped: not a regular file, a symlink leaving `root`, over `max_bytes`.

    `root` is the directory the file is listed from (itself possibly a symlink); None allows any target.
    `setting` names what sets the limit, for the warning.
    """
    name = path.name
    try:
        target = path
        if path.is_symlink():
            target = path.resolve(strict=True)
            if root is not None and not _inside(target, root.resolve(strict=True)):
                return Skipped(name, f"a symlink that leads outside {root}")
        info = os.stat(target)
        if not stat.S_ISREG(info.st_mode):
            return _unreadable(name, f"{_kind(info.st_mode)}, not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            return _too_big(name, f"{info.st_size:,} bytes", max_bytes, setting)
        # O_NOFOLLOW: `target` has no symlink left to follow; one that appears now is a swap, and is refused.
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except RuntimeError:  # a symlink loop (Python < 3.13 raises this instead of OSError)
        return _unreadable(name, "a symlink loop")
    except OSError as exc:
        return _unreadable(name, exc.strerror or type(exc).__name__)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return _unreadable(name, f"{_kind(opened.st_mode)}, not a regular file")
        limit = None if max_bytes is None else max_bytes + 1
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            part = os.read(fd, _BLOCK if limit is None else min(_BLOCK, limit - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except OSError as exc:
        return _unreadable(name, exc.strerror or type(exc).__name__)
    finally:
        os.close(fd)
    if max_bytes is not None and size > max_bytes:  # it grew after the stat
        return _too_big(name, f"more than {max_bytes:,} bytes", max_bytes, setting)
    return b"".join(parts)


def _too_big(name: str, size: str, max_bytes: int, setting: str) -> Skipped:
    return Skipped(name, f"{size}, over the {max_bytes:,} limit" + (f" ({setting})" if setting else ""))
