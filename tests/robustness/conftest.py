"""Helpers shared by the robustness tests (tests/robustness/test_*.py): private indexes, file-open auditing,
process memory, read-only directories, a watchdog for calls that could hang, and a simulated gateway reconnect."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bot.answer.service import NewsService
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


# --------------------------------------------------------------------------- private indexes


def copy_index(source: Path, target_dir: Path, name: str = "index") -> Path:
    """Copy a built index (the generation its symlink points at) into `target_dir`, in the same symlink layout."""
    target_dir.mkdir(parents=True, exist_ok=True)
    generation = target_dir / f".{name}-copied"
    shutil.copytree(source.resolve(), generation)
    link = target_dir / name
    os.symlink(generation.name, link)
    return link


def private_service(base: Path, settings: Settings, embedder, articles: dict[str, str] | None = None,
                    *, from_index: Path | None = None, seeds: Path = SEEDS, **overrides) -> NewsService:
    """A service over a private copy of the seeds plus `articles`, indexed incrementally from `from_index`.

    Starting from a copy of an existing index means only the extra articles are embedded: seconds, not minutes.
    """
    shutil.copytree(seeds, base / "seeds")
    for source_id, text in (articles or {}).items():
        (base / "seeds" / f"{source_id}.txt").write_text(text, encoding="utf-8")
    if from_index is not None:
        copy_index(from_index, base)
    private = settings.with_overrides(seeds_dir=base / "seeds", index_dir=base / "index",
                                      feedback_db=base / "feedback.sqlite3", **overrides)
    service = NewsService(private, embedder)
    service.reindex()
    service.load()
    return service


def tiny_seeds(directory: Path, count: int = 3) -> Path:
    """A few short articles: an index of them is embedded in well under a second."""
    directory.mkdir(parents=True, exist_ok=True)
    topics = ["the bridge over the river", "the new school in the valley", "the harbour repairs",
              "the railway timetable", "the hospital wing"]
    for n in range(count):
        topic = topics[n % len(topics)]
        (directory / f"{n:03d}_tiny.txt").write_text(
            f"Council news number {n}\n2024-0{1 + n % 9}-1{n % 10}\n\n"
            f"The mayor said {topic} would be finished in spring. Engineers confirmed the plan on Tuesday. "
            f"Residents welcomed the news about {topic}.\n", encoding="utf-8")
    return directory


# --------------------------------------------------------------------------- calls that could hang, read-only places

T = TypeVar("T")


def finishes(call: Callable[[], T], within: float = 60.0) -> T:
    """Run a call in a daemon thread and return its result, failing (not hanging) if it has not returned in time.

    For reads that would block forever (a FIFO) or never end (/dev/zero): a generous bound, not a timing.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(within)
    assert not worker.is_alive(), f"still running after {within:.0f}s: it hangs"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def run_limited(code: str, *args: str, memory_mb: int = 4096, within: float = 120.0) -> subprocess.CompletedProcess:
    """Run Python code in a child with its address space capped: a read that never ends fails there with a
    MemoryError instead of taking the machine's memory (23.6 GB were seen), and a hang is cut off."""
    import resource

    def cap() -> None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=within,
                          preexec_fn=cap, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)


@contextlib.contextmanager
def read_only(*directories: Path) -> Iterator[None]:
    """Make directories read-only (no file created, removed or renamed in them) for the block.

    As root, permission bits do not stop writes: the immutable attribute does (chattr +i); skipped without it.
    """
    done: list[Path] = []
    root = os.geteuid() == 0
    try:
        for directory in directories:
            if root:
                if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(directory)],
                                                                    capture_output=True).returncode:
                    pytest.skip("cannot make a directory read-only for root here (chattr +i)")
            else:
                directory.chmod(stat.S_IMODE(directory.stat().st_mode) & ~0o222)
            done.append(directory)
        yield
    finally:
        for directory in done:
            if root:
                subprocess.run(["chattr", "-i", str(directory)], check=True)
            else:
                directory.chmod(stat.S_IMODE(directory.stat().st_mode) | 0o200)


def tree(directory: Path) -> list[str]:
    """Every path under a directory (symlinks not followed), for before/after comparisons."""
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


# --------------------------------------------------------------------------- which files a call opens

_OPENED: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPENED and args and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only inside opened_files()


@contextlib.contextmanager
def opened_files() -> Iterator[list[str]]:
    """Record every path opened (builtins.open, io.open, os.open, Path.open...) in any thread while inside."""
    record: list[str] = []
    _OPENED.append(record)
    try:
        yield record
    finally:
        _OPENED.remove(record)


def outside(paths: list[str], *allowed: Path) -> list[str]:
    """Return the opened paths that are neither under `allowed` nor Python's own files (lazy imports)."""
    roots = [Path(p).resolve() for p in (*allowed, sys.prefix, sys.base_prefix, ROOT / "bot", ROOT / "embeddings")]
    bad = []
    for path in paths:
        resolved = Path(path).resolve()
        if not any(resolved == root or root in resolved.parents for root in roots):
            bad.append(path)
    return bad


# --------------------------------------------------------------------------- process memory


def rss_mb() -> float:
    """Return this process's resident set size in MB (Linux /proc, else the peak from resource)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- gateway


async def reconnect_gateway(env) -> None:
    """Drop the bot's gateway connection and reconnect it: Discord replays READY and every GUILD_CREATE.

    simcord models the connection with a fake websocket per shard; while it is closed no event reaches the bot,
    as with a real outage. Reconnecting re-identifies and replays the guilds, as Discord does after a lost session.
    """
    feed = env._gateway_feed
    router = next(cell.cell_contents.__self__ for cell in feed.__closure__
                  if hasattr(getattr(cell.cell_contents, "__self__", None), "websockets"))
    websocket = router.websockets[0]
    websocket.open = False
    with env._bot_scope():
        env.bot.dispatch("disconnect")
    await env.settle()
    websocket.open = True
    with env._bot_scope():
        router.identify(0, replay_guilds=True)
    await env.settle()
