"""The ingest fixtures: hand-written pages, feeds and exports with real page structure (tests/data/ingest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parents[3] / "data" / "ingest"
PAGES = INGEST / "pages"
FEEDS = INGEST / "feeds"
EXPORTS = INGEST / "exports"


@pytest.fixture(scope="session")
def gold() -> dict:
    """The fixture pages' article paragraphs and metadata, written by hand."""
    return json.loads((INGEST / "gold.json").read_text(encoding="utf-8"))
