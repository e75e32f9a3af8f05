"""A shipped reader unpacks into trainable weights that judge as it does (up to its int8 rounding)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders.reader import SHIPPED_READER, OnnxReader
from training.reader.unpack import unpack_reader

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_unpacked_reader_judges_as_the_shipped_one(tmp_path: Path) -> None:
    import torch

    from training.reader.base import load_base
    from training.reader.train import encode

    out = unpack_reader(SHIPPED_READER, tmp_path / "unpacked")
    assert json.loads((out / "training.json").read_text())["unpacked_from"].startswith("newsbot-reader")
    rows = [json.loads(line) for line in (ROOT / "training" / "data" / "questions_lee.jsonl").read_text(
        encoding="utf-8").splitlines()[:12]]
    questions, quotes = [], []
    for row in rows:
        for quote in (row["answers"] + row["lures"] + row["supports"])[:2]:
            questions.append(row["question"])
            quotes.append(quote)
    shipped = np.concatenate([OnnxReader(SHIPPED_READER).read(q, [s]) for q, s in zip(questions, quotes,
                                                                                       strict=True)])
    tokenizer, model = load_base(4, out)
    model.eval()
    with torch.no_grad():
        unpacked = torch.sigmoid(model(**encode(tokenizer, questions, quotes)).logits.squeeze(-1)).numpy()
    assert np.corrcoef(shipped, unpacked)[0, 1] > 0.98
    assert float(np.abs(shipped - unpacked).mean()) < 0.05
