"""Embed texts with an exported ONNX copy of a sentence-transformers model: onnxruntime and tokenizers, no torch.

`export_onnx` (index time, needs torch) writes an encoder directory; `OnnxQueryEncoder` (serving time) reads it
and gives the same vectors as sentence-transformers: the transformer's token embeddings, pooled and normalized
as the model's modules.json and pooling config say, with the model's max_seq_length.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from embeddings.checksums import file_sha256
from embeddings.errors import ModelLoadError

log = logging.getLogger(__name__)

# The export's folder inside an index generation.
ENCODER_DIR = "onnx"
ONNX_MODEL = "model.onnx"
ONNX_MODEL_INT8 = "model_int8.onnx"
# The same transformer with onnxruntime's fused BERT operators (Attention, SkipLayerNormalization, BiasGelu):
# the same vectors, ~1.5x the passages/s of model.onnx for batch ingestion (docs/performance.md).
ONNX_MODEL_FUSED = "model_fused.onnx"
TOKENIZER = "tokenizer.json"
EXPORT_INFO = "onnx_export.json"
MODULES = "modules.json"
ST_CONFIG = "sentence_bert_config.json"
MODEL_CONFIG = "config.json"
OPSET = 18
# The TorchScript exporter's graph of eager attention is the one onnxruntime's BERT fusions recognize.
FUSED_OPSET = 17
# Bumped when an export gains files: older exports are then not current and are made again.
EXPORT_FORMAT = 2
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")
# Padded tokens per onnxruntime run when embedding a batch (8 ingestion passages of ~250 tokens, a whole batch of
# sentences): ~10% more passages/s than whole batches of 32, whose FFN activations (48 MB) outgrow the cache.
RUN_TOKENS = 2048
# Token embeddings of the export and of torch may differ by float rounding only; more means a broken graph.
EXPORT_TOLERANCE = 1e-4

Progress = Callable[[int, int], None]

_SESSIONS: dict[tuple[str, int], object] = {}
_TOKENIZERS: dict[tuple[str, int], object] = {}
_CACHE_LOCK = threading.Lock()
# Hashes of files already read in this process, by identity (a changed file has a new inode, size or mtime).
_DIGESTS: dict[tuple[int, int, int, int], str] = {}
# The last complete export made or checked in this process, per (model, weights): new index builds link to it.
_EXPORTS: dict[tuple[str, str | None], Path] = {}


def _sha256(path: Path) -> str:
    stat = path.stat()
    # By file identity, not path: every index generation hard-links the same export, hashed once per process.
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(key)
    if cached is None:
        cached = _DIGESTS[key] = file_sha256(path)
    return cached


def read_pipeline(model_dir: Path) -> dict[str, object]:
    """Read max_seq_length, pooling and normalization from a sentence-transformers model directory."""
    modules_path = model_dir / MODULES
    if not modules_path.is_file():
        raise ModelLoadError(f"{model_dir} is not a sentence-transformers model directory (no {MODULES})")
    modules = json.loads(modules_path.read_text(encoding="utf-8"))
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer" or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise ModelLoadError(f"{model_dir}: only Transformer -> Pooling [-> Normalize] pipelines can be exported, "
                             f"not {' -> '.join(kinds)}")
    pooling = "cls"
    pooling_module = next((m for m in modules if str(m.get("type", "")).endswith("Pooling")), None)
    if pooling_module is not None:
        config = json.loads((model_dir / pooling_module["path"] / "config.json").read_text(encoding="utf-8"))
        named = config.get("pooling_mode")
        chosen = [named] if isinstance(named, str) else [
            mode for mode in POOLING_MODES
            if config.get(f"pooling_mode_{mode}_tokens") or config.get(f"pooling_mode_{mode}_token")
        ]
        if len(chosen) != 1 or chosen[0] not in POOLING_MODES:
            raise ModelLoadError(f"{model_dir}: unsupported pooling configuration {config}")
        pooling = chosen[0]
    st_config_path = model_dir / ST_CONFIG
    st_config = json.loads(st_config_path.read_text(encoding="utf-8")) if st_config_path.is_file() else {}
    model_config = json.loads((model_dir / MODEL_CONFIG).read_text(encoding="utf-8"))
    max_positions = int(model_config.get("max_position_embeddings", 512))
    return {
        "max_seq_length": int(st_config.get("max_seq_length") or max_positions),
        "do_lower_case": bool(st_config.get("do_lower_case", False)),
        "pooling": pooling,
        "normalize": "Normalize" in kinds,
        "dimension": int(model_config["hidden_size"]),
    }


def export_onnx(model_path_or_name: str | Path, target_dir: str | Path) -> Path:
    """Export a sentence-transformers model's transformer to target_dir/model.onnx with its tokenizer and config."""
    from embeddings.vectors import canonical_model_name, resolve_model_path

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
        "files": {name: _sha256(target / name) for name in files},
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
            digest.update(f"{path.name}:{_sha256(path)}\n".encode())
    return digest.hexdigest()


def ensure_onnx(model_path_or_name: str | Path, target_dir: str | Path, reuse_from: str | Path | None = None) -> Path:
    """Make target_dir a current export of the model: keep it, copy reuse_from (a previous export), or export."""
    from embeddings.vectors import canonical_model_name, resolve_model_path

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
                and all((directory / name).is_file() and _sha256(directory / name) == digest
                        for name, digest in models.items()))

    if current(target):
        _EXPORTS[wanted] = target
        return target
    for candidate in (reuse_from, _EXPORTS.get(wanted)):
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
            _EXPORTS[wanted] = target
            return target
    export_onnx(model_path_or_name, target)
    _EXPORTS[wanted] = target
    return target


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


def quantize_onnx(encoder_dir: str | Path) -> Path:
    """Write an int8 dynamically quantized copy of an exported encoder's model; return its path."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory = Path(encoder_dir)
    source = directory / ONNX_MODEL
    if not source.is_file():
        raise ModelLoadError(f"no {ONNX_MODEL} in {directory}: run export_onnx first")
    target = directory / ONNX_MODEL_INT8
    partial = directory / f".{ONNX_MODEL_INT8}.partial-{os.getpid()}"
    try:
        # Only the MatMuls: quantized Gather/embeddings cost accuracy and gain nothing in speed.
        quantize_dynamic(str(source), str(partial), op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def is_exported(encoder_dir: str | Path) -> bool:
    """True when a directory holds a complete export."""
    directory = Path(encoder_dir)
    return all((directory / name).is_file() for name in (EXPORT_INFO, ONNX_MODEL, TOKENIZER))


def read_export_info(encoder_dir: str | Path) -> dict:
    """Return what export_onnx recorded about an encoder directory."""
    path = Path(encoder_dir) / EXPORT_INFO
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"no ONNX encoder at {Path(encoder_dir)}: run `newsbot index` to export it") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"ONNX encoder info {path} is unreadable: {exc}") from exc


class OnnxQueryEncoder:
    """An Embedder over an exported encoder directory; session and tokenizer load once per process."""

    def __init__(self, encoder_dir: str | Path, *, quantized: bool = False, batch_size: int = 32,
                 threads: int | None = None, model_name: str | None = None,
                 export_from: str | None = None) -> None:
        self.encoder_dir = Path(encoder_dir)
        self.quantized = quantized
        self.batch_size = batch_size
        self.threads = threads or 0
        self._export_from = export_from
        self._lock = threading.Lock()
        self._info: dict | None = None
        if model_name is None:
            if export_from is not None and not is_exported(self.encoder_dir):
                from embeddings.vectors import canonical_model_name

                model_name = canonical_model_name(export_from)
            else:
                model_name = str(self.info["model"])
        self.model_name = model_name

    @property
    def info(self) -> dict:
        """Return the export's record and pipeline (pooling, normalize, max_seq_length), exporting first if asked."""
        if self._info is None:
            with self._lock:
                if self._info is None:
                    if self._export_from is not None and not is_exported(self.encoder_dir):
                        log.info("exporting %s to ONNX in %s", self._export_from, self.encoder_dir)
                        export_onnx(self._export_from, self.encoder_dir)
                    # The pipeline is read from the copied sentence-transformers files, as the model would be.
                    self._info = {**read_export_info(self.encoder_dir), **read_pipeline(self.encoder_dir)}
        return self._info

    @property
    def dimension(self) -> int:
        """Return the length of the vectors."""
        return int(self.info["dimension"])

    @property
    def model_file(self) -> Path:
        """Return the ONNX file this encoder runs: the fused model when the export has one, else model.onnx;
        for int8, the quantized copy of model.onnx, made on first use."""
        if not self.info or not self.quantized:
            fused = self.encoder_dir / ONNX_MODEL_FUSED
            # Faster for batches and for single queries alike (docs/performance.md); the same vectors.
            if ONNX_MODEL_FUSED in self.info.get("files", {}) and fused.is_file():
                return fused
            return self.encoder_dir / ONNX_MODEL
        path = self.encoder_dir / ONNX_MODEL_INT8
        if not path.is_file():
            with self._lock:
                if not path.is_file():
                    quantize_onnx(self.encoder_dir)
        return path

    def _session(self):
        path = self.model_file
        # Keyed by content, not path: each index generation holds its own copy of the same export.
        # The int8 copy is not recorded: it goes by the digest of the model it was made from.
        files = self.info.get("files", {})
        key = (files.get(path.name) or f"{files.get(ONNX_MODEL) or path.resolve()}:{path.name}", self.threads)
        with _CACHE_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # Idle workers spinning for the next run cost ~1 ms of latency when off, but with the bot's own
                # Python work (and anything else) on 2 cores, spinning doubled p95 and burned 50% more CPU.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if self.threads:
                    options.intra_op_num_threads = self.threads
                try:
                    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # any loader failure becomes one clear error
                    raise ModelLoadError(f"cannot load ONNX model {path}: {type(exc).__name__}: {exc}"
                                         .splitlines()[0]) from exc
                _SESSIONS[key] = session
            return session

    def _tokenizer(self):
        max_length = int(self.info["max_seq_length"])
        path = self.encoder_dir / TOKENIZER
        key = (self.info.get("files", {}).get(TOKENIZER) or str(path.resolve()), max_length)
        with _CACHE_LOCK:
            tokenizer = _TOKENIZERS.get(key)
            if tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(path))
                # tokenizer.json carries its own (shorter, fixed) padding: sentence-transformers pads to the
                # longest text of the batch and truncates at max_seq_length. On the right: the fused model's
                # attention reads the mask as lengths.
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=max_length)
                pad_id = tokenizer.token_to_id("[PAD]")
                tokenizer.enable_padding(direction="right", pad_id=0 if pad_id is None else pad_id,
                                         pad_token="[PAD]")
                _TOKENIZERS[key] = tokenizer
            return tokenizer

    def load(self) -> OnnxQueryEncoder:
        """Load the session and tokenizer now instead of on the first text."""
        self._session()
        self._tokenizer()
        return self

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return one normalized float32 row per text; report (done, total) after each batch."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session, tokenizer = self._session(), self._tokenizer()
        if self.info.get("do_lower_case"):
            texts = [text.lower() for text in texts]
        inputs = [i.name for i in session.get_inputs()]
        # Longest first, as sentence-transformers does, so that each batch pads little.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for offset in range(0, len(texts), self.batch_size):
            rows = order[offset : offset + self.batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in rows])
            batch = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
            # Runs of at most RUN_TOKENS padded tokens, longest first, each cut to its own longest row (padding
            # is on the right): less padding, and activations that stay in cache.
            lengths = batch["attention_mask"].sum(axis=1)
            within = np.argsort(-lengths, kind="stable")
            start = 0
            while start < len(within):
                width = max(int(lengths[within[start]]), 1)
                part = within[start : start + max(1, RUN_TOKENS // width)]
                feeds = {name: batch[name][part, :width] for name in inputs}
                tokens = session.run(None, feeds)[0]
                out[rows[part]] = self._pool(tokens, batch["attention_mask"][part, :width])
                start += len(part)
            if progress:
                progress(min(offset + self.batch_size, len(texts)), len(texts))
        return out

    def _pool(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        mode = self.info["pooling"]
        weights = mask.astype(np.float32)
        if mode == "cls":
            pooled = tokens[:, 0]
        elif mode == "max":
            pooled = np.where(weights[..., None] > 0, tokens, -1e9).max(axis=1)
        else:
            summed = np.einsum("bth,bt->bh", tokens, weights)
            counts = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
            pooled = summed / (np.sqrt(counts) if mode == "mean_sqrt_len" else counts)
        if self.info["normalize"]:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32, copy=False)
