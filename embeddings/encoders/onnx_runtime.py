"""Serve an exported ONNX copy of a sentence-transformers model: onnxruntime and tokenizers, never torch.

`encoders.onnx_export` (index time, needs torch) writes an encoder directory; `OnnxQueryEncoder` reads it and
gives the same vectors as sentence-transformers: the transformer's token embeddings, pooled and normalized as
the model's modules.json and pooling config say, with the model's max_seq_length.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from embeddings.checksums import cached_sha256
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
# The files of an export that an index's manifest records with their SHA-256.
ENCODER_FILES = (ONNX_MODEL, ONNX_MODEL_FUSED, TOKENIZER)
# Bumped when an export gains files: older exports are then not current and are made again.
EXPORT_FORMAT = 2
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")
# Padded tokens per onnxruntime run when embedding a batch (8 ingestion passages of ~250 tokens, a whole batch of
# sentences): ~10% more passages/s than whole batches of 32, whose FFN activations (48 MB) outgrow the cache.
RUN_TOKENS = 2048
# Texts tokenized at a time by embed(): their encodings, not the corpus's, are in memory.
SLAB = 4096

Progress = Callable[[int, int], None]

_SESSIONS: dict[tuple[str, int], object] = {}
_TOKENIZERS: dict[tuple[str, int], object] = {}
_CACHE_LOCK = threading.Lock()


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


def quantize_onnx(encoder_dir: str | Path, target_dir: str | Path | None = None) -> Path:
    """Write an int8 dynamically quantized copy of an exported encoder's model (into target_dir, by default the
    export itself); return its path."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory = Path(encoder_dir)
    source = directory / ONNX_MODEL
    if not source.is_file():
        raise ModelLoadError(f"no {ONNX_MODEL} in {directory}: export the model first")
    target = Path(target_dir or directory) / ONNX_MODEL_INT8
    partial = target.parent / f".{ONNX_MODEL_INT8}.partial-{os.getpid()}"
    try:
        # Only the MatMuls: quantized Gather/embeddings cost accuracy and gain nothing in speed. Given the model
        # loaded, not its path: from a path, shape inference writes a scratch file beside it (in the index).
        quantize_dynamic(onnx.load(str(source)), str(partial), op_types_to_quantize=["MatMul"], per_channel=True,
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


def run_files(files: Mapping[str, str], quantized: bool = False) -> tuple[str, ...]:
    """Return the export files an encoder reads: the model it runs (the fused one when the export has it; for
    int8, the model it quantizes) and the tokenizer."""
    fused = not quantized and ONNX_MODEL_FUSED in files
    return (ONNX_MODEL_FUSED if fused else ONNX_MODEL, TOKENIZER)


def backend_files(files: Mapping[str, str], backend: str | None) -> tuple[str, ...]:
    """Return the recorded export files that a backend reads: run_files for onnx and onnx-int8, none for the
    torch ones, every recorded model and tokenizer for None."""
    if backend in ("onnx", "onnx-int8"):
        names: tuple[str, ...] = run_files(files, backend == "onnx-int8")
    else:
        names = () if backend else ENCODER_FILES
    return tuple(name for name in names if name in files)


def export_problem(encoder_dir: str | Path, model_name: str | None, quantized: bool = False) -> str | None:
    """Return why a directory is not an intact export of the model, as far as an encoder reads it; None if it is.

    The files read are checked against the SHA-256 the export recorded (hashed once per process per file).
    """
    directory = Path(encoder_dir)
    if not is_exported(directory):
        return f"no ONNX encoder at {directory}"
    try:
        info = read_export_info(directory)
    except ModelLoadError as exc:
        return str(exc)
    files = info.get("files") if isinstance(info, dict) else None
    if not isinstance(files, dict):
        return f"ONNX encoder info {directory / EXPORT_INFO} is damaged"
    if model_name is not None and info.get("model") != model_name:
        return f"the ONNX encoder at {directory} is of {info.get('model')!r}, not of {model_name!r}"
    for name in run_files(files, quantized):
        path = directory / name
        if not path.is_file() or cached_sha256(path) != files.get(name):
            return f"ONNX encoder file {path} is missing or fails its checksum"
    return None


class _Workers:
    """Runs spread over `workers` sessions of one thread each, in Python threads (onnxruntime releases the GIL):
    on cores shared with other work a worker that waits for a core holds up only its own run, where one session's
    threads all wait at every operator for the slowest of them."""

    def __init__(self, encoder: OnnxQueryEncoder, inputs: list[str]) -> None:
        import queue
        from concurrent.futures import ThreadPoolExecutor

        self.inputs = inputs
        self.sessions: queue.Queue = queue.Queue()
        for slot in range(encoder.workers):
            self.sessions.put(encoder._session(slot=slot + 1, threads=1))
        self.executor = ThreadPoolExecutor(encoder.workers, thread_name_prefix="newsbot-encoder")

    def _run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        session = self.sessions.get()
        try:
            return session.run(None, {name: batch[name] for name in self.inputs})[0]
        finally:
            self.sessions.put(session)

    def map(self, batches):  # type: ignore[no-untyped-def]
        """Run every batch, results in order."""
        return self.executor.map(self._run, list(batches))

    def close(self) -> None:
        """Stop the worker threads."""
        self.executor.shutdown(wait=True)


def pad_encodings(encodings: Sequence, pad_id: int, width: int | None = None) -> dict[str, np.ndarray]:
    """The model's inputs for some tokenizer encodings, padded on the right to `width` (the longest's length)."""
    width = width or max((len(e.ids) for e in encodings), default=1)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        n = min(len(encoding.ids), width)
        ids[row, :n] = encoding.ids[:n]
        mask[row, :n] = 1
        types[row, :n] = encoding.type_ids[:n]
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class OnnxQueryEncoder:
    """An Embedder over an exported encoder directory; session and tokenizer load once per process."""

    # What embed() counts its progress in.
    progress_unit = "characters"

    def __init__(self, encoder_dir: str | Path, *, quantized: bool = False, batch_size: int = 32,
                 threads: int | None = None, model_name: str | None = None,
                 exporter: Callable[[Path], object] | None = None, export_dir: str | Path | None = None,
                 int8_dir: str | Path | None = None, workers: int = 1) -> None:
        # encoder_dir: the export to read (an index's). If it holds no intact export of model_name, export_dir
        # is read instead, the exporter (index time: it needs torch once) making it there first when needed.
        self.encoder_dir = Path(encoder_dir)
        self.quantized = quantized
        self.batch_size = batch_size
        self.threads = threads or 0
        self.run_tokens = RUN_TOKENS
        # Batch embedding on this many single-threaded sessions at once (1: one session of `threads` threads).
        self.workers = max(1, workers)
        # Counts of the last embed(): real tokens and padded tokens run through the model.
        self.tokens_embedded = self.padded_tokens = 0
        self._exporter = exporter
        self._export_dir = Path(export_dir) if export_dir is not None else None
        # Where the int8 copy is made (never inside an index generation); None: beside the model it quantizes.
        self._int8_dir = Path(int8_dir) if int8_dir is not None else None
        self._lock = threading.Lock()
        self._info: dict | None = None
        self._expected = model_name
        self.model_name = model_name if model_name is not None else str(self.info["model"])

    @property
    def info(self) -> dict:
        """Return the export's record and pipeline (pooling, normalize, max_seq_length), exporting first if asked."""
        if self._info is None:
            with self._lock:
                if self._info is None:
                    self.encoder_dir = self._usable_export()
                    # The pipeline is read from the copied sentence-transformers files, as the model would be.
                    self._info = {**read_export_info(self.encoder_dir), **read_pipeline(self.encoder_dir)}
        return self._info

    def _usable_export(self) -> Path:
        """Return the directory of an intact export of the model: encoder_dir, else export_dir (made if needed)."""
        candidates = [self.encoder_dir, *([self._export_dir] if self._export_dir is not None else [])]
        problems = [export_problem(directory, self._expected, self.quantized) for directory in candidates]
        for directory, problem in zip(candidates, problems, strict=True):
            if problem is None:
                return directory
        if self._exporter is None:
            raise ModelLoadError(f"{problems[0]}: run `newsbot index --rebuild`")
        target = candidates[-1]
        log.info("%s: exporting %s to ONNX in %s", problems[-1], self._expected, target)
        try:
            self._exporter(target)
        except OSError as exc:
            raise ModelLoadError(f"cannot export the model to {target} ({exc.strerror or exc})") from None
        problem = export_problem(target, self._expected, self.quantized)
        if problem:
            raise ModelLoadError(problem)
        return target

    @property
    def dimension(self) -> int:
        """Return the length of the vectors."""
        return int(self.info["dimension"])

    @property
    def model_file(self) -> Path:
        """Return the ONNX file this encoder runs: the fused model when the export has it, else model.onnx (for
        int8, the model it quantizes)."""
        return self.encoder_dir / run_files(self.info.get("files", {}), self.quantized)[0]

    def _int8_model(self) -> Path | bytes:
        """Return the int8 copy of model.onnx, made on first use where int8_dir says; in memory when that is
        read-only (an index is never written to by a query)."""
        digest = str(self.info["files"][ONNX_MODEL])
        directory = self._int8_dir / digest[:16] if self._int8_dir is not None else self.encoder_dir
        target = directory / ONNX_MODEL_INT8
        with self._lock:
            if target.is_file():
                return target
            try:
                directory.mkdir(parents=True, exist_ok=True)
                return quantize_onnx(self.encoder_dir, directory)
            except OSError as exc:
                log.info("cannot write the int8 model in %s (%s): quantizing in memory", directory, exc.strerror)
            with tempfile.TemporaryDirectory() as scratch:
                return quantize_onnx(self.encoder_dir, scratch).read_bytes()

    def _session(self, slot: int = 0, threads: int | None = None):
        """The onnxruntime session (one per process per model, thread count and slot: workers get one each)."""
        files = self.info.get("files", {})
        path = self.model_file
        threads = self.threads if threads is None else threads
        # Keyed by content, not path: each index generation holds its own copy of the same export.
        # The int8 copy is not recorded: it goes by the digest of the model it was made from.
        key = (f"{files[ONNX_MODEL]}:{ONNX_MODEL_INT8}" if self.quantized else files[path.name], threads, slot)
        with _CACHE_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                import onnxruntime as ort

                model = self._int8_model() if self.quantized else path
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # Idle workers spinning for the next run cost ~1 ms of latency when off, but with the bot's own
                # Python work (and anything else) on 2 cores, spinning doubled p95 and burned 50% more CPU.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if threads:
                    options.intra_op_num_threads = threads
                try:
                    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                                   providers=["CPUExecutionProvider"])
                except Exception as exc:  # any loader failure becomes one clear error
                    raise ModelLoadError(f"cannot load ONNX model {path}: {type(exc).__name__}: {exc}"
                                         .splitlines()[0]) from exc
                _SESSIONS[key] = session
            return session

    def _tokenizer(self):
        """The model's tokenizer, truncating at max_seq_length and padding nothing (runs are padded here)."""
        max_length = int(self.info["max_seq_length"])
        path = self.encoder_dir / TOKENIZER
        key = (self.info.get("files", {}).get(TOKENIZER) or str(path.resolve()), max_length)
        with _CACHE_LOCK:
            tokenizer = _TOKENIZERS.get(key)
            if tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(path))
                # tokenizer.json carries its own (shorter, fixed) padding: sentence-transformers pads to the
                # longest text of the batch and truncates at max_seq_length; embed() pads each run on the right
                # (the fused model's attention reads the mask as lengths).
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=max_length)
                _TOKENIZERS[key] = tokenizer
            return tokenizer

    def _pad_id(self) -> int:
        pad_id = self._tokenizer().token_to_id("[PAD]")
        return 0 if pad_id is None else int(pad_id)

    def load(self) -> OnnxQueryEncoder:
        """Load the session and tokenizer now instead of on the first text."""
        self._session()
        self._tokenizer()
        return self

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Return one normalized float32 row per text; report (characters done, characters total) as runs finish.

        Texts go longest first (by characters) in slabs of SLAB texts; each slab is tokenized without padding,
        sorted by token count and cut into runs of at most run_tokens padded tokens, each padded only to its
        own longest text: next to no padding, activations that stay in cache, and a slab's encodings at a time
        in memory whatever the corpus.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session, tokenizer = self._session(), self._tokenizer()
        if self.info.get("do_lower_case"):
            texts = [text.lower() for text in texts]
        inputs = [i.name for i in session.get_inputs()]
        pad_id = self._pad_id()
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # The total for progress: characters stand in for tokens until a slab is tokenized.
        chars = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        total = float(chars.sum()) or 1.0
        done = 0.0
        self.tokens_embedded = self.padded_tokens = 0
        pool = _Workers(self, inputs) if self.workers > 1 and len(texts) > 2 * SLAB // 64 else None
        try:
            for offset in range(0, len(texts), SLAB):
                rows = order[offset : offset + SLAB]
                encodings = tokenizer.encode_batch([texts[i] for i in rows])
                lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
                slab_chars = float(chars[rows].sum())
                within = np.argsort(-lengths, kind="stable")
                parts, start = [], 0
                while start < len(within):
                    width = max(int(lengths[within[start]]), 1)
                    parts.append((within[start : start + max(1, self.run_tokens // width)], width))
                    start += len(parts[-1][0])
                batches = (pad_encodings([encodings[k] for k in part], pad_id, width) for part, width in parts)
                results = pool.map(batches) if pool else (
                    session.run(None, {name: batch[name] for name in inputs})[0] for batch in batches)
                finished = 0
                for (part, width), tokens in zip(parts, results, strict=True):
                    mask = np.zeros((len(part), width), dtype=np.int64)
                    for j, k in enumerate(part):
                        mask[j, : lengths[k]] = 1
                    out[rows[part]] = self._pool(tokens, mask)
                    self.tokens_embedded += int(lengths[part].sum())
                    self.padded_tokens += len(part) * width
                    finished += len(part)
                    if progress:
                        progress(int(done + slab_chars * finished / len(within)), int(total))
                done += slab_chars
        finally:
            if pool:
                pool.close()
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
