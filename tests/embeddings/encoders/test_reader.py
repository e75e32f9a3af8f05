"""The reader: the shipped model loads only when it matches its manifest, encodes pairs as trained, and ranks an
answering sentence above one that is only near the topic (fast tier: onnxruntime, no torch)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders.reader import MANIFEST, SHIPPED_READER, OnnxReader, encode_pairs, plain_tokenizer
from embeddings.errors import ModelLoadError

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def reader() -> OnnxReader:
    return OnnxReader(SHIPPED_READER)


def test_an_answering_sentence_outranks_one_only_near_the_topic(reader: OnnxReader) -> None:
    question = "How old was the coach when he died?"
    quotes = ["The former coach passed away in hospital on Sunday at the age of 80, his family said.",
              "The coach led the national team to two titles in the 1990s.",
              "Tickets for the final went on sale on Monday."]
    scores = reader.read(question, quotes)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[0] > scores[1] and scores[0] > scores[2]
    assert reader.read(question, []).shape == (0,)


def test_the_workers_give_the_same_judgements_however_many_there_are(reader: OnnxReader) -> None:
    quotes = [f"The council said on day {i} that the bridge would {'not ' * (i % 3)}reopen. " * (1 + i % 4)
              for i in range(23)]
    one = OnnxReader(SHIPPED_READER, threads=1).read("When will the bridge reopen?", quotes)
    many = OnnxReader(SHIPPED_READER, threads=3).read("When will the bridge reopen?", quotes)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_array_equal(one[::-1], OnnxReader(SHIPPED_READER, threads=2).read(
        "When will the bridge reopen?", quotes[::-1]))


def test_pairs_are_cut_as_the_model_was_trained(reader: OnnxReader) -> None:
    tokenizer = plain_tokenizer(SHIPPED_READER / "tokenizer.json")
    [(ids, segments)] = encode_pairs(tokenizer, "why " * 200, ["word " * 500], reader.max_tokens,
                                     reader.question_tokens)
    assert len(ids) == len(segments) <= reader.max_tokens
    assert segments.count(0) == reader.question_tokens + 2  # [CLS] question [SEP]
    assert ids[0] == tokenizer.token_to_id("[CLS]") and ids[-1] == tokenizer.token_to_id("[SEP]")


def test_an_altered_or_missing_reader_is_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "reader"
    shutil.copytree(SHIPPED_READER, copy)
    with (copy / "tokenizer.json").open("a", encoding="utf-8") as handle:
        handle.write(" ")
    with pytest.raises(ModelLoadError, match="does not match its manifest") as altered:
        OnnxReader(copy)
    with pytest.raises(ModelLoadError, match="no reader at") as missing:
        OnnxReader(tmp_path / "nowhere")
    manifest = json.loads((SHIPPED_READER / MANIFEST).read_text(encoding="utf-8"))
    (copy / MANIFEST).write_text(json.dumps({**manifest, "format": 99}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="format 99") as foreign:
        OnnxReader(copy)
    for caught in (altered, missing, foreign):
        assert "\n" not in str(caught.value)


def test_the_shipped_manifest_says_what_the_reader_was_trained_on() -> None:
    manifest = json.loads((SHIPPED_READER / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["data"]) >= {"bbc", "lee", "squad", "base"}
    assert "CC BY-SA" in manifest["data"]["squad"]
    assert manifest["recipe"].startswith("python -m training.reader")
    assert manifest["precision"] == "int8"
