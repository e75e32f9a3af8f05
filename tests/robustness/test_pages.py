"""Pages and feeds that lie or are built to be slow (issue 25): a declared charset that is no page encoding, an item
or a page far larger than any article. Each is one warning; `index` and `ask` go on with the other articles."""

from __future__ import annotations

import encodings.aliases
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.ingest.readers.html import decode_page
from tests.robustness.conftest import tiny_seeds

pytestmark = pytest.mark.fast
PARAGRAPH = "The harbour master said the pier would reopen in May after the storm damage was repaired. "


def invoke(settings: Settings, embedder, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "service": NewsService(settings, embedder)})


def lying_page(label: str) -> bytes:
    return (f'<html><head><meta charset="{label}"><title>Pier</title></head><body><article><p>{PARAGRAPH * 4}'
            f'Caf\xe9.</p></article></body></html>').encode("latin-1")


@pytest.mark.parametrize("label", ["utf-16", "idna", "undefined", "rot13", "hex", "punycode", "unicode_escape",
                                   "base64", "utf-7"])
def test_a_page_whose_charset_lies_is_one_warning_and_index_and_ask_go_on(tmp_path: Path, fake_embedder,
                                                                          label: str) -> None:
    seeds = tiny_seeds(tmp_path / "seeds", 3)
    (seeds / "lying.html").write_bytes(lying_page(label))
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3")
    result = invoke(settings, fake_embedder, "index")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("warning: lying.html: ")]
    result = invoke(settings, fake_embedder, "ask", "What did the mayor say about the harbour repairs?")
    assert result.exit_code == 0, result.output


def test_no_codec_name_makes_decoding_a_page_raise() -> None:
    labels = set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()) | {"undefined", "rot13", "hex"}
    raw = bytes(range(256)) * 4
    for label in sorted(labels):
        text, warning = decode_page("p.html", f'<meta charset="{label}"><p>'.encode() + raw)
        assert warning and warning.startswith("p.html: "), label
        assert text is None or isinstance(text, str)
