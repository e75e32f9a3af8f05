"""`newsbot bench`: cold start, warm latency, ingestion backends, index build, ANN at scale and a peer baseline.

Everything runs on real code over the seeds in a temporary directory. Runs that must not share memory or imports
with this process (cold starts, each scale size, the peer) run in fresh subprocesses, so their peak RSS is their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

DEFAULT_QUESTION = "What did Crosetto say about troops?"
DEFAULT_SIZES = "10000,100000"
DEFAULT_QUESTIONS = Path("../shared/eval/dev_questions.jsonl")
FALLBACK_QUESTIONS = Path("tests/data/questions.jsonl")
BACKEND_NAMES = ("torch", "torch-bf16", "onnx", "onnx-int8")
TOKENS_PER_CHUNK = 200
# bf16 runs emulated on CPUs without AVX512-BF16/AMX (this project's machines): a few texts give its rate.
SLOW_BACKEND_TEXTS = 16
SCALE_BATCH = 50_000
SCALE_QUERIES = 200
COLD_RUNS = 3
INDEX_SCALE_ROUNDS = 3

_CHILD_ONNX_ASK = """
import json, sys
from bot.service import NewsService
from bot.settings import Settings
from embeddings.onnx_encoder import OnnxQueryEncoder
service = NewsService(Settings.from_env(env_file=None), OnnxQueryEncoder(sys.argv[1]))
answer = service.ask(sys.argv[2])
heavy = [name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules]
print(json.dumps({"answered": answer.answered, "heavy_imports": heavy}), flush=True)
"""


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
    """Read question texts from JSON Lines (a `question` field) or plain lines."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            questions.append(str(json.loads(line)["question"]) if line.startswith("{") else line)
    return questions


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
    from embeddings.chunking import split_sentences

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


# ---------------------------------------------------------------- subprocess runs


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


def cold_start(index_dir: Path, seeds_dir: Path, onnx_dir: Path, question: str, work: Path) -> dict[str, dict]:
    """Time fresh processes from spawn to their first answer: the CLI as wired, and the service on ONNX."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(index_dir), "NEWSBOT_SEEDS_DIR": str(seeds_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    variants = {
        "cli": ["-m", "bot", "ask", question, "--json"],
        "service_onnx": ["-c", _CHILD_ONNX_ASK, str(onnx_dir), question],
    }
    results = {}
    for name, args in variants.items():
        runs = [run_json_child(args, env=env, cwd=work) for _ in range(COLD_RUNS)]
        results[name] = {
            "first_answer_s": round(float(np.median([r["first_output_s"] for r in runs])), 3),
            "runs_s": [r["first_output_s"] for r in runs],
            "peak_rss_mb": round(float(np.median([r["peak_rss_mb"] for r in runs])), 1),
            "heavy_imports": runs[0].get("heavy_imports"),
        }
    return results


def scale_run(size: int, base_path: Path, queries_path: Path, real_queries: int, kind: str = "auto") -> dict:
    """Build the chosen ANN index over `size` seed-derived vectors and measure recall@10, latency and memory."""
    import faiss

    from embeddings.ann import build_faiss, choose_index, estimated_bytes, mixture_vectors, spec_for

    base = np.load(base_path)
    queries = np.load(queries_path)
    spec = choose_index(size, base.shape[1]) if kind == "auto" else spec_for(kind, size, base.shape[1])
    truth = StreamingTopK(queries, 10)

    def batches():
        for offset in range(0, size, SCALE_BATCH):
            rows = mixture_vectors(base, min(SCALE_BATCH, size - offset), seed=offset + 1)
            truth.update(rows, offset)
            yield rows

    # Trained on a separate sample drawn like the corpus, as a real build trains on part of its vectors.
    training = mixture_vectors(base, min(size, spec.training_size), seed=2**32 - 1) if spec.training_size else None
    start = time.perf_counter()
    index = build_faiss(batches(), spec, training=training, n_vectors=size)
    build_s = time.perf_counter() - start
    del training
    # One query at a time is the serving case; OpenMP's wake-ups cost more than they save for it.
    faiss.omp_set_num_threads(1)
    found = index.search(queries, 10)[1]
    latencies = []
    for _ in range(3):
        for row in queries:
            latencies.extend(timed(lambda r=row: index.search(r.reshape(1, -1), 10)))
    return {
        "size": size, "spec": spec.as_dict(), "build_s": round(build_s, 2),
        "recall@10": round(recall_at(found, truth.ids), 4),
        "recall@10_real_questions": round(recall_at(found[:real_queries], truth.ids[:real_queries]), 4),
        "search": summarize(latencies), "estimated_index_mb": round(estimated_bytes(spec, size) / 2**20, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def peer_run(model_path: str, chunks_path: Path, questions_path: Path, rounds: int) -> dict:
    """LangChain's FAISS store over the same chunks and model: build and similarity_search timings."""
    start = time.perf_counter()
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    import_s = time.perf_counter() - start
    texts = json.loads(chunks_path.read_text(encoding="utf-8"))
    questions = json.loads(questions_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model_path, encode_kwargs={"normalize_embeddings": True})
    embeddings.embed_query("warm up")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    store = FAISS.from_texts(texts, embeddings)
    build_s = time.perf_counter() - start
    latencies = []
    for _ in range(rounds):
        for question in questions:
            latencies.extend(timed(lambda q=question: store.similarity_search(q, k=5)))
    return {"import_s": round(import_s, 3), "model_load_s": round(load_s, 3), "build_s": round(build_s, 3),
            "texts_embedded": len(texts), "search": summarize(latencies), "peak_rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- a whole index at scale


@dataclass(frozen=True)
class SyntheticCorpus:
    """Seed articles repeated under new ids up to a number of chunks; texts are the seeds' own, nothing embedded.

    Each copy gets its own content hash, so its sentences get their own vector rows as distinct articles would.
    `chunks()` and `sentence_rows()` are generators over the shared seed texts: a million chunks are never held.
    """

    articles: tuple
    plan: tuple[tuple[object, tuple], ...]
    sentences: int

    @classmethod
    def repeat(cls, seed_articles: Sequence, chunker, size: int) -> SyntheticCorpus:
        """Repeat the seeds (whole articles, the last one cut) until there are `size` chunks."""
        from dataclasses import replace

        from embeddings.chunking import chunk_article

        seeds = [(a, chunk_article(a, chunker)) for a in sorted(seed_articles, key=lambda a: a.source_id)]
        seeds = [(article, chunks) for article, chunks in seeds if chunks]
        if size and not seeds:
            raise click.ClickException("the seeds have no passages to repeat")
        plan, total, sentences, copy = [], 0, 0, 0
        while total < size:
            for article, chunks in seeds[:]:
                if total >= size:
                    break
                taken = chunks[: size - total]
                copied = replace(article, source_id=f"{article.source_id}-{copy:07d}",
                                 content_hash=f"{article.content_hash[:48]}{copy:016x}")
                plan.append((copied, taken))
                total += len(taken)
                sentences += len({span for chunk in taken for span in chunk.sentences})
            copy += 1
        return cls(tuple(article for article, _ in plan), tuple(plan), sentences)

    def chunks(self) -> Iterator:
        """Yield the chunks in index row order."""
        from embeddings.models import Chunk

        for article, chunks in self.plan:
            for n, chunk in enumerate(chunks):
                yield Chunk(f"{article.source_id}#{n}", article.source_id, chunk.start, chunk.end, chunk.text,
                            chunk.sentences)

    def sentence_rows(self) -> Iterator[tuple[int, ...]]:
        """Yield each chunk's sentence vector rows, numbered as the index build numbers them."""
        row = 0
        for _, chunks in self.plan:
            seen: dict[tuple[int, int], int] = {}
            for chunk in chunks:
                for span in chunk.sentences:
                    if span not in seen:
                        seen[span] = row
                        row += 1
                yield tuple(seen[span] for span in chunk.sentences)


def _mixture_file(path: Path, base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Write n seed-derived vectors to an .npy file batch by batch; return it memory-mapped."""
    from embeddings.ann import mixture_vectors

    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for offset in range(0, n, SCALE_BATCH):
        out[offset : offset + SCALE_BATCH] = mixture_vectors(base, min(SCALE_BATCH, n - offset), seed=seed + offset)
    out.flush()
    return np.load(path, mmap_mode="r")


def index_scale_write(size: int, base_path: Path, seeds_dir: Path, index_dir: Path, model: str) -> dict:
    """Write a real newsbot index of `size` chunks from the seeds, with mixture vectors instead of embeddings."""
    from embeddings.corpus import read_corpus
    from embeddings.index import write_index
    from embeddings.models import ChunkerConfig

    chunker = ChunkerConfig()
    base = np.load(base_path)
    corpus = SyntheticCorpus.repeat(read_corpus(seeds_dir).articles, chunker, size)
    scratch = index_dir.parent / f".{index_dir.name}-vectors"
    scratch.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chunk_vectors = _mixture_file(scratch / "chunks.npy", base, size, seed=1)
    sentence_vectors = _mixture_file(scratch / "sentences.npy", base, corpus.sentences, seed=size + 1)
    vectors_s = time.perf_counter() - start
    start = time.perf_counter()
    generation = write_index(index_dir, corpus.articles, corpus.chunks(), corpus.sentence_rows(), chunk_vectors,
                             sentence_vectors, model=model, chunker=chunker)
    write_s = time.perf_counter() - start
    del chunk_vectors, sentence_vectors
    for path in scratch.iterdir():
        path.unlink()
    scratch.rmdir()
    files = {path.name: path.stat().st_size for path in generation.iterdir() if path.is_file()}
    return {"size": size, "articles": len(corpus.articles), "sentences": corpus.sentences,
            "vectors_s": round(vectors_s, 2), "write_s": round(write_s, 2),
            "disk_mb": round(sum(files.values()) / 2**20, 1),
            "files_mb": {name: round(n / 2**20, 1) for name, n in sorted(files.items())},
            "peak_rss_mb": peak_rss_mb()}


def index_scale_load(index_dir: Path, questions_file: Path, onnx_dir: Path, rounds: int) -> dict:
    """Load an index as the service does, then time search and ask over the questions, one at a time."""
    from dataclasses import replace

    import faiss

    from bot.service import NewsService
    from bot.settings import Settings
    from embeddings.index import load_index
    from embeddings.onnx_encoder import OnnxQueryEncoder
    from embeddings.retrieval import Retriever

    questions = read_questions(questions_file)
    embedder = OnnxQueryEncoder(onnx_dir)
    embedder.embed(["warm up"])
    # One query at a time is the serving case; OpenMP's wake-ups cost more than they save for it.
    faiss.omp_set_num_threads(1)
    before_mb = peak_rss_mb()
    # No seeds beside it: the synthetic index is not checked against the real seeds.
    settings = Settings(seeds_dir=index_dir.parent / ".no-seeds", index_dir=index_dir, model=embedder.model_name)
    service = NewsService(settings, embedder)
    start = time.perf_counter()
    service.load(check_corpus=False)
    load_s = time.perf_counter() - start
    loaded_mb = peak_rss_mb()
    index, retriever = service.index, service.retriever
    vectors = [retriever.embed_query(q) for q in questions]
    search, search_embed, ask = [], [], []
    for _ in range(rounds):
        for question, vector in zip(questions, vectors, strict=True):
            search.extend(timed(lambda q=question, v=vector: retriever.search(q, 5, query_vector=v)))
            search_embed.extend(timed(lambda q=question: service.search(q)))
            ask.extend(timed(lambda q=question: service.ask(q)))
    peak_mb = peak_rss_mb()
    # Up to RetrievalConfig.max_sentence_scan sentences every query scores every sentence; the same search with the
    # sentences re-ranking the dense and BM25 candidates only shows what that scan costs.
    unscanned = Retriever(index, embedder, replace(settings.retrieval_config, max_sentence_scan=0))
    without_scan = [seconds for _ in range(rounds) for question, vector in zip(questions, vectors, strict=True)
                    for seconds in timed(lambda q=question, v=vector: unscanned.search(q, 5, query_vector=v))]
    figures = {"chunks": len(index.chunks), "articles": len(index.articles),
               "sentences": len(index.sentence_vectors), "faiss": index.manifest.get("faiss", {}).get("factory"),
               "load_s": round(load_s, 3), "rss_before_load_mb": before_mb, "peak_rss_after_load_mb": loaded_mb,
               "sentence_scan": retriever._sentence_ranking, "search": summarize(search),
               "search_without_sentence_scan": summarize(without_scan),
               "search_with_embedding": summarize(search_embed), "ask": summarize(ask), "peak_rss_mb": peak_mb}
    # What the load spends on checksums: the same load without them (after the peak above is taken, as this
    # holds a second copy of the FAISS index).
    figures["load_unverified_s"] = round(sum(timed(
        lambda: load_index(index_dir, embedder.model_name, settings.chunker, verify=False))), 3)
    return figures


def index_scale(size: int, base_path: Path, seeds_dir: Path, questions_file: Path, onnx_dir: Path, work: Path,
                rounds: int = INDEX_SCALE_ROUNDS) -> dict:
    """Write an index of `size` chunks in one subprocess, then load and query it in a fresh one."""
    from embeddings.onnx_encoder import read_export_info

    model = str(read_export_info(onnx_dir)["model"])
    index_dir = work / f"index-{size}"
    try:
        written = run_json_child(["-m", "bot.bench", "index-write", str(size), str(base_path), str(seeds_dir),
                                  str(index_dir), model])
        loaded = run_json_child(["-m", "bot.bench", "index-load", str(index_dir), str(questions_file),
                                 str(onnx_dir), str(rounds)])
    finally:
        for path in work.glob(f".index-{size}-*"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (index_dir, work / f".index-{size}.lock"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return {"size": size, "write": written, "load": loaded}


def _child_main(argv: Sequence[str]) -> None:
    """Entry point of the subprocess runs: `python -m bot.bench scale|peer ...` prints one JSON line."""
    mode, *rest = argv
    if mode == "scale":
        size, base, queries, real, kind = rest
        result = scale_run(int(size), Path(base), Path(queries), int(real), kind)
    elif mode == "peer":
        model, chunks, questions, rounds = rest
        result = peer_run(model, Path(chunks), Path(questions), int(rounds))
    elif mode == "index-write":
        size, base, seeds, index_dir, model = rest
        result = index_scale_write(int(size), Path(base), Path(seeds), Path(index_dir), model)
    elif mode == "index-load":
        index_dir, questions, onnx_dir, rounds = rest
        result = index_scale_load(Path(index_dir), Path(questions), Path(onnx_dir), int(rounds))
    else:
        raise SystemExit(f"unknown bench child mode {mode!r}")
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- in-process measurements


def backend_figures(backends: dict[str, object], reference: str, index, dev_questions: Sequence[str],
                    passages: Sequence[str], retrieval_config) -> dict[str, dict]:
    """Per backend: passages/s on ingestion-sized texts, cosine to the reference and top-5 agreement."""
    from dataclasses import replace

    import faiss

    from embeddings.index import passage_vectors
    from embeddings.retrieval import Retriever

    chunk_texts = [c.text for c in index.chunks]
    sentence_texts = index.sentence_texts()
    sentence_rows = list(index.sentence_rows)
    vectors: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    figures: dict[str, dict] = {}
    for name, embedder in backends.items():
        say(f"ingestion: {name}")
        load_s = sum(timed(lambda e=embedder: e.embed(["warm up", "a second text"])))
        slow = name == "torch-bf16"
        texts = list(passages[:SLOW_BACKEND_TEXTS] if slow else passages)
        seconds = timed(lambda e=embedder, t=texts: e.embed(t), rounds=1 if slow else 3)
        vectors[name] = (embedder.embed(chunk_texts), embedder.embed(sentence_texts), embedder.embed(dev_questions))
        # Median and best of 3: other work on 2 cores slows some runs, and torch's threads suffer most from it.
        model_file = getattr(embedder, "model_file", None)  # which ONNX file an ONNX backend runs
        figures[name] = {"load_s": round(load_s, 3), "passages": len(texts),
                         **({"model_file": model_file.name} if model_file is not None else {}),
                         "passages_per_s": round(len(texts) / float(np.median(seconds)), 2),
                         "passages_per_s_best": round(len(texts) / min(seconds), 2)}
    def rankings(name: str) -> tuple[np.ndarray, list[list[str]]]:
        """A backend's dense and hybrid top-5 over passage vectors made as an index build makes them."""
        _, sentences, questions = vectors[name]
        passages = passage_vectors(sentences, sentence_rows)
        flat = faiss.IndexFlatIP(passages.shape[1])
        flat.add(passages)
        retriever = Retriever(replace(index, chunk_vectors=passages, sentence_vectors=sentences, faiss_index=flat),
                              backends[name], retrieval_config)
        hybrid = [[h.chunk.chunk_id for h in retriever.search(q, 5, query_vector=v)]
                  for q, v in zip(dev_questions, questions, strict=True)]
        return flat_top(passages, questions, 5), hybrid

    ref_chunks, ref_sentences, ref_questions = vectors[reference]
    ref_dense, ref_hybrid = rankings(reference)
    for name, (chunks, sentences, questions) in vectors.items():
        # The passages' own texts are embedded too: the encoder's fidelity on longer texts, not used for ranking.
        cosines = np.concatenate([(chunks * ref_chunks).sum(1), (sentences * ref_sentences).sum(1),
                                  (questions * ref_questions).sum(1)])
        dense, hybrid = rankings(name)
        figures[name].update({
            "cosine_min": round(float(cosines.min()), 6), "cosine_mean": round(float(cosines.mean()), 6),
            "dense_top5": agreement(ref_dense.tolist(), dense.tolist()),
            "hybrid_top5": agreement(ref_hybrid, hybrid),
        })
    return figures


def service_latency(service, questions: Sequence[str], rounds: int) -> dict[str, dict]:
    """Warm, in-process latency of query embedding, search and ask over the questions."""
    service.warm_up()
    embed, search, ask = [], [], []
    for _ in range(rounds):
        for question in questions:
            embed.extend(timed(lambda q=question: service.retriever.embed_query(q)))
            search.extend(timed(lambda q=question: service.search(q)))
            ask.extend(timed(lambda q=question: service.ask(q)))
    return {"embed_query": summarize(embed), "search": summarize(search), "ask": summarize(ask)}


def quality(service, questions_file: Path) -> dict[str, object]:
    """Return the evaluation headline figures (hit@5, MRR@10, answer accuracy) for a service."""
    from bot.evaluation import evaluate
    from bot.evaluation import read_questions as read_eval

    texts = {source_id: article.text for source_id, article in service.index.articles.items()}
    result = evaluate(read_eval(questions_file), service.search, service.ask, texts)
    return {key: result[key] for key in ("questions", "hit@5", "mrr@10", "answer_accuracy")}


def seed_base_vectors(embedder, index) -> tuple[np.ndarray, int]:
    """Real seed embeddings for synthetic scale: the index's chunks and sentences plus the sentences' clauses."""
    sentences = sorted({text for chunk in index.chunks for text in chunk.sentence_texts()})
    clauses = sorted({part.strip() for s in sentences for part in re.split(r"[,;:]", s)
                      if len(part.split()) >= 4} - set(sentences))
    extra = embedder.embed(clauses) if clauses else np.zeros((0, index.chunk_vectors.shape[1]), np.float32)
    base = np.vstack([index.chunk_vectors, index.sentence_vectors, extra]).astype(np.float32)
    return base, len(base)


# ---------------------------------------------------------------- report


def render(report: dict) -> str:
    """Render the figures as a plain-text table."""
    lines = [f"newsbot bench  ({report['machine']['cpus']} cpus, load {report['machine']['load_before']}, "
             f"{report['chunks']} passages, {report['questions']} questions)", ""]

    def row(label: str, *cells: object) -> None:
        lines.append(f"  {label:<44}" + "".join(f"{c!s:>20}" for c in cells))

    lines.append("cold start (spawn -> first answer, median of 3)        seconds         peak MB")
    for name, figures in report["cold_start"].items():
        row(name + (f" (imports {', '.join(figures['heavy_imports'])})" if figures.get("heavy_imports") else ""),
            figures["first_answer_s"], figures["peak_rss_mb"])
    lines.append("")
    lines.append("warm latency (ms)                                  embed p50       search p50/p95     ask p50/p95")
    for name, figures in report["warm"].items():
        row(name, figures["embed_query"]["p50_ms"],
            f"{figures['search']['p50_ms']}/{figures['search']['p95_ms']}",
            f"{figures['ask']['p50_ms']}/{figures['ask']['p95_ms']}")
    lines.append("")
    lines.append(f"ingestion (~{TOKENS_PER_CHUNK}-token passages)   passages/s median/best      cosine min  "
                 "dense top5 same  hybrid top5 same")
    for name, figures in report["backends"].items():
        row(name, f"{figures['passages_per_s']}/{figures.get('passages_per_s_best', '-')}", figures["cosine_min"],
            figures["dense_top5"]["identical"], figures["hybrid_top5"]["identical"])
    lines.append(f"  default backend: {report['default_backend']}")
    lines.append("")
    lines.append("index build (seeds, model loaded)                     seconds")
    for name, seconds in report["index_build"].items():
        if isinstance(seconds, dict):
            for label, rate in seconds.items():
                row(f"{name}: {label}", rate)
        else:
            row(name, seconds)
    if report.get("quality"):
        lines.append("")
        lines.append("quality on the questions                              hit@5          mrr@10   answer acc")
        for name, figures in report["quality"].items():
            row(name, figures["hit@5"], figures["mrr@10"], figures["answer_accuracy"])
    if report.get("scale"):
        lines.append("")
        lines.append("ANN at scale (seed-derived vectors)      index           build s      recall@10  "
                     "search p50 ms     peak MB")
        for figures in report["scale"]:
            spec = figures["spec"]
            name = spec["factory"] + (f" ef{spec['ef_search']}" if spec.get("ef_search") else "") + (
                f" nprobe{spec['nprobe']}" if spec.get("nprobe") else "")
            lines.append(f"  {figures['size']:>10,} {name:>30}{figures['build_s']:>14}{figures['recall@10']:>15}"
                         f"{figures['search']['p50_ms']:>16}"
                         f"{figures['peak_rss_mb']:>12}")
    if report.get("index_scale"):
        lines.append("")
        lines.append("whole index at scale (synthetic)   write s   disk MB   load s   peak MB   search p50/p95 ms"
                     "   ask p50 ms")
        for figures in report["index_scale"]:
            write, load = figures["write"], figures["load"]
            lines.append(f"  {figures['size']:>10,}{write['write_s']:>18}{write['disk_mb']:>10}"
                         f"{load['load_s']:>9}{load['peak_rss_mb']:>10}"
                         f"{load['search']['p50_ms']:>11}/{load['search']['p95_ms']:<8}{load['ask']['p50_ms']:>11}")
    if report.get("peer"):
        peer = report["peer"]
        lines.append("")
        lines.append("peer: LangChain FAISS.from_texts + HuggingFaceEmbeddings, same model and chunks")
        row("peer build s / search p50 ms", peer["build_s"], peer["search"]["p50_ms"])
        for key, value in report.get("ratios", {}).items():
            row(f"newsbot/peer {key}", value)
    lines.append("")
    lines.append(f"bench process peak RSS: {report['bench_peak_rss_mb']} MB; total {report['total_s']} s")
    return "\n".join(lines)


# ---------------------------------------------------------------- command


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--sizes", default=DEFAULT_SIZES, show_default=True,
              help="ANN scale sizes, comma-separated (10000,100k,1M); empty or 0 skips the scale runs.")
@click.option("--skip-peer", is_flag=True, help="Skip the LangChain baseline (needs the `bench` extra).")
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), default=None,
              help=f"Dev questions (JSON Lines) [{DEFAULT_QUESTIONS}, else {FALLBACK_QUESTIONS}].")
@click.option("--rounds", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Passes over the questions for warm latency.")
@click.option("--index-sizes", default=DEFAULT_SIZES, show_default=True,
              help="Whole-index scale sizes (synthetic chunks, no embedding): write, load, search, ask; "
                   "empty or 0 skips them.")
@click.option("--ann-kind", type=click.Choice(["auto", "flat", "ivf", "ivf-sq8", "hnsw", "hnsw-sq8"]), default="auto",
              show_default=True, help="Force one ANN structure for the scale runs.")
def bench(as_json: bool, sizes: str, skip_peer: bool, questions_file: Path | None, rounds: int,
          ann_kind: str, index_sizes: str) -> None:
    """Measure newsbot: cold start, warm latency, ingestion backends, index build, ANN scale, peer baseline."""
    from bot.service import NewsService
    from bot.settings import Settings
    from embeddings.corpus import read_corpus
    from embeddings.onnx_encoder import OnnxQueryEncoder, ensure_onnx, quantize_onnx
    from embeddings.vectors import DEFAULT_BACKEND, make_embedder, resolve_model_path

    started = time.perf_counter()
    scale_sizes = parse_sizes(sizes)
    index_scale_sizes = parse_sizes(index_sizes)
    questions_file = questions_file or (DEFAULT_QUESTIONS if DEFAULT_QUESTIONS.is_file() else FALLBACK_QUESTIONS)
    questions = read_questions(questions_file)
    if not questions:
        raise click.ClickException(f"no questions in {questions_file}")
    base_settings = Settings.from_env()
    seeds_dir = base_settings.seeds_dir.resolve()
    model = base_settings.model
    model_dir = Path(resolve_model_path(model))
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_before": round(os.getloadavg()[0], 2)},
        "model": model, "questions_file": str(questions_file), "questions": len(questions),
    }
    loads: dict[str, float] = {}
    report["load_average"] = loads
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        work = Path(scratch)
        settings = Settings(seeds_dir=seeds_dir, index_dir=work / "index", feedback_db=work / "feedback.sqlite3",
                            model=model, batch_size=base_settings.batch_size)
        onnx_dir = work / "onnx"
        say("exporting the model to ONNX")
        loads["export"] = load_average()
        # Through ensure_onnx, as an index build does: later builds in this process link this export, so the
        # build figures below are the builds' own work, not a second export.
        export_s = sum(timed(lambda: ensure_onnx(model, onnx_dir)))
        quantize_s = sum(timed(lambda: quantize_onnx(onnx_dir)))
        backends = {name: make_embedder(model, name, settings.batch_size, onnx_dir=onnx_dir)
                    for name in BACKEND_NAMES}
        for embedder in backends.values():
            embedder.embed(["warm up"])

        say("building the index")
        loads["build"] = load_average()
        builds = {"onnx_export_s": round(export_s, 2), "onnx_int8_quantize_s": round(quantize_s, 2)}
        for name in ("torch", "onnx"):
            target = settings if name == "torch" else settings.with_overrides(index_dir=work / f"index-{name}")
            start = time.perf_counter()
            built = NewsService(target, backends[name]).reindex(rebuild=True)
            builds[f"{name}_s"] = round(time.perf_counter() - start, 3)
            builds["texts_embedded"] = built.embedded
        torch_service = NewsService(settings, backends["torch"])
        torch_service.load()
        index = torch_service.index
        report["chunks"] = len(index.chunks)
        # Ingestion end to end: passages indexed per second by the build, against embedding every passage with
        # torch fp32 (what an index of passage embeddings, such as the peer's, costs on the same passages).
        chunk_texts = [chunk.text for chunk in index.chunks]
        torch_passages_s = float(np.median(timed(lambda: backends["torch"].embed(chunk_texts), rounds=3)))
        builds["torch_passage_embeddings_s"] = round(torch_passages_s, 3)
        builds["passages_per_s"] = {name: round(len(chunk_texts) / builds[f"{name}_s"], 1)
                                    for name in ("torch", "onnx")}
        builds["passages_per_s"]["torch, every passage embedded"] = round(len(chunk_texts) / torch_passages_s, 1)
        builds["pipeline_ratio"] = round(torch_passages_s / builds[f"{DEFAULT_BACKEND}_s"], 2)
        report["index_build"] = builds

        loads["ingestion"] = load_average()
        passages = long_chunks(read_corpus(seeds_dir).articles, count_tokens=token_counter(model_dir))
        report["backends"] = backend_figures(backends, "torch", index, questions, passages,
                                             settings.retrieval_config)
        counter = token_counter(model_dir)
        report["ingestion_passage_tokens_mean"] = round(float(np.mean([counter(p) for p in passages])), 1)
        report["default_backend"] = DEFAULT_BACKEND

        say("warm latency")
        loads["warm"] = load_average()
        services = {"torch": torch_service, "onnx": NewsService(settings, OnnxQueryEncoder(onnx_dir)),
                    "onnx-int8": NewsService(settings, OnnxQueryEncoder(onnx_dir, quantized=True))}
        report["warm"] = {name: service_latency(s, questions, rounds) for name, s in services.items()}
        report["quality"] = {name: quality(s, questions_file) for name, s in services.items()}

        say("cold start")
        loads["cold"] = load_average()
        report["cold_start"] = cold_start(settings.index_dir, seeds_dir, onnx_dir, DEFAULT_QUESTION, work)

        if scale_sizes:
            base, _ = seed_base_vectors(backends["torch"], index)
            real = backends["torch"].embed(questions)
            from embeddings.ann import mixture_vectors

            synthetic = mixture_vectors(base, max(SCALE_QUERIES - len(real), 0), seed=2**31 - 1)
            np.save(work / "base.npy", base)
            np.save(work / "queries.npy", np.vstack([real, synthetic]).astype(np.float32))
            report["scale_base_vectors"] = len(base)
            report["scale"] = []
            for size in scale_sizes:
                say(f"scale: {size:,} vectors")
                loads[f"scale_{size}"] = load_average()
                report["scale"].append(run_json_child(
                    ["-m", "bot.bench", "scale", str(size), str(work / "base.npy"), str(work / "queries.npy"),
                     str(len(real)), ann_kind]))

        if index_scale_sizes:
            if not (work / "base.npy").is_file():
                np.save(work / "base.npy", seed_base_vectors(backends["torch"], index)[0])
            report["index_scale"] = []
            for size in index_scale_sizes:
                say(f"whole index at scale: {size:,} chunks")
                loads[f"index_scale_{size}"] = load_average()
                report["index_scale"].append(index_scale(size, work / "base.npy", seeds_dir, questions_file,
                                                         onnx_dir, work))

        if not skip_peer:
            say("peer baseline")
            loads["peer"] = load_average()
            (work / "chunks.json").write_text(json.dumps([c.text for c in index.chunks]), encoding="utf-8")
            (work / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
            peer = run_json_child(["-m", "bot.bench", "peer", str(model_dir), str(work / "chunks.json"),
                                   str(work / "questions.json"), str(rounds)])
            report["peer"] = peer
            ours = report["warm"][DEFAULT_BACKEND if DEFAULT_BACKEND in report["warm"] else "torch"]
            report["ratios"] = {
                "build (default backend)": round(builds.get(f"{DEFAULT_BACKEND}_s", builds["torch_s"])
                                                 / peer["build_s"], 3),
                "build (torch)": round(builds["torch_s"] / peer["build_s"], 3),
                # newsbot also embeds every sentence (for sentence-level scores): per text is the like-for-like rate.
                "build per text embedded": round((builds.get(f"{DEFAULT_BACKEND}_s", builds["torch_s"])
                                                  / builds["texts_embedded"])
                                                 / (peer["build_s"] / peer["texts_embedded"]), 3),
                "search p50": round(ours["search"]["p50_ms"] / peer["search"]["p50_ms"], 3),
                "search p95": round(ours["search"]["p95_ms"] / peer["search"]["p95_ms"], 3),
            }
    report["bench_peak_rss_mb"] = peak_rss_mb()
    report["total_s"] = round(time.perf_counter() - started, 1)
    click.echo(json.dumps(report) if as_json else render(report))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
