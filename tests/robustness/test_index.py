"""Index faults (issue 6): corrupt or truncated files, a build killed with SIGKILL, two builds at once.

Detected by the manifest's checksums, repaired by `newsbot index`; never a crash loop, never an answer from a
broken or stale index.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.errors import IndexBusyError, IndexMismatchError, NewsbotError
from embeddings.index.directory import (
    BM25_DATA,
    BM25_TERMS,
    CHUNK_VECTORS,
    FAISS_INDEX,
    MANIFEST,
    METADATA,
    SENTENCE_ROWS,
    SENTENCE_VECTORS,
    build_index,
    index_lock,
    load_index,
)
from embeddings.ingest.corpus import read_corpus
from tests.robustness.conftest import ROOT, tiny_seeds

QUESTION = "What did the mayor say about the harbour repairs?"


def answer_key(service: NewsService) -> tuple:
    answer = service.ask(QUESTION)
    return answer.answered, answer.answer, tuple((c.source_id, c.quote) for c in answer.citations)


def run_cli(settings: Settings, embedder, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}-"))


@pytest.fixture()
def tiny(tmp_path: Path, real_embedder) -> Settings:
    """Settings over a freshly built index of three short articles."""
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 3), index_dir=tmp_path / "index")
    NewsService(settings, real_embedder).reindex()
    return settings


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _forge_checksum(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["files"][FAISS_INDEX] = "0" * 64
    path.write_text(json.dumps(manifest))


def _forge_article_hash(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["articles"]["001_tiny"] = "f" * 64
    path.write_text(json.dumps(manifest))


def _swap_for_plain_model(path: Path) -> None:
    """Replace the fused encoder by another valid ONNX model (the plain one): other vectors, still loadable.

    Replaced, not written in place: the file is a hard link shared with other generations' exports.
    """
    other = (path.parent / "model.onnx").read_bytes()
    path.unlink()
    path.write_bytes(other)


def _set_manifest_field(key: str, value: object) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        manifest = json.loads(path.read_text())
        manifest[key] = value
        path.write_text(json.dumps(manifest))

    return edit


CORRUPTIONS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "faiss truncated": (FAISS_INDEX, _truncate),
    "faiss flipped byte": (FAISS_INDEX, _flip_a_byte),
    "chunk vectors truncated": (CHUNK_VECTORS, _truncate),
    "sentence vectors flipped byte": (SENTENCE_VECTORS, _flip_a_byte),
    "metadata sqlite flipped byte": (METADATA, _flip_a_byte),
    "metadata sqlite truncated": (METADATA, _truncate),
    "metadata sqlite emptied": (METADATA, lambda p: p.write_bytes(b"")),
    "bm25 postings flipped byte": (BM25_DATA, _flip_a_byte),
    "bm25 terms truncated": (BM25_TERMS, _truncate),
    "sentence rows truncated": (SENTENCE_ROWS, _truncate),
    "manifest truncated": (MANIFEST, _truncate),
    "manifest not an object": (MANIFEST, lambda p: p.write_text("[1, 2, 3]")),
    "manifest checksum forged": (MANIFEST, _forge_checksum),
    "manifest article hash forged": (MANIFEST, _forge_article_hash),
    "manifest deleted": (MANIFEST, lambda p: p.unlink()),
    "data file deleted": (METADATA, lambda p: p.unlink()),
    "generation deleted": ("", shutil.rmtree),
    # Issue 13, item 6: fields of the wrong type, and item 5: the ONNX encoder altered.
    "manifest articles a list": (MANIFEST, _set_manifest_field("articles", [])),
    "manifest files null": (MANIFEST, _set_manifest_field("files", None)),
    "onnx encoder swapped for another model": ("onnx/model_fused.onnx", _swap_for_plain_model),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_corrupt_index_is_refused_then_repaired_by_newsbot_index(tiny: Settings, real_embedder, case: str) -> None:
    good = answer_key(NewsService(tiny, real_embedder))
    name, corrupt = CORRUPTIONS[case]
    corrupt(tiny.index_dir.resolve() / name if name else tiny.index_dir.resolve())

    # Refused: a one-line error naming the fix, from the library and from the CLI, never an answer.
    with pytest.raises(NewsbotError) as caught:
        NewsService(tiny, real_embedder).ask(QUESTION)
    message = str(caught.value)
    assert "\n" not in message and "run `newsbot index" in message, message
    asked = run_cli(tiny, real_embedder, "ask", QUESTION)
    assert asked.exit_code == 1 and asked.stdout == ""
    assert asked.stderr.startswith("newsbot: error: ") and asked.stderr.count("\n") == 1
    assert "Traceback" not in asked.stderr

    # Repaired by the plain command (no --rebuild needed), and the same answer as before the damage.
    repaired = run_cli(tiny, real_embedder, "index")
    assert repaired.exit_code == 0, repaired.output
    assert repaired.stdout.splitlines()[-1].startswith("index written")
    load_index(tiny.index_dir, real_embedder.model_name, tiny.chunker)
    assert answer_key(NewsService(tiny, real_embedder)) == good
    assert len(generations(tiny.index_dir)) <= 2


def test_a_running_service_keeps_answering_from_what_it_loaded_when_the_files_break(tiny: Settings,
                                                                                    real_embedder) -> None:
    running = NewsService(tiny, real_embedder)
    good = answer_key(running)
    _truncate(tiny.index_dir / FAISS_INDEX)
    assert answer_key(running) == good  # FAISS is read whole into memory, checked when it was loaded
    report = running.reindex()  # what /reindex does: the damage is found and repaired, then swapped in
    assert not report.up_to_date and answer_key(running) == good


def test_unfinished_generations_and_stale_links_are_cleaned_even_when_nothing_changed(tiny: Settings,
                                                                                      real_embedder) -> None:
    parent = tiny.index_dir.parent
    current = os.readlink(tiny.index_dir)
    unfinished = parent / ".index-20000101T000000-deadbeef"  # what a build killed while writing leaves
    unfinished.mkdir()
    (unfinished / METADATA).write_bytes(b"SQLite format 3\0")
    os.symlink(unfinished.name, parent / ".index.link-999999")  # killed between the symlink and the rename
    result = run_cli(tiny, real_embedder, "index")
    assert result.exit_code == 0 and result.stdout.splitlines()[-1].startswith("index up to date")
    assert generations(tiny.index_dir) == [current]
    assert not (parent / ".index.link-999999").exists() and not (parent / ".index.link-999999").is_symlink()


def _bulk_articles(seeds: Path, articles: int = 12, sentences: int = 25) -> None:
    """Enough new text that embedding it one text at a time takes seconds."""
    for a in range(articles):
        body = " ".join(f"Report {a} line {s}: the committee reviewed item {a * 100 + s} of the budget and said it "
                        f"was approved." for s in range(sentences))
        (seeds / f"bulk_{a:02d}.txt").write_text(f"Bulk report {a}\n2024-05-0{1 + a % 9}\n\n{body}\n",
                                                 encoding="utf-8")


def _lines(stream) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_sigkill_while_indexing_keeps_the_previous_index_and_the_next_run_completes(tiny: Settings,
                                                                                    real_embedder) -> None:
    running = NewsService(tiny, real_embedder)  # e.g. the Discord bot, serving the current index
    good = answer_key(running)
    before = os.readlink(tiny.index_dir)
    before_manifest = (tiny.index_dir / MANIFEST).read_text()
    _bulk_articles(tiny.seeds_dir)

    env = {**os.environ, "NEWSBOT_SEEDS_DIR": str(tiny.seeds_dir), "NEWSBOT_INDEX_DIR": str(tiny.index_dir),
           "NEWSBOT_BATCH_SIZE": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bot", "index"], cwd=tiny.index_dir.parent, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines, seen = _lines(process.stderr), []
        deadline = time.monotonic() + 300
        while not any(line.startswith("embedding ") for line in seen):  # index.py, just before it embeds
            assert time.monotonic() < deadline and process.poll() is None, "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        # It is loading the model and embedding, one text at a time, under the lock: a second build would wait.
        with pytest.raises(IndexBusyError), index_lock(tiny.index_dir, wait=0.2):
            pass
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # The previous index is untouched and still serves; nothing half-written was switched in.
    assert os.readlink(tiny.index_dir) == before
    assert (tiny.index_dir / MANIFEST).read_text() == before_manifest
    load_index(tiny.index_dir, real_embedder.model_name, tiny.chunker)
    assert answer_key(running) == good
    # A fresh process refuses it, though: the seeds have moved on, and it would answer from stale data.
    with pytest.raises(IndexMismatchError, match=r"older than the seeds.*newsbot index"):
        NewsService(tiny, real_embedder).load()
    # The kernel released the dead process's lock.
    with index_lock(tiny.index_dir, wait=1.0):
        pass

    unfinished = tiny.index_dir.parent / ".index-20000101T000000-deadbeef"  # as a kill while writing leaves
    unfinished.mkdir()
    (unfinished / BM25_TERMS).write_text("[", encoding="utf-8")
    result = run_cli(tiny, real_embedder, "index")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("index written: 12 added")
    assert generations(tiny.index_dir) == sorted([before, os.readlink(tiny.index_dir)])  # new + previous only
    fresh = NewsService(tiny, real_embedder)
    harbour = fresh.ask(QUESTION)
    assert harbour.answered and "002_tiny" in {c.source_id for c in harbour.citations}
    bulk = fresh.ask("What did the committee say about item 305 of the budget?")
    assert bulk.answered and "bulk_03" in {c.source_id for c in bulk.citations}


class OverlapProbe:
    """An embedder that records whether two builds ever embedded at the same time."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def embed(self, texts, progress=None):
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(0.2)  # widen the window in which an unlocked second build would overlap
            return self.inner.embed(texts, progress=progress)
        finally:
            with self._lock:
                self.active -= 1


def test_two_index_runs_at_once_take_turns_and_leave_one_consistent_index(tmp_path: Path, real_embedder) -> None:
    index_dir = tmp_path / "index"
    corpora = {"three": tiny_seeds(tmp_path / "three", 3), "five": tiny_seeds(tmp_path / "five", 5)}
    probe = OverlapProbe(real_embedder)
    start = threading.Barrier(2)
    settings = Settings(index_dir=index_dir)

    def build(name: str):
        start.wait()
        return build_index(read_corpus(corpora[name]).articles, probe, settings.chunker, index_dir)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(build, corpora))

    assert probe.most == 1  # the lock serialized them
    index = load_index(index_dir, real_embedder.model_name, settings.chunker)  # every checksum passes
    ids = set(index.articles)
    assert ids in ({"000_tiny", "001_tiny", "002_tiny"}, {f"00{n}_tiny" for n in range(5)})
    # The second build saw the first one's result: either 2 removed or 2 added, never a full re-embed of both.
    assert sorted(len(r.added) + len(r.removed) for r in reports) in ([2, 3], [2, 5])
    assert len(generations(index_dir)) <= 2
    assert not [p for p in tmp_path.iterdir() if ".link-" in p.name]
