"""Hostile seed files (issue 13, items 1, 3, 10 and 11): FIFOs, devices, symlinks to /dev/zero or out of the seeds
directory, a metadata file of the wrong shape or nested too deep, a file name with a newline. Each is skipped or
refused in one line, and nothing hangs, eats memory or is published."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

import pytest
import simcord
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.discord_bot.client import create_bot
from bot.settings import Settings
from embeddings.errors import CorpusError, SourceNotFoundError
from embeddings.ingest.corpus import SOURCE_ID, read_corpus
from embeddings.ingest.files import Skipped, read_source_file
from tests.bot.discord_bot.test_bot import world
from tests.robustness.conftest import finishes, run_limited, tiny_seeds

pytestmark = pytest.mark.fast

SECRET = "The password is hunter2. The mayor said so on Monday, and the council agreed with him."


def fast_service(seeds: Path, tmp_path: Path, fake_embedder) -> NewsService:
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", cooldown_seconds=0.0)
    return NewsService(settings, fake_embedder)


def warnings_of(seeds: Path, **kwargs) -> dict[str, str]:
    """Each skipped file's warning, by file name."""
    load = finishes(lambda: read_corpus(seeds, **kwargs))
    return {warning.split(":", 1)[0]: warning for warning in load.warnings}


@contextlib.contextmanager
def unblocked(fifo: Path):
    """Give a FIFO a writer after the block, so that a reader stuck on it (the bug) can end."""
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# --------------------------------------------------------------------------- item 1: FIFOs and devices


def test_a_fifo_among_the_seeds_is_skipped_without_hanging_index_ask_or_sources(tmp_path: Path,
                                                                               fake_embedder) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    os.mkfifo(seeds / "pipe.txt")  # open() would block until a writer comes: forever
    with unblocked(seeds / "pipe.txt"):
        warned = warnings_of(seeds)
        assert warned == {"pipe.txt": "pipe.txt: cannot be read (a FIFO, not a regular file), skipped"}
        service = fast_service(seeds, tmp_path, fake_embedder)
        report = finishes(service.reindex)
        assert [w.split(":")[0] for w in report.warnings] == ["pipe.txt"]
        assert sorted(a.source_id for a in finishes(service.sources)) == ["000_tiny", "001_tiny", "002_tiny"]
        fresh = fast_service(seeds, tmp_path, fake_embedder)  # the start-up of the bot and of every command
        assert finishes(lambda: fresh.ask("What did the mayor say about the harbour repairs?")).answered


# Run in a child with its memory capped: before the fix, each of these read /dev/zero until the kernel stepped in.
_DEVICE_CHILD = """
import json, sys
from pathlib import Path
from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.errors import NewsbotError
from tests.fakes import HashingEmbedder

seeds, index = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(seeds_dir=seeds, index_dir=index, cooldown_seconds=0.0)
try:
    report = NewsService(settings, HashingEmbedder()).reindex()
    fresh = NewsService(settings, HashingEmbedder())
    print(json.dumps({"warnings": list(report.warnings), "ids": [s.source_id for s in fresh.sources()],
                      "answered": fresh.ask("What did the mayor say about the harbour repairs?").answered}))
except NewsbotError as error:
    print(json.dumps({"error": str(error)}))
"""


def test_a_device_or_a_symlink_to_dev_zero_is_skipped_without_reading_it(tmp_path: Path) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    os.symlink("/dev/zero", seeds / "zero.txt")  # stat says 0 bytes: a size cap alone never applies
    expected = {"zero.txt": f"zero.txt: a symlink that leads outside {seeds}, skipped"}
    with contextlib.suppress(PermissionError):  # a device node needs root; the symlink case runs anyway
        os.mknod(seeds / "device.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # a /dev/zero of its own
        expected["device.txt"] = "device.txt: cannot be read (a device, not a regular file), skipped"
    child = run_limited(_DEVICE_CHILD, str(seeds), str(tmp_path / "index"))
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout)
    assert {w.split(":")[0]: w for w in result["warnings"]} == expected
    assert result["ids"] == ["002_tiny", "001_tiny", "000_tiny"] and result["answered"]

    (seeds / "zero.txt").unlink()
    (seeds / "device.txt").unlink(missing_ok=True)
    os.symlink("/dev/zero", seeds / "metadata.json")
    child = run_limited(_DEVICE_CHILD, str(seeds), str(tmp_path / "index"))
    assert child.returncode == 0, child.stderr[-2000:]
    assert json.loads(child.stdout) == {"error": f"{seeds}/metadata.json: a symlink that leads outside {seeds}"}


def test_the_bounded_read_stops_one_byte_past_the_cap(tmp_path: Path) -> None:
    # Whatever stat says: a device is never opened for reading, and a regular file is read at most max_bytes + 1.
    assert finishes(lambda: read_source_file(Path("/dev/zero"), None, 1000)) == Skipped(
        "zero", "cannot be read (a device, not a regular file)")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5000)
    assert read_source_file(big, tmp_path, 1000) == Skipped(
        "big.txt", "5,000 bytes, over the 1,000 limit (NEWSBOT_MAX_ARTICLE_BYTES)")
    assert read_source_file(big, tmp_path, 5000) == b"x" * 5000
    assert read_source_file(big, tmp_path, None) == b"x" * 5000


# --------------------------------------------------------------------------- item 3: symlinks out of the seeds


def test_a_symlink_out_of_the_seeds_directory_is_never_indexed_or_shown(tmp_path: Path, fake_embedder) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (tmp_path / "private.txt").write_text(f"Private notes\n\n{SECRET}\n", encoding="utf-8")
    os.symlink(tmp_path / "private.txt", seeds / "003_notes.txt")
    os.symlink("../private.txt", seeds / "004_relative.txt")
    os.symlink("000_tiny.txt", seeds / "005_alias.txt")  # inside the seeds: an ordinary duplicate
    warned = warnings_of(seeds)
    for name in ("003_notes.txt", "004_relative.txt"):
        assert warned[name] == f"{name}: a symlink that leads outside {seeds}, skipped"
    assert "duplicate" not in warned and "same text as 000_tiny.txt" in warned["005_alias.txt"]

    service = fast_service(seeds, tmp_path, fake_embedder)
    service.reindex()
    assert sorted(service.index.articles) == ["000_tiny", "001_tiny", "005_alias"]
    with pytest.raises(SourceNotFoundError):
        service.source("003_notes")
    answer = service.ask("What is the password?")
    assert "hunter2" not in answer.answer and all("hunter2" not in h.chunk.text for h in answer.leads)


def test_a_seeds_directory_that_is_a_symlink_still_reads_its_own_files_and_links(tmp_path: Path) -> None:
    real = tiny_seeds(tmp_path / "real", 2)
    os.symlink("000_tiny.txt", real / "002_alias.txt")
    os.symlink(real, tmp_path / "seeds")
    load = read_corpus(tmp_path / "seeds")
    assert [a.source_id for a in load.articles] == ["000_tiny", "001_tiny", "002_alias"]
    assert all("outside" not in w for w in load.warnings)


# --------------------------------------------------------------------------- item 10: the metadata file


@pytest.mark.parametrize(("label", "write", "why"), [
    ("articles a list", lambda p: p.write_text('{"articles": []}'), 'expected {"articles"'),
    ("articles a number", lambda p: p.write_text('{"articles": 5}'), 'expected {"articles"'),
    ("top level a list", lambda p: p.write_text("[1, 2]"), 'expected {"articles"'),
    ("nested 100,000 deep", lambda p: p.write_text('{"articles": ' + "[" * 100_000 + "]" * 100_000 + "}"),
     "nested too deep"),
    ("not UTF-8", lambda p: p.write_bytes(b'{"articles": {"\xff": {}}}'), "not valid JSON"),
    ("a FIFO", lambda p: os.mkfifo(p), "a FIFO, not a regular file"),
    ("a symlink out of the seeds", lambda p: os.symlink(p.parent.parent / "elsewhere.json", p),
     "a symlink that leads outside"),
])
def test_a_metadata_file_of_the_wrong_shape_is_one_line_from_the_cli(tmp_path: Path, fake_embedder, label: str,
                                                                     write, why: str) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (tmp_path / "elsewhere.json").write_text('{"articles": {}}')
    write(seeds / "metadata.json")
    with unblocked(seeds / "metadata.json"):
        with pytest.raises(CorpusError, match=why):
            finishes(lambda: read_corpus(seeds))
        settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index")
        for command in (["index"], ["sources"], ["ask", "What did the mayor say?"]):
            obj = {"settings": settings, "service": NewsService(settings, fake_embedder)}
            result = finishes(lambda: CliRunner().invoke(cli, command, obj=obj))  # noqa: B023
            assert result.exit_code == 1, (command, result.output)
            assert result.stderr.startswith("newsbot: error: ") and result.stderr.count("\n") == 1, result.stderr
            assert result.exception is None or isinstance(result.exception, SystemExit)


def test_good_metadata_with_odd_values_still_reads(tmp_path: Path) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (seeds / "metadata.json").write_text('{"articles": {"000_tiny": {"outlet": "Gazette"}, "001_tiny": 5, '
                                         '"x": []}}', encoding="utf-8")
    load = read_corpus(seeds)
    assert load.articles[0].outlet == "Gazette" and load.articles[1].outlet is None


# --------------------------------------------------------------------------- item 11: ids are whole names


def test_a_file_name_with_a_newline_is_no_source_id(tmp_path: Path, fake_embedder) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (seeds / "harbour\n.txt").write_text("Harbour news\n\nThe harbour master said the pier was safe.\n",
                                         encoding="utf-8")
    [warning] = read_corpus(seeds).warnings
    assert warning == "'harbour\\n.txt': file name is not a valid source id, skipped"  # on one line
    assert SOURCE_ID.match("harbour\n") is None and SOURCE_ID.fullmatch("harbour") is not None
    service = fast_service(seeds, tmp_path, fake_embedder)
    service.reindex()
    assert sorted(service.index.articles) == ["000_tiny", "001_tiny"]
    with pytest.raises(SourceNotFoundError):
        service.source("harbour")


async def test_the_bot_starts_with_a_metadata_file_of_the_wrong_shape_and_says_what_is_wrong(
        tmp_path: Path, fake_embedder, caplog: pytest.LogCaptureFixture) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "fb.sqlite3",
                        cooldown_seconds=0.0)
    NewsService(settings, fake_embedder).reindex()
    (seeds / "metadata.json").write_text('{"articles": []}')  # then damaged, with the index in place
    with caplog.at_level("ERROR"):
        async with simcord.run(create_bot(settings, service=NewsService(settings, fake_embedder)),
                               settle_timeout=30) as env:  # was: an AttributeError out of setup_hook
            assert "newsbot is not ready" in caplog.text and "metadata.json: expected" in caplog.text
            _, channel, alice = world(env)
            result = await alice.slash(channel, "ask", question="What did the mayor say?")
            reply = (result.followups or [result.response])[-1].content
            assert "metadata.json: expected" in reply and "error id" not in reply
            simcord.assert_error(env, CorpusError)  # reported to the user, as every known NewsbotError is
