"""Helpers every benchmark shares: timing, summaries, memory readings, child processes and top-k agreement."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import numpy as np

DEFAULT_SIZES = "10000,100000"


DEFAULT_QUESTIONS = Path("../shared/eval/dev_questions.jsonl")


FALLBACK_QUESTIONS = Path("tests/data/questions.jsonl")


TOKENS_PER_CHUNK = 200


def say(message: str) -> None:
    """Report progress on stderr so that stdout stays one table or one JSON object."""
    click.echo(f"bench: {message}", err=True)


def summarize(seconds: Sequence[float]) -> dict[str, float]:
    """Return p50, p95 and mean of durations, in milliseconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    if not len(values):
        return {"n": 0, "p50_ms": float("nan"), "p95_ms": float("nan"), "mean_ms": float("nan")}
    return {"n": len(values), "p50_ms": round(float(np.percentile(values, 50)), 3),
            "p95_ms": round(float(np.percentile(values, 95)), 3), "mean_ms": round(float(values.mean()), 3)}


def parse_sizes(text: str) -> list[int]:
    """Parse '10000,100k,1M' into sizes; empty or 0 means none."""
    sizes = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", part)
        if not match:
            raise click.BadParameter(f"not a size: {part!r} (use e.g. 10000,100k,1M)", param_hint="--sizes")
        value = int(float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)])
        if value > 0:
            sizes.append(value)
    return sizes


def vm_hwm_kb(pid: int | str = "self") -> int:
    """Return a process's peak resident memory in KiB since its exec (VmHWM); getrusage for self without /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) if pid == "self" else 0


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MiB."""
    return round(vm_hwm_kb() / 1024.0, 1)


def load_average() -> float:
    """Return the 1-minute load average: figures taken while other work runs on 2 cores are noisy."""
    return round(os.getloadavg()[0], 2)


def read_questions(path: Path) -> list[str]:
    """Read question texts from JSON Lines (a `question` field) or plain lines, with newsbot's one reader."""
    from bot.answer.inputs import open_question_file, read_question_lines

    with open_question_file(path, sys.stdin) as handle:
        return [line.question for line in read_question_lines(handle, str(path))]


def timed(function: Callable[[], object], rounds: int = 1) -> list[float]:
    """Return the durations of calling a function `rounds` times."""
    durations = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    return durations


def long_chunks(articles: Sequence, target_tokens: int = TOKENS_PER_CHUNK, count_tokens=None) -> list[str]:
    """Return ingestion-sized passages: runs of whole seed sentences of about target_tokens tokens each."""
    from embeddings.ingest.chunking import split_sentences

    count = count_tokens or (lambda text: len(text.split()) * 4 // 3)
    passages = []
    for article in articles:
        sentences = [article.text[a:b] for start, end in article.segments for a, b in
                     split_sentences(article.text, start, end)]
        for first in range(len(sentences)):
            parts, tokens = [], 0
            for sentence in sentences[first:]:
                parts.append(sentence)
                tokens += count(sentence)
                if tokens >= target_tokens:
                    passages.append(" ".join(parts))
                    break
    return passages


def token_counter(model_dir: Path) -> Callable[[str], int]:
    """Return a function counting a text's model tokens (special tokens included, no truncation)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda text: len(tokenizer.encode(text).ids)


def flat_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Return exact inner-product top-k ids from a FAISS IndexFlatIP, one row per query."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def agreement(reference: Sequence[Sequence[object]], other: Sequence[Sequence[object]]) -> dict[str, float]:
    """Return the share of identical ranked lists and the mean overlap of their sets."""
    same = [list(a) == list(b) for a, b in zip(reference, other, strict=True)]
    overlap = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(reference, other, strict=True)]
    return {"identical": round(float(np.mean(same)), 4), "overlap": round(float(np.mean(overlap)), 4)}


class StreamingTopK:
    """Exact top-k of a fixed set of queries over vectors seen batch by batch (no copy of the vectors kept)."""

    def __init__(self, queries: np.ndarray, k: int) -> None:
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.k = k
        self.scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        self.ids = np.full((len(queries), k), -1, dtype=np.int64)

    def update(self, rows: np.ndarray, offset: int) -> None:
        """Merge one batch of vectors whose first row has id `offset`."""
        scores = self.queries @ rows.T
        k = min(self.k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        merged_scores = np.concatenate([self.scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        merged_ids = np.concatenate([self.ids, top + offset], axis=1)
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, : self.k]
        self.scores = np.take_along_axis(merged_scores, order, axis=1)
        self.ids = np.take_along_axis(merged_ids, order, axis=1)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Return mean recall: the share of each true top-k found in the returned top-k."""
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


def run_json_child(args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    """Run a Python child that prints one JSON line; return it with wall time, first-line time and peak RSS."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=errors, env=env,
                                   cwd=cwd, stdin=subprocess.DEVNULL)
        # The child's VmHWM, read while it runs: getrusage's maxrss of a child also counts the pages the
        # parent had at fork time, so every child of a 3 GB bench would look 3 GB.
        peak = [0]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.01):
                peak[0] = max(peak[0], vm_hwm_kb(process.pid))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert process.stdout is not None
        first = process.stdout.readline()
        first_at = time.perf_counter() - start
        rest = process.stdout.read()
        process.wait()
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-5:]
            raise click.ClickException(f"{' '.join(args[:3])} failed ({process.returncode}): {' | '.join(tail)}")
    line = (first or rest).decode().strip().splitlines()[0]
    payload = json.loads(line)
    if not isinstance(payload, dict):
        payload = {"output": payload}
    # A child that measures itself (VmHWM at its end) is exact; the watcher may miss the last few milliseconds.
    payload.setdefault("peak_rss_mb", round(peak[0] / 1024.0, 1))
    return {**payload, "first_output_s": round(first_at, 3), "wall_s": round(wall, 3)}
