"""The cleaning labels (tests/data/newsroom/chrome_labels*.jsonl): each page's spans are well formed (a paywalled
page may have no body), and the pages the model is fit on and the pages it is only measured on are apart."""

import importlib.util
import json
from pathlib import Path

import pytest

from benchmarks.cleaning import LABELS, OTHER_LABELS


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("path", [LABELS, OTHER_LABELS], ids=["news pages", "other kinds"])
def test_every_labelled_line_is_on_its_page_and_has_one_label(path: Path) -> None:
    for row in _rows(path):
        numbers = [n for first, last in row["body"] + row["meta"] for n in range(first, last + 1)] + row["mixed"]
        assert all(1 <= n <= row["lines"] for n in numbers), row["file"]
        assert len(numbers) == len(set(numbers)), row["file"]


def test_the_pages_measured_only_are_never_fit_on() -> None:
    fit = {row["file"] for row in _rows(LABELS)}
    measured = {row["file"] for row in _rows(OTHER_LABELS)}
    assert fit and measured and not fit & measured


def test_readability_pages_are_labelled_by_the_article_text_readability_extracts() -> None:
    spec = importlib.util.spec_from_file_location("build_corpus", LABELS.with_name("build_corpus.py"))
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    scrape = "Page title | Site\nHome\nNews\nThe minister said the   plan would start in May.\nPhoto: J. Doe\nShare"
    # The article's text as readability extracts it (its expected.html, scraped): a long line in it is the
    # article's, a short one mixed, the rest chrome.
    article = "News\nThe minister said the plan\nwould start in May."
    row = build.line_labels("rdb_x", scrape, article)
    assert row == {"file": "rdb_x", "lines": 6, "meta": [[1, 1]], "body": [[4, 4]], "mixed": [3]}
