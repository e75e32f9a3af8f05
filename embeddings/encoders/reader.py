"""The reader: given a question and candidate quotes, the probability that each quote answers it.

A small cross-encoder trained by `python -m training.reader` (docs/reader.md), served on onnxruntime and tokenizers,
never torch. Its directory holds the model, its tokenizer and a manifest (what it was trained on and how, the
licences, every file's SHA-256); loading refuses a directory that does not match its manifest.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.checksums import file_sha256
from embeddings.errors import ModelLoadError

# The reader that ships with newsbot (its weights are in the repository, its recipe in training/reader/).
SHIPPED_READER = Path(__file__).resolve().parent.parent / "models" / "reader"
MANIFEST = "manifest.json"
READER_FORMAT = 1
RETRAIN = "python -m training.reader"
# Pairs per onnxruntime run: small runs keep a run's activations in the core's cache and let the runs of one
# question spread over the cores (docs/reader.md: 1-3 pairs a run measured fastest, 16-32 slowest).
RUN_PAIRS = 2


@runtime_checkable
class Reader(Protocol):
    """Anything that judges whether quotes answer a question."""

    name: str

    def read(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        """Return, for each quote, the probability that it answers the question."""
        ...


class NoReader:
    """No reader at all: every quote judged alike (the ablation `newsbot eval --ablation` measures against)."""

    name = "none"

    def read(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        """Return 0.5 for every quote."""
        return np.full(len(quotes), 0.5, dtype=np.float32)


def plain_tokenizer(source):
    """A tokenizers.Tokenizer from a tokenizer.json path or another Tokenizer, with no padding and no truncation
    (encode_pairs cuts and pads itself)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source)) if isinstance(source, str | Path) else Tokenizer.from_str(
        source.to_str())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def encode_pairs(tokenizer, question: str, quotes: Sequence[str], max_tokens: int,
                 question_tokens: int) -> list[tuple[list[int], list[int]]]:
    """Token ids and segment ids of each (question, quote) pair: [CLS] question [SEP] quote [SEP], the question cut
    to `question_tokens` and the quote to what `max_tokens` leaves (a plain_tokenizer). The training recipe encodes
    the same way."""
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    asked = tokenizer.encode(question, add_special_tokens=False).ids[:question_tokens]
    room = max(1, max_tokens - len(asked) - 3)
    pairs = []
    for encoding in tokenizer.encode_batch(list(quotes), add_special_tokens=False):
        quote = encoding.ids[:room]
        ids = [cls_id, *asked, sep_id, *quote, sep_id]
        pairs.append((ids, [0] * (len(asked) + 2) + [1] * (len(quote) + 1)))
    return pairs


def read_manifest(model_dir: Path) -> dict:
    """Read and check a reader directory's manifest: its format and every file's checksum."""
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"no reader at {model_dir} (no {MANIFEST}): set NEWSBOT_READER to a reader directory "
                             f"or restore it (`{RETRAIN}` makes one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = dict(manifest["files"])
        fmt = int(manifest["format"])
        int(manifest["max_tokens"]), int(manifest["question_tokens"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"the reader manifest {path} is unreadable ({exc}): `{RETRAIN}` makes a new one"
                             ) from None
    if fmt != READER_FORMAT:
        raise ModelLoadError(f"the reader at {model_dir} is format {fmt}, this newsbot reads {READER_FORMAT}: "
                             f"`{RETRAIN}` makes a current one")
    for name, digest in files.items():
        file = model_dir / name
        if not file.is_file() or file_sha256(file) != digest:
            raise ModelLoadError(f"the reader's {name} in {model_dir} is missing or does not match its manifest: "
                                 f"restore it (git checkout) or `{RETRAIN}`")
    return manifest


class OnnxReader:
    """A reader directory served by onnxruntime: one single-threaded session per worker (`threads` of them, all
    cores by default), loaded on first use; one question's runs are spread over the workers."""

    def __init__(self, model_dir: Path = SHIPPED_READER, threads: int = 0) -> None:
        self.model_dir = Path(model_dir)
        self.manifest = read_manifest(self.model_dir)
        self.name = str(self.manifest.get("name", self.model_dir.name))
        self.max_tokens = int(self.manifest["max_tokens"])
        self.question_tokens = int(self.manifest["question_tokens"])
        self.threads = max(1, threads or os.cpu_count() or 1)
        self._tokenizer = None
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._tokenizer is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                # One thread per session: a session's threads wait for each other at every operator, and a
                # busy core then holds up the whole run (docs/performance.md, the encoder's workers).
                options.intra_op_num_threads = 1
                try:
                    tokenizer = plain_tokenizer(self.model_dir / self.manifest["tokenizer"])
                    sessions = [ort.InferenceSession(str(self.model_dir / self.manifest["model"]), options,
                                                     providers=["CPUExecutionProvider"]) for _ in range(self.threads)]
                except Exception as exc:  # any loader failure becomes one clear error
                    raise ModelLoadError(f"cannot load the reader in {self.model_dir}: {exc}") from None
                for session in sessions:
                    self._free.put(session)
                if self.threads > 1:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="newsbot-reader")
                self._tokenizer = tokenizer
            return self._tokenizer

    def warm_up(self) -> None:
        """Load the model now rather than at the first question."""
        self.read("warm up", ["warm up"])

    def _run(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        session = self._free.get()
        try:
            return np.asarray(session.run(None, batch)[0], dtype=np.float32).reshape(-1)
        finally:
            self._free.put(session)

    def read(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        """Return, for each quote, the probability that it answers the question."""
        if not quotes:
            return np.zeros(0, dtype=np.float32)
        tokenizer = self._load()
        pairs = encode_pairs(tokenizer, question, quotes, self.max_tokens, self.question_tokens)
        # Similar lengths together: little padding. The runs are the same whichever worker takes them.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
        runs = [order[at:at + RUN_PAIRS] for at in range(0, len(order), RUN_PAIRS)]
        batches = [_batch([pairs[i] for i in rows]) for rows in runs]
        outputs = list(self._pool.map(self._run, batches)) if self._pool and len(batches) > 1 else [
            self._run(batch) for batch in batches]
        logits = np.zeros(len(pairs), dtype=np.float32)
        for rows, out in zip(runs, outputs, strict=True):
            logits[rows] = out
        return 1.0 / (1.0 + np.exp(-logits))


def _batch(pairs: Sequence[tuple[list[int], list[int]]]) -> dict[str, np.ndarray]:
    """Pad some encoded pairs to the longest of them: the model's three inputs."""
    width = max(len(tokens) for tokens, _ in pairs)
    ids = np.zeros((len(pairs), width), dtype=np.int64)
    types = np.zeros((len(pairs), width), dtype=np.int64)
    mask = np.zeros((len(pairs), width), dtype=np.int64)
    for r, (tokens, segments) in enumerate(pairs):
        ids[r, :len(tokens)] = tokens
        types[r, :len(tokens)] = segments
        mask[r, :len(tokens)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
