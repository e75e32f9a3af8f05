"""The reader's starting weights: the bundled model cut to its first layers, or a trained reader grown on top."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_a_reader_grows_by_the_bundled_model_s_next_layers(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModel

    from training.reader.base import base_model_path, load_base

    tokenizer, reader = load_base(4)
    with torch.no_grad():
        reader.classifier.weight.fill_(0.5)  # stands for what training taught it
    reader.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    _, grown = load_base(6, tmp_path)
    bundled = AutoModel.from_pretrained(base_model_path())
    assert len(grown.bert.encoder.layer) == grown.config.num_hidden_layers == 6
    for at in range(6):
        source = reader.bert.encoder.layer[at] if at < 4 else bundled.encoder.layer[at]
        for (name, ours), theirs in zip(grown.bert.encoder.layer[at].state_dict().items(),
                                        source.state_dict().values(), strict=True):
            assert torch.equal(ours, theirs), (at, name)
    assert torch.equal(grown.classifier.weight, reader.classifier.weight)
    assert len(load_base(3, tmp_path)[1].bert.encoder.layer) == 3
    with pytest.raises(ValueError, match="6 layers"):
        load_base(7, tmp_path)
