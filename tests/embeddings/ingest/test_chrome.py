"""The chrome model: two passes, the second reading the first's judgement of the blocks around, loaded from a
checked file (fast tier: no model beyond the chrome model's weights)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from embeddings.errors import ModelLoadError
from embeddings.ingest.chrome import (
    CHROME_MODEL,
    CONTEXT,
    REFIT_CHROME,
    chrome_model,
    classify,
    context_signals,
    line_signals,
)

pytestmark = pytest.mark.fast

ARTICLE = [
    "The regional council approved a plan on Monday to rebuild the flood defences along the river before winter.",
    "Engineers said the work would cost about 40 million and take two years, with the first walls rising in spring.",
    "Residents who lost homes in last year's floods told the meeting they had waited too long for the decision.",
    "The council's leader said the money would come from a national fund and from a rise in local charges.",
    "Opposition members voted against the plan, saying the charges would fall hardest on families on low incomes.",
]
# Another story's teaser: a sentence of prose, set among a strip of other headlines.
TEASER = "The city's zoo said on Friday that its oldest elephant had died at the age of 62 after a short illness."
STRIP = ["Markets Rally As Rates Hold Steady", "Ten Recipes For A Quick Weeknight Dinner",
         "Star Striker Signs Record Deal", "Opinion: What The Budget Means For You", "Weather Warning Issued"]


def test_a_teaser_among_headlines_weighs_less_than_the_same_sentence_among_prose() -> None:
    model = chrome_model()
    among_prose = [*ARTICLE[:3], TEASER, *ARTICLE[3:]]
    among_strip = [*ARTICLE, *STRIP[:2], TEASER, *STRIP[2:]]
    in_prose = model.judge(line_signals(among_prose))[3][0]
    in_strip = model.judge(line_signals(among_strip))[len(ARTICLE) + 2][0]
    assert in_strip < in_prose
    assert classify(among_strip)[len(ARTICLE) + 2] is not None
    assert all(why is None for why in classify(ARTICLE))


def test_every_block_gets_a_probability_and_a_named_reason() -> None:
    judged = chrome_model().judge(line_signals(ARTICLE + STRIP))
    assert len(judged) == len(ARTICLE) + len(STRIP)
    assert all(0.0 <= p <= 1.0 and why for p, why in judged)


def test_context_reads_the_first_pass_of_the_neighbours_and_the_page_edges_as_chrome() -> None:
    contexts = context_signals([5.0, -5.0, 20.0])
    assert len(contexts) == 3 and all(len(c) == len(CONTEXT) for c in contexts)
    first, middle, last = (dict(zip(CONTEXT, c, strict=True)) for c in contexts)
    assert middle["first_prev"] == 5.0 and middle["first_next"] == 8.0  # clipped
    assert first["first_prev"] < 0 and last["first_next"] < 0
    assert first["first_page"] == middle["first_page"] == last["first_page"]


def test_a_model_of_another_format_is_refused_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    data = json.loads(CHROME_MODEL.read_text(encoding="utf-8"))
    old = tmp_path / "chrome.json"
    old.write_text(json.dumps({**data, "format": 1}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=re.escape(REFIT_CHROME)):
        chrome_model(old)
    missing_second = tmp_path / "partial.json"
    missing_second.write_text(json.dumps({k: v for k, v in data.items() if k != "second"}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=re.escape(REFIT_CHROME)):
        chrome_model(missing_second)


def test_the_shipped_model_was_cross_validated_on_both_sides() -> None:
    # The figures `python -m training.cleaning` wrote: leave one page out, both passes refit each time.
    figures = json.loads(CHROME_MODEL.read_text(encoding="utf-8"))["cross_validated"]
    scraped = figures["by_shape"]["as scraped"]
    assert scraped["article_sentences_kept"] >= 0.98
    assert scraped["chrome_sentences_kept"] <= 0.05
    assert all(shape["article_sentences_kept"] >= 0.98 for shape in figures["by_shape"].values())
    assert figures["clean_articles_sentences_kept"] >= 0.99
