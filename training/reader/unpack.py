"""Unpack a shipped reader (ONNX, int8 or fp32) back into trainable weights, so a reader can be trained further
without its torch checkpoint (only the export ships).

    python -m training.reader.unpack --reader embeddings/models/reader --out .newsbot/training/reader-unpacked

The int8 matrices are dequantized (scale x (q - zero point)): training from them starts where the shipped reader
is, up to its int8 rounding (tests/training/reader/test_unpack.py measures it).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
import numpy as np

from embeddings.encoders.reader import MANIFEST

_PREFIX = "inner."  # export.py wraps the classifier in a module whose attribute is `inner`


def _dequantized(model) -> dict[str, np.ndarray]:
    """Every initializer of an ONNX model as fp32, quantized ones dequantized under their original name."""
    from onnx import numpy_helper

    raw = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {}
    for name, value in raw.items():
        if name.endswith("_quantized"):
            base = name[: -len("_quantized")]
            zero = raw[f"{base}_zero_point"].astype(np.float32)
            out[base] = (value.astype(np.float32) - zero) * raw[f"{base}_scale"].astype(np.float32)
        elif not name.endswith(("_scale", "_zero_point")):
            out[name] = value.astype(np.float32) if value.dtype.kind == "f" else value
    return out


def _plain(onnx_name: str) -> str:
    """The parameter an initializer named after one is (the export's wrapper and quantization's suffix taken off)."""
    return onnx_name.removeprefix(_PREFIX).removesuffix("_Transposed")


def _names(layers: int) -> dict[str, tuple[str, bool]]:
    """ONNX initializer name -> (parameter name, transposed) for the matrices the exporter names after graph nodes,
    not parameters: learned by exporting the same architecture with known weights."""
    import onnx
    import torch

    from training.reader.base import load_base
    from training.reader.export import export_onnx

    _, probe = load_base(layers)
    with tempfile.TemporaryDirectory() as tmp:
        probe.save_pretrained(tmp)
        export_onnx(Path(tmp), Path(tmp) / "probe.onnx")
        exported = _dequantized(onnx.load(str(Path(tmp) / "probe.onnx")))
    params = {name: p.detach().numpy() for name, p in probe.state_dict().items() if isinstance(p, torch.Tensor)}
    found: dict[str, tuple[str, bool]] = {}
    for onnx_name, value in exported.items():
        if _plain(onnx_name) in params:
            continue  # named after its parameter: unpack_reader reads the name
        for name, param in params.items():
            if param.ndim == 2 and param.T.shape == value.shape and np.array_equal(param.T, value):
                found[onnx_name] = (name, True)
                break
    return found


def unpack_reader(reader_dir: Path, out: Path) -> Path:
    """Write a trainable model directory (config, weights, tokenizer, training.json) from a reader directory."""
    import onnx
    import torch

    from training.reader.base import load_base

    manifest = json.loads((reader_dir / MANIFEST).read_text(encoding="utf-8"))
    layers = int(manifest["trained"]["layers"])
    weights = _dequantized(onnx.load(str(reader_dir / manifest["model"])))
    names = _names(layers)
    tokenizer, model = load_base(layers)
    state = model.state_dict()
    filled = set()
    for onnx_name, value in weights.items():
        if _plain(onnx_name) in state:  # quantization transposes a Gemm's weight and says so in its name
            name, transposed = _plain(onnx_name), onnx_name.endswith("_Transposed")
        elif onnx_name in names:
            name, transposed = names[onnx_name]
        else:
            continue
        tensor = torch.from_numpy(np.ascontiguousarray(value.T if transposed else value))
        if tuple(tensor.shape) != tuple(state[name].shape):
            raise click.ClickException(f"{reader_dir}: {onnx_name} has shape {tuple(tensor.shape)}, "
                                       f"{name} needs {tuple(state[name].shape)}")
        state[name] = tensor.to(state[name].dtype)
        filled.add(name)
    missing = [n for n in state if n not in filled and not n.endswith("position_ids")]
    if missing:
        raise click.ClickException(f"{reader_dir}: no weights for {', '.join(missing[:5])}")
    model.load_state_dict(state)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training.json").write_text(json.dumps(manifest["trained"] | {"unpacked_from": manifest["name"]},
                                                  indent=2))
    return out


@click.command()
@click.option("--reader", "reader_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def main(reader_dir: Path, out: Path) -> None:
    """Unpack a reader directory into weights `python -m training.reader.train --init OUT` trains further."""
    click.echo(f"wrote {unpack_reader(reader_dir, out)}")


if __name__ == "__main__":
    main()
