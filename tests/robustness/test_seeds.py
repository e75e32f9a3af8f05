"""Bad seeds (issue 6): every odd file is indexed or skipped with a warning naming it, and the index still builds."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.errors import ConfigError, IndexMismatchError
from embeddings.index.directory import load_index
from embeddings.ingest.corpus import MAX_ARTICLE_BYTES, read_corpus
from tests.robustness.conftest import tiny_seeds

TEN_MB = 10 * 1024 * 1024


@pytest.fixture()
def odd_seeds(tmp_path: Path) -> Path:
    """Three good articles and one of every kind of bad file."""
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    good = (seeds / "000_tiny.txt").read_text(encoding="utf-8")
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "blank.txt").write_text(" \n\t\n   \n", encoding="utf-8")
    (seeds / "latin1.txt").write_bytes("Caf\xe9 news\n\nThe caf\xe9 reopened on Monday. It was full.\n"
                                       .encode("latin-1"))
    (seeds / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (seeds / "png_renamed.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000).replace(b"\x00", b"\x01"))
    with (seeds / "huge.txt").open("w", encoding="utf-8") as handle:  # 10 MB of plausible text
        sentence = "The minister said the troops would stay at home while the talks went on. "
        handle.write("A very long article\n\n" + sentence * (TEN_MB // len(sentence) + 1))
    (seeds / "copy_of_000.txt").write_text(good, encoding="utf-8")
    (seeds / "bom_crlf.txt").write_bytes(("\ufeffHarbour news\r\n2024-02-02\r\n\r\nThe harbour master said the "
                                          "new pier was safe. Boats returned on Friday.\r\n").encode("utf-8"))
    (seeds / "bad name!.txt").write_text("Some article. With text.", encoding="utf-8")
    (seeds / "folder.txt").mkdir()
    os.symlink("no-such-file-anymore", seeds / "gone.txt")  # listed, then removed before it is read
    return seeds


def cli_index(settings: Settings, embedder, *args: str):
    service = NewsService(settings, embedder)
    return CliRunner().invoke(cli, ["index", *args], obj={"settings": settings, "service": service})


def test_odd_seed_files_are_skipped_with_a_warning_naming_each_and_the_index_builds(
        odd_seeds: Path, tmp_path: Path, real_embedder) -> None:
    settings = Settings(seeds_dir=odd_seeds, index_dir=tmp_path / "index")
    started = time.perf_counter()
    result = cli_index(settings, real_embedder)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    expected = {
        "empty.txt": "empty file, skipped",
        "blank.txt": "empty file, skipped",
        "latin1.txt": "not UTF-8 (byte 3), skipped",
        "binary.txt": "binary file, skipped",
        "png_renamed.txt": "not UTF-8",
        "huge.txt": f"over the {MAX_ARTICLE_BYTES:,} limit (NEWSBOT_MAX_ARTICLE_BYTES), skipped",
        "copy_of_000.txt": "same text as 000_tiny.txt, indexed under both ids",
        "bad name!.txt": "file name is not a valid source id, skipped",
        "folder.txt": "cannot be read",
        "gone.txt": "cannot be read (No such file or directory), skipped",
    }
    for name, why in expected.items():
        assert any(line.startswith(f"warning: {name}: ") and why in line for line in warnings), (name, warnings)
    assert len(warnings) == len(expected)  # each once: not also echoed through the log
    assert result.stdout.splitlines()[-1].startswith("index written: 5 added")
    index = load_index(settings.index_dir, real_embedder.model_name, settings.chunker)
    assert sorted(index.articles) == ["000_tiny", "001_tiny", "002_tiny", "bom_crlf", "copy_of_000"]
    assert index.articles["bom_crlf"].title == "Harbour news" and index.articles["bom_crlf"].date == "2024-02-02"
    # The 10 MB file is skipped by its size (the warning above), never read or embedded; the time is only shown.
    print(f"\nindexing the odd seeds took {elapsed:.1f}s")

    again = cli_index(settings, real_embedder, "--json")
    assert again.exit_code == 0 and '"up_to_date": true' in again.stdout
    answer = NewsService(settings, real_embedder).ask("What did the harbour master say about the pier?")
    lead = answer.citations[answer.points[0].citations[0] - 1] if answer.points else None
    assert answer.answered and lead is not None and lead.source_id == "bom_crlf"


def test_a_file_removed_between_two_index_runs(tmp_path: Path, real_embedder) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index")
    assert cli_index(settings, real_embedder).exit_code == 0
    question = "What did the mayor say about the new school in the valley?"
    before = NewsService(settings, real_embedder).ask(question)
    assert "001_tiny" in {c.source_id for c in before.citations}

    (seeds / "001_tiny.txt").unlink()
    stale = r"older than the seeds \(1 articles changed: 001_tiny\).*newsbot index"
    with pytest.raises(IndexMismatchError, match=stale):
        NewsService(settings, real_embedder).load()  # never answers from an index that still holds it

    result = cli_index(settings, real_embedder)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("index written: 1 removed")
    after = NewsService(settings, real_embedder).ask(question)
    assert "001_tiny" not in {c.source_id for c in after.citations} | {h.chunk.source_id for h in after.leads}


def test_an_unreadable_metadata_file_is_a_one_line_error(tmp_path: Path, real_embedder) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (seeds / "metadata.json").write_text("{not json", encoding="utf-8")
    result = cli_index(Settings(seeds_dir=seeds, index_dir=tmp_path / "index"), real_embedder)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "metadata.json: not valid JSON" in result.stderr
    assert not (tmp_path / "index").exists()


def test_the_article_size_cap_is_a_setting(tmp_path: Path) -> None:
    assert Settings.from_mapping({"NEWSBOT_MAX_ARTICLE_BYTES": "1000"}).max_article_bytes == 1000
    with pytest.raises(ConfigError, match="NEWSBOT_MAX_ARTICLE_BYTES"):
        Settings.from_mapping({"NEWSBOT_MAX_ARTICLE_BYTES": "0"})
    seeds = tiny_seeds(tmp_path / "seeds", 2)
    (seeds / "001_tiny.txt").write_text((seeds / "001_tiny.txt").read_text() * 20, encoding="utf-8")
    load = read_corpus(seeds, max_bytes=1000)
    assert [a.source_id for a in load.articles] == ["000_tiny"]
    assert load.warnings == (f"001_tiny.txt: {(seeds / '001_tiny.txt').stat().st_size:,} bytes, over the 1,000 "
                             f"limit (NEWSBOT_MAX_ARTICLE_BYTES), skipped",)
