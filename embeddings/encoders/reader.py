"""The reader: given a question and candidate quotes, the probability that each quote answers it.

A small cross-encoder trained by `python -m training.reader` (docs/reader.md), served on onnxruntime and tokenizers,
never torch. Its directory holds the model, its tokenizer and a manifest (what it was trained on and how, the
licences, every file's SHA-256); loading refuses a directory that does not match its manifest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
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
# Pairs per onnxruntime run: one question's candidates at once, cut so a batch's activations stay in the cache.
RUN_PAIRS = 32


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
    """A reader directory served by onnxruntime: one session per process, loaded on first use."""

    def __init__(self, model_dir: Path = SHIPPED_READER, threads: int = 0) -> None:
        self.model_dir = Path(model_dir)
        self.manifest = read_manifest(self.model_dir)
        self.name = str(self.manifest.get("name", self.model_dir.name))
        self.max_tokens = int(self.manifest["max_tokens"])
        self.question_tokens = int(self.manifest["question_tokens"])
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if self.threads:
                    options.intra_op_num_threads = self.threads
                try:
                    self._tokenizer = plain_tokenizer(self.model_dir / self.manifest["tokenizer"])
                    self._session = ort.InferenceSession(str(self.model_dir / self.manifest["model"]), options,
                                                         providers=["CPUExecutionProvider"])
                except Exception as exc:  # any loader failure becomes one clear error
                    raise ModelLoadError(f"cannot load the reader in {self.model_dir}: {exc}") from None
            return self._session, self._tokenizer

    def warm_up(self) -> None:
        """Load the model now rather than at the first question."""
        self.read("warm up", ["warm up"])

    def read(self, question: str, quotes: Sequence[str]) -> np.ndarray:
        """Return, for each quote, the probability that it answers the question."""
        if not quotes:
            return np.zeros(0, dtype=np.float32)
        session, tokenizer = self._load()
        pairs = encode_pairs(tokenizer, question, quotes, self.max_tokens, self.question_tokens)
        logits = np.zeros(len(pairs), dtype=np.float32)
        # Similar lengths together: little padding.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
        for at in range(0, len(order), RUN_PAIRS):
            rows = order[at:at + RUN_PAIRS]
            width = max(len(pairs[i][0]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                tokens, segments = pairs[i]
                ids[r, :len(tokens)] = tokens
                types[r, :len(tokens)] = segments
                mask[r, :len(tokens)] = 1
            out = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            logits[rows] = np.asarray(out, dtype=np.float32).reshape(-1)
        return 1.0 / (1.0 + np.exp(-logits))
