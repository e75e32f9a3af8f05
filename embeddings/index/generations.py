"""Index generations: a build writes a new directory beside the index and switches the index path (a symlink) to
it in one rename; a lock keeps two builds from interleaving; what a killed build leaves is cleaned up."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from embeddings.errors import ConfigError, IndexBusyError, IndexWriteError
from embeddings.index.manifest import MANIFEST, MAX_MANIFEST_BYTES
from embeddings.ingest.files import read_source_file

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 600.0


def checked_index_path(index_dir: Path) -> Path:
    """Return the index path, once check_index_path accepts it; `.` or `..` made absolute, so that it has a name and
    a parent to put generations in (never resolved: the index path is a symlink)."""
    path = index_dir if index_dir.name not in ("", "..") else Path(os.path.abspath(index_dir))
    if not path.name:
        raise ConfigError(f"the index cannot be the root directory ({index_dir}): set NEWSBOT_INDEX_DIR to a "
                          f"directory of its own")
    check_index_path(path)
    return path


def _is_index_manifest(path: Path) -> bool:
    """True when a file is an index manifest: a JSON object with newsbot's format_version and model."""
    raw = read_source_file(path, None, MAX_MANIFEST_BYTES, setting="")
    try:
        data = json.loads(raw) if isinstance(raw, bytes) else None
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "format_version" in data and "model" in data


def check_index_path(index_dir: Path) -> None:
    """Refuse to build where something else lives: only nothing, a switched generation or an index is replaced.

    A build replaces the index path; a directory the index did not create (the seeds, a project, `.`) must never
    be moved or deleted, and neither must a symlink to one.
    """
    if not os.path.lexists(index_dir):
        return
    if index_dir.is_symlink():
        target = os.readlink(index_dir)
        if generation_pattern(index_dir).fullmatch(target) or _is_index_manifest(index_dir / MANIFEST):
            return
        what = "a symlink to a directory that holds no index"
    elif index_dir.is_dir():
        if _is_index_manifest(index_dir / MANIFEST):
            return
        what = "a directory that holds no index"
    else:
        what = "not a directory"
    raise ConfigError(f"{index_dir} is {what}: newsbot never replaces it; set NEWSBOT_INDEX_DIR to a new "
                      f"directory or to an index newsbot built")


@contextlib.contextmanager
def index_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock beside the index so that two builds never interleave; say at once when waiting."""
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
    except OSError as exc:
        raise IndexWriteError(f"cannot write beside the index at {index_dir} ({exc.strerror or exc}): check the "
                              f"permissions of {index_dir.parent} or set NEWSBOT_INDEX_DIR") from None
    with handle:
        deadline = time.monotonic() + wait
        holder = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if holder is None:
                    handle.seek(0)
                    holder = handle.read(32).strip() or "?"
                    log.warning("another process (pid %s) is building the index at %s: waiting for it, up to %g s",
                                holder, index_dir, wait)
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"another process (pid {holder}) is still building the index at "
                                         f"{index_dir} after {wait:g} s: try again when it has finished") from None
                time.sleep(0.1)
        try:
            # Who holds it, for the next one that waits (a dead holder's lock is released by the kernel).
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n")
                handle.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def fsync_tree(directory: Path, recursive: bool = True) -> None:
    """Flush a directory's files (and, recursively, its folders') and the directory itself to disk."""
    for path in directory.iterdir():
        if path.is_dir():
            if recursive:
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
    check_index_path(index_dir)
    previous = os.readlink(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain directory index (an old layout or a hand-made copy) cannot be swapped in one step: kept aside.
        os.replace(index_dir, index_dir.parent / f".{index_dir.name}-replaced-{os.getpid()}")
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


def discard_generation(index_dir: Path, generation: Path | None, exc: BaseException) -> None:
    """Remove a generation a build could not finish; a write failure becomes one IndexWriteError."""
    if generation is not None:
        shutil.rmtree(generation, ignore_errors=True)
    if isinstance(exc, OSError | sqlite3.Error):  # no permission, a read-only or full disk
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise IndexWriteError(f"cannot write the index at {index_dir} ({detail}): the previous index is "
                              f"unchanged") from exc
