"""Export a sentence-transformers model to ONNX at index time (needs torch), checked against torch before use."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from embeddings.checksums import cached_sha256
from embeddings.encoders.names import canonical_model_name, resolve_model_path
from embeddings.encoders.onnx_runtime import (
    EXPORT_FORMAT,
    EXPORT_INFO,
    MODEL_CONFIG,
    MODULES,
    ONNX_MODEL,
    ONNX_MODEL_FUSED,
    ST_CONFIG,
    TOKENIZER,
    is_exported,
    read_export_info,
    read_pipeline,
)
from embeddings.errors import ModelLoadError

log = logging.getLogger(__name__)

OPSET = 18
# The TorchScript exporter's graph of eager attention is the one onnxruntime's BERT fusions recognize.
FUSED_OPSET = 17
# Token embeddings of the export and of torch may differ by float rounding only; more means a broken graph.
EXPORT_TOLERANCE = 1e-4
# The last complete exports made or checked in this process, per (model, weights), newest first: new index builds
# link to one still intact (a damaged index's own export is passed over for the one before).
_EXPORTS: dict[tuple[str, str | None], list[Path]] = {}
_KEPT_EXPORTS = 4


def export_onnx(model_path_or_name: str | Path, target_dir: str | Path) -> Path:
    """Export a sentence-transformers model's transformer to target_dir/model.onnx with its tokenizer and config."""
    source = Path(resolve_model_path(str(model_path_or_name))).expanduser()
    if not source.is_dir():
        raise ModelLoadError(f"cannot export {model_path_or_name!r}: {source} is not a local model directory")
    if not (source / TOKENIZER).is_file():
        raise ModelLoadError(f"cannot export {model_path_or_name!r}: {source} has no {TOKENIZER}")
    pipeline = read_pipeline(source)
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    (target / EXPORT_INFO).unlink(missing_ok=True)  # written last: a directory without it is incomplete
    (target / ONNX_MODEL_FUSED).unlink(missing_ok=True)

    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(source)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source))

    # Two rows of different lengths so that the exporter cannot specialize batch or sequence to 1.
    sample = tokenizer(["a short example", "a somewhat longer example sentence, with some padding after it"],
                       padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(sample.get(name, torch.zeros_like(sample["input_ids"])) for name in names)
    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence", max=int(model.config.max_position_embeddings))
    partial = target / f".{ONNX_MODEL}.partial-{os.getpid()}"
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    chatter = io.StringIO()
    try:
        # The TorchScript exporter bakes transformers' mask shapes in as constants; torch.export keeps them symbolic.
        # It prints progress (kept off stdout, which may be a command's JSON) and warns about torchvision ops.
        exporter_log.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(chatter), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                _token_embeddings(model), inputs, None, input_names=names, output_names=["token_embeddings"],
                dynamic_shapes={name: {0: batch, 1: sequence} for name in names}, opset_version=OPSET,
                dynamo=True, external_data=False, verbose=False,
            )
            program.save(str(partial), external_data=False)
        _check_export(partial, model, tokenizer, names)
        os.replace(partial, target / ONNX_MODEL)
    finally:
        exporter_log.setLevel(level)
        log.debug("torch.onnx.export: %s", chatter.getvalue())
        partial.unlink(missing_ok=True)
    fused = _export_fused(source, target, model, tokenizer, names)
    for name in _config_files(source):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        # Replaced, never written in place: index generations may hold hard links to an earlier export's files.
        (target / name).unlink(missing_ok=True)
        shutil.copyfile(source / name, target / name)
    files = (ONNX_MODEL, TOKENIZER) + ((ONNX_MODEL_FUSED,) if "operators" in fused else ())
    info = {
        "format": EXPORT_FORMAT,
        "model": canonical_model_name(str(model_path_or_name)),
        "source": str(source),
        "source_weights": _weights_digest(source),
        **pipeline,
        "inputs": names,
        "output": "token_embeddings",
        "opset": OPSET,
        "torch": torch.__version__,
        "fused": fused,
        "files": {name: cached_sha256(target / name) for name in files},
    }
    (target / EXPORT_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


def _token_embeddings(model):
    """Wrap a transformers model as a module from (input_ids, attention_mask, token_type_ids) to token embeddings."""
    import torch

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return TokenEmbeddings(model)


def _export_fused(source: Path, target: Path, reference, tokenizer, names: list[str]) -> dict:
    """Write target/model_fused.onnx, a BERT with onnxruntime's fused operators; return what was fused or why not.

    The fusions (onnxruntime.transformers.optimizer) match the graph that the TorchScript exporter writes for
    eager attention, not torch.export's (its scaled-dot-product attention keeps a Where/IsNaN per layer, a fifth
    of the run time). Its Attention takes the attention mask as lengths: padding must be on the right, as the
    encoder's tokenizer pads. The file is checked against the reference (the torch model model.onnx was checked
    against: the traced copy is not, since tracing leaves transformers' eager model giving other results); on
    any failure only model.onnx is kept.
    """
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(source))
    if config.model_type != "bert":
        return {"skipped": f"model type {config.model_type!r}: only BERT graphs are fused"}
    raw = target / f".{ONNX_MODEL_FUSED}.raw-{os.getpid()}"
    partial = target / f".{ONNX_MODEL_FUSED}.partial-{os.getpid()}"
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    sample = tokenizer(["a short example", "a somewhat longer example sentence, with some padding after it"],
                       padding=True, return_tensors="pt")
    inputs = tuple(sample.get(name, torch.zeros_like(sample["input_ids"])) for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        exporter_log.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_token_embeddings(model), inputs, str(raw), input_names=names,
                              output_names=["token_embeddings"], dynamic_axes=axes, opset_version=FUSED_OPSET,
                              dynamo=False)
            # opt_level 0: the fusions only; onnxruntime's own graph optimizations run when a session loads it.
            optimized = optimize_model(str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
                                       hidden_size=int(config.hidden_size), opt_level=0)
            operators = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
            if operators.get("Attention") != config.num_hidden_layers:
                return {"skipped": f"attention was not fused: {operators}"}
            optimized.save_model_to_file(str(partial))
        _check_export(partial, reference, tokenizer, names)
        os.replace(partial, target / ONNX_MODEL_FUSED)
    except Exception as exc:  # the plain export serves; the fused one is a speed-up only
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.warning("no fused ONNX model for %s: %s", source, reason)
        return {"skipped": reason}
    finally:
        exporter_log.setLevel(level)
        raw.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return {"operators": operators, "opset": FUSED_OPSET}


def _weights_digest(model_dir: Path) -> str:
    """Return one hash over a model directory's weight files, to tell whether an export is still current."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*")):
        if path.suffix in (".safetensors", ".bin", ".pt", ".onnx") and path.is_file():
            digest.update(f"{path.name}:{cached_sha256(path)}\n".encode())
    return digest.hexdigest()


def ensure_onnx(model_path_or_name: str | Path, target_dir: str | Path, reuse_from: str | Path | None = None) -> Path:
    """Make target_dir a current export of the model: keep it, copy reuse_from (a previous export), or export."""
    target = Path(target_dir)
    source = Path(resolve_model_path(str(model_path_or_name))).expanduser()
    wanted = (canonical_model_name(str(model_path_or_name)), _weights_digest(source) if source.is_dir() else None)

    def current(directory: Path) -> bool:
        if not is_exported(directory):
            return False
        info = read_export_info(directory)
        models = {name: digest for name, digest in info.get("files", {}).items()
                  if name in (ONNX_MODEL, ONNX_MODEL_FUSED)}
        return ((info.get("model"), info.get("source_weights")) == wanted and info.get("format") == EXPORT_FORMAT
                and ONNX_MODEL in models
                and all((directory / name).is_file() and cached_sha256(directory / name) == digest
                        for name, digest in models.items()))

    if current(target):
        _remember(wanted, target)
        return target
    for candidate in (reuse_from, *_EXPORTS.get(wanted, ())):
        if candidate is None or not Path(candidate).is_dir() or Path(candidate).resolve() == target.resolve():
            continue
        if current(Path(candidate)):
            # Built aside and renamed into place, so that target is never half there. Files are never changed
            # in place (always replaced), so hard links are safe and cost no disk.
            partial = target.parent / f".{target.name}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(Path(candidate), partial, ignore=shutil.ignore_patterns(".*"), copy_function=_link)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
            _remember(wanted, target)
            return target
    export_onnx(model_path_or_name, target)
    _remember(wanted, target)
    return target


def _remember(wanted: tuple[str, str | None], target: Path) -> None:
    kept = [path for path in _EXPORTS.get(wanted, []) if path != target]
    _EXPORTS[wanted] = [target, *kept][:_KEPT_EXPORTS]


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _config_files(model_dir: Path) -> list[str]:
    """Return the tokenizer and pipeline files an encoder directory needs, relative to the model directory."""
    modules = json.loads((model_dir / MODULES).read_text(encoding="utf-8"))
    pooling = [f"{m['path']}/config.json" for m in modules if str(m.get("type", "")).endswith("Pooling")]
    return [name for name in (TOKENIZER, MODULES, ST_CONFIG, MODEL_CONFIG, *pooling) if (model_dir / name).is_file()]


def _check_export(path: Path, model, tokenizer, names: list[str]) -> None:
    """Refuse an export whose token embeddings differ from torch's on other shapes than the sample's."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for texts in (["one", "three words here", "a longer text " * 20, "x"], ["a single text"]):
        sample = tokenizer(texts, padding=True, return_tensors="np")
        feeds = {n: np.asarray(sample.get(n, np.zeros_like(sample["input_ids"])), dtype=np.int64) for n in names}
        got = session.run(None, feeds)[0]
        with torch.no_grad():
            want = model(**{n: torch.from_numpy(v) for n, v in feeds.items()}).last_hidden_state.numpy()
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        error = float(np.abs((got - want) * mask).max())
        if error > EXPORT_TOLERANCE:
            raise ModelLoadError(f"the ONNX export {path.name} differs from the torch model by {error:.3g}: "
                                 "not written")
