"""Index generations: a build writes a new directory beside the index and switches the index path (a symlink) to
it in one rename; a lock keeps two builds from interleaving; what a killed build leaves is cleaned up."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from embeddings.errors import IndexBusyError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK_WAIT_SECONDS = 600.0


@contextlib.contextmanager
def index_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock beside the index so that two builds never interleave."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with lock_path.open("a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"another process is building the index at {index_dir}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_dir():
            fsync_tree(path)
            continue
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def switch(index_dir: Path, generation: Path) -> None:
    """Point the index path at a new generation in one rename, then drop older generations."""
    previous = os.readlink(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain directory (an old layout or a hand-made copy) cannot be swapped in one step.
        shutil.move(str(index_dir), str(index_dir.parent / f".{index_dir.name}-replaced-{os.getpid()}"))
    link = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(generation.name, link)
    os.replace(link, index_dir)
    generations = generation_pattern(index_dir)
    for old in index_dir.parent.iterdir():
        if generations.fullmatch(old.name) and old.name not in (generation.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    clean_leftovers(index_dir)


def generation_pattern(index_dir: Path) -> re.Pattern[str]:
    """Match exactly this index's generation directories, so that another index beside it is never touched."""
    return re.compile(rf"\.{re.escape(index_dir.name)}-\d{{8}}T\d{{6}}-[0-9a-f]{{8}}")


def clean_leftovers(index_dir: Path) -> None:
    """Remove what a killed build leaves behind: generations it never finished and its temporary symlink.

    Called under the index lock, so no other build is writing; readers only ever open complete generations.
    Best effort: a failure here is logged and never fails the build that has just been switched in.
    """
    generation = generation_pattern(index_dir)
    link = re.compile(rf"\.{re.escape(index_dir.name)}\.link-\d+")
    try:
        current = os.readlink(index_dir) if index_dir.is_symlink() else None
        for path in index_dir.parent.iterdir():
            if link.fullmatch(path.name) and path.is_symlink():
                path.unlink()
            elif (generation.fullmatch(path.name) and path.name != current and path.is_dir()
                  and not path.is_symlink() and not (path / MANIFEST).is_file()):
                log.info("removing the unfinished index generation %s", path.name)
                shutil.rmtree(path, ignore_errors=True)
    except OSError as exc:
        log.warning("could not clean up beside the index at %s: %s", index_dir, exc)


def new_generation(index_dir: Path) -> Path:
    """Create and return an empty generation directory beside the index."""
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    generation = index_dir.parent / f".{index_dir.name}-{stamp}"
    generation.mkdir(parents=True)
    return generation
