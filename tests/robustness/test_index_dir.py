"""Where the index lives (issue 13, items 6, 7, 10 and 11): a manifest of the wrong types, an index path that is
not an index (the seeds, `.`), a read-only or full disk, a second build waiting for the lock. Each is one line
that says what to do; nothing the index did not create is moved or deleted; the previous index survives."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.errors import IndexBusyError, IndexCorruptError
from embeddings.index.directory import MANIFEST, index_lock
from tests.robustness.conftest import ROOT, read_only, tiny_seeds, tree

QUESTION = "What did the mayor say about the harbour repairs?"


@pytest.fixture()
def built(tmp_path: Path, fake_embedder) -> Settings:
    """Settings over an index of three short articles, built with the fake embedder (no model: milliseconds)."""
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 3), index_dir=tmp_path / "index",
                        cooldown_seconds=0.0)
    NewsService(settings, fake_embedder).reindex()
    return settings


def run(settings: Settings, embedder, *args: str):
    """The CLI, as `newsbot ARGS`, over these settings and embedder."""
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def one_line_error(result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith("newsbot: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.stderr


def answer_of(settings: Settings, embedder) -> tuple:
    answer = NewsService(settings, embedder).ask(QUESTION)
    return answer.answered, answer.answer


# --------------------------------------------------------------------------- item 6: a manifest of the wrong types


@pytest.mark.fast
@pytest.mark.parametrize(("field", "value"), [("articles", []), ("articles", 5), ("files", []), ("files", None),
                                              ("chunks", "many"), ("encoder", [1]), ("format_version", None)])
def test_a_manifest_of_the_wrong_types_is_refused_in_one_line_and_repaired_by_index(
        built: Settings, fake_embedder, field: str, value: object) -> None:
    good = answer_of(built, fake_embedder)
    path = built.index_dir.resolve() / MANIFEST
    manifest = json.loads(path.read_text())
    manifest[field] = value
    path.write_text(json.dumps(manifest))

    with pytest.raises(IndexCorruptError, match=rf"damaged \('{field}' is .*run `newsbot index --rebuild`"):
        NewsService(built, fake_embedder).load()
    for command in (["ask", QUESTION], ["sources"], ["search", "harbour"], ["source", "000_tiny"]):
        assert "is damaged" in one_line_error(run(built, fake_embedder, *command)), command
    repaired = run(built, fake_embedder, "index")  # the plain command repairs it, as --rebuild does
    assert repaired.exit_code == 0, repaired.output
    assert repaired.stdout.splitlines()[-1].startswith("index written: 3 added")
    assert answer_of(built, fake_embedder) == good


# --------------------------------------------------------------------------- item 7: never replace what is not an index


@pytest.mark.fast
def test_an_index_path_at_the_seeds_is_refused_and_the_seeds_stay(built: Settings, fake_embedder) -> None:
    before = tree(built.seeds_dir)
    for index_dir in (built.seeds_dir, Path(os.path.relpath(built.seeds_dir))):
        settings = built.with_overrides(index_dir=index_dir)
        error = one_line_error(run(settings, fake_embedder, "index"), exit_code=2)
        assert "is a directory that holds no index: newsbot never replaces it" in error
    assert tree(built.seeds_dir) == before
    assert sorted(p.name for p in built.seeds_dir.parent.iterdir() if "seeds" in p.name) == ["seeds"]


@pytest.mark.fast
def test_an_index_path_at_the_working_directory_a_file_or_a_foreign_symlink_is_refused(
        built: Settings, fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "manifest.json").write_text('{"name": "a web app"}')  # a manifest, but not an index's
    (project / "notes.txt").write_text("mine")
    monkeypatch.chdir(project)
    (tmp_path / "a_file").write_text("mine")
    os.symlink(built.seeds_dir, tmp_path / "link_to_seeds")  # e.g. a seeds directory that is a symlink
    for index_dir, what in ((Path("."), "a directory that holds no index"), (tmp_path / "a_file", "not a directory"),
                            (tmp_path / "link_to_seeds", "a symlink to a directory that holds no index")):
        error = one_line_error(run(built.with_overrides(index_dir=index_dir), fake_embedder, "index"), exit_code=2)
        assert what in error, error
    assert tree(project) == ["manifest.json", "notes.txt"] and not list(tmp_path.glob(".project*"))
    assert os.readlink(tmp_path / "link_to_seeds") == str(built.seeds_dir)
    assert (tmp_path / "a_file").read_text() == "mine"
    root = one_line_error(run(built.with_overrides(index_dir=Path("/")), fake_embedder, "index"), exit_code=2)
    assert "cannot be the root directory" in root


@pytest.mark.fast
def test_a_plain_directory_index_is_kept_aside_when_replaced(built: Settings, fake_embedder, tmp_path: Path) -> None:
    copy = tmp_path / "copied"  # an index copied by hand (cp -r): a plain directory, no generations
    os.rename(built.index_dir.resolve(), copy)
    built.index_dir.unlink()
    os.rename(copy, built.index_dir)
    (built.seeds_dir / "003_new.txt").write_text("New\n\nThe harbour reopened on Monday. Boats came back.\n")
    result = run(built, fake_embedder, "index")
    assert result.exit_code == 0, result.output
    assert built.index_dir.is_symlink()
    [kept] = tmp_path.glob(".index-replaced-*")
    assert (kept / MANIFEST).is_file()


# --------------------------------------------------------------------------- item 10: read-only and full disks


@pytest.mark.fast
def test_index_on_a_read_only_directory_is_one_line_and_the_index_still_serves(built: Settings,
                                                                                fake_embedder) -> None:
    good = answer_of(built, fake_embedder)
    (built.seeds_dir / "003_new.txt").write_text("New\n\nThe harbour reopened on Monday. Boats came back.\n")
    parent = built.index_dir.parent
    (parent / ".index.lock").unlink()
    before = tree(parent)
    with read_only(parent):
        error = one_line_error(run(built, fake_embedder, "index", "--quiet"))
        assert "cannot write beside the index at" in error and "set NEWSBOT_INDEX_DIR" in error
        assert tree(parent) == before
    (built.seeds_dir / "003_new.txt").unlink()
    assert answer_of(built, fake_embedder) == good


@pytest.mark.fast
@pytest.mark.parametrize("failure", ["ENOSPC on a vector file", "sqlite: database or disk is full",
                                     "read-only file system on mkdir"])
def test_a_full_or_read_only_disk_during_a_build_is_one_line_and_the_old_index_survives(
        built: Settings, fake_embedder, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    good = answer_of(built, fake_embedder)
    before = os.readlink(built.index_dir)
    (built.seeds_dir / "003_new.txt").write_text("New\n\nThe harbour reopened on Monday. Boats came back.\n")
    if failure.startswith("ENOSPC"):
        real_save = np.save

        def save(path, array, *args, **kwargs):
            if str(path).endswith("chunk_vectors.npy"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return real_save(path, array, *args, **kwargs)

        monkeypatch.setattr(np, "save", save)
    elif failure.startswith("sqlite"):
        def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr("embeddings.index.deltas.write_metadata", full)
    else:
        real_mkdir = Path.mkdir

        def read_only_fs(self, *args, **kwargs):
            if not self.exists():  # as on a read-only file system: an existing directory is still there
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", read_only_fs)
    error = one_line_error(run(built, fake_embedder, "index", "--quiet"))
    assert f"cannot write the index at {built.index_dir}" in error and "the previous index is unchanged" in error
    monkeypatch.undo()
    assert os.readlink(built.index_dir) == before
    assert [p.name for p in built.index_dir.parent.glob(".index-*")] == [before]  # nothing half-written left
    (built.seeds_dir / "003_new.txt").unlink()
    assert answer_of(built, fake_embedder) == good


# --------------------------------------------------------------------------- item 11: a second build waits, and says so


@pytest.mark.fast
def test_a_second_build_says_at_once_that_it_waits_and_the_wait_is_bounded(
        built: Settings, fake_embedder, caplog: pytest.LogCaptureFixture) -> None:
    service = NewsService(built, fake_embedder)
    with index_lock(built.index_dir):  # another process building
        waiting = threading.Thread(target=service.reindex, daemon=True)
        with caplog.at_level("WARNING"):
            waiting.start()
            deadline = time.monotonic() + 60
            while "waiting for it" not in caplog.text:
                assert time.monotonic() < deadline, "the second build never said that it waits"
                time.sleep(0.05)
        assert waiting.is_alive()  # it said so while waiting, not after
        assert f"(pid {os.getpid()}) is building the index at {built.index_dir}" in caplog.text
        busy = rf"pid {os.getpid()}\) is still building .* after 0.2 s: try again"
        with pytest.raises(IndexBusyError, match=busy), index_lock(built.index_dir, wait=0.2):
            pass
    waiting.join(60)
    assert not waiting.is_alive()


def test_a_second_newsbot_index_prints_that_it_waits_on_stderr_at_once(built: Settings) -> None:
    env = {**os.environ, "NEWSBOT_SEEDS_DIR": str(built.seeds_dir), "NEWSBOT_INDEX_DIR": str(built.index_dir),
           "PYTHONPATH": str(ROOT)}
    with index_lock(built.index_dir):  # another build holds the lock
        # A job started in the background inherits SIGINT ignored: give the command a terminal's default.
        process = subprocess.Popen([sys.executable, "-m", "bot", "index", "--quiet"], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            first = process.stderr.readline()  # blocks until the command says something: it must, while waiting
            assert "is building the index at" in first and "waiting for it, up to 600 s" in first, first
            assert process.poll() is None
            process.send_signal(signal.SIGINT)  # the operator gives up: one line, no traceback
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 130 and err == "newsbot: interrupted\n" and out == ""
