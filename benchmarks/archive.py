"""Indexing a newsroom's archive (issue 14): `python -m benchmarks.archive [--sections ...] [--json]`.

On real text only (benchmarks.realtext, benchmarks.realscale), with the load average beside every timing:
- pre: read, clean, split and chunk ~4 MB of real news, and one 2 MB article in three shapes, best of 3;
- encoder: the CPU's float32 GFLOP/s (numpy matmul), the model's FLOPs per token, tokens/s of the ONNX encoder
  on the corpus's real sentences per thread count and token budget, against the ceiling that gives;
- builds: `newsbot index` from scratch on the 4 MB corpus (phases timed), the plain pipeline, LangChain and
  LlamaIndex (benchmarks.peers), each in its own process: build time, query p50, hit@5 on the newsroom questions;
- incremental: 10 articles added to a 10,000-article index through `python -m bot index`;
- scale: 100k and 1M chunks of recombined real text: build, whole hybrid search p50/p95, peak RSS;
- memory: peak RSS of a build of 100k real articles (read, clean, split, plan, write; vectors not computed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import load_average, peak_rss_mb, run_json_child, say, summarize

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".newsbot" / "bench-archive"
CORPUS_4MB = ROOT / ".newsbot" / "corpora" / "real-4mb"
QUESTIONS = [ROOT / "tests/data/newsroom/questions_train.jsonl", ROOT / "tests/data/newsroom/questions_heldout.jsonl"]
SECTIONS = ("pre", "encoder", "builds", "incremental", "scale", "memory")


def _python(args: list[str], env: dict[str, str] | None = None) -> dict:
    return run_json_child(args, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT)


def corpus_4mb() -> dict:
    """Write the ~4 MB real corpus once (the newsroom, the other English pages, recombined pages and Wikipedia)."""
    from benchmarks.realtext import write_corpus

    info = CORPUS_4MB / "corpus.json"
    if not info.is_file():
        CORPUS_4MB.mkdir(parents=True, exist_ok=True)
        info.write_text(json.dumps(write_corpus(CORPUS_4MB, 4_000_000)), encoding="utf-8")
    return json.loads(info.read_text(encoding="utf-8"))


def pre_embedding(rounds: int = 3) -> dict:
    """Seconds to read+clean, split+chunk the 4 MB corpus and a 2 MB article (as lines, one line, a repeated page)."""
    from embeddings.ingest.chunking import chunk_article, chunk_articles
    from embeddings.ingest.corpus import read_corpus
    from embeddings.ingest.plaintext import parse_article
    from embeddings.records import ChunkerConfig

    chunker = ChunkerConfig()
    figures: dict[str, object] = {"load_before": load_average()}
    runs = []
    for _ in range(rounds):
        marks: dict[str, float] = {}

        def mark(phase: str, *_: object, marks: dict[str, float] = marks) -> None:
            marks.setdefault(phase, time.perf_counter())

        start = time.perf_counter()
        load = read_corpus(CORPUS_4MB, progress=mark)
        read_done = time.perf_counter()
        chunks = chunk_articles(load.articles, chunker)
        runs.append({"read_s": marks.get("clean", read_done) - start, "clean_s": read_done - marks.get("clean", start),
                     "split_chunk_s": time.perf_counter() - read_done, "total_s": time.perf_counter() - start})
    best = min(runs, key=lambda r: r["total_s"])
    figures["corpus_4mb"] = {**{k: round(v, 2) for k, v in best.items()}, "articles": len(load.articles),
                             "chunks": len(chunks), "bytes": sum(len(a.text.encode()) for a in load.articles)}
    text = "".join(a.text + "\n" for a in load.articles)[:2_000_000]
    page = (CORPUS_4MB / "traf_reuters_parasite.txt")
    page_text = page.read_text(encoding="utf-8") + "\n" if page.is_file() else text[:8000]
    shapes = {"lines": text, "one line": text.replace("\n", " "),
              "repeated page": (page_text * (2_000_000 // len(page_text) + 1))[:2_000_000]}
    for name, sample in shapes.items():
        best_s = {}
        for _ in range(rounds):
            start = time.perf_counter()
            article = parse_article("big", sample)
            cleaned = time.perf_counter()
            count = len(chunk_article(article, chunker))
            done = time.perf_counter()
            if not best_s or done - start < best_s["total_s"]:
                best_s = {"clean_s": round(cleaned - start, 2), "split_chunk_s": round(done - cleaned, 2),
                          "total_s": round(done - start, 2), "chunks": count}
        figures[f"article_2mb ({name})"] = best_s
    figures["load_after"] = load_average()
    return figures


def cpu_gflops(threads: int, size: int = 2048, rounds: int = 5) -> float:
    """Best float32 matmul rate of numpy's BLAS on `threads` threads, in GFLOP/s."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(rounds):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def model_flops_per_token(model_dir: Path, tokens: float) -> dict:
    """FLOPs per token of a BERT encoder: its matmuls (2 per weight of the layers) plus attention at a length."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    layers, hidden, ffn = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    layer_weights = layers * (4 * hidden * hidden + 2 * hidden * ffn)
    embeddings = (config["vocab_size"] + config["max_position_embeddings"] + config["type_vocab_size"]) * hidden
    attention = layers * 2 * 2 * hidden * tokens  # QK^T and AV, per token, at this sequence length
    return {"layer_weights": layer_weights, "embedding_weights": embeddings,
            "matmul_flops": 2 * layer_weights, "attention_flops": round(attention),
            "flops_per_token": round(2 * layer_weights + attention),
            "brief_estimate_flops": round(2 * (layer_weights + embeddings) + attention)}


def encoder_figures(onnx_dir: Path, model_dir: Path, sample: int = 2000) -> dict:
    """Tokens/s of the ONNX encoder on real sentences per thread count and token budget, against the ceiling."""
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder
    from embeddings.ingest.corpus import read_corpus
    from embeddings.ingest.sentences import split_sentences

    sentences: list[str] = []
    for article in read_corpus(CORPUS_4MB).articles:
        sentences.extend(article.text[a:b] for s, e in article.segments for a, b in split_sentences(article.text, s, e))
    distinct = list(dict.fromkeys(sentences))
    texts = distinct[:: max(1, len(distinct) // sample)][:sample]
    figures: dict[str, object] = {"sentences": len(sentences), "distinct_sentences": len(distinct),
                                  "sample": len(texts), "gflops": {}, "runs": []}
    # The CPU's rate is measured right before each run: other work on the cores changes both alike.
    configs = [(2, 2048, 1), (1, 2048, 2), (1, 2048, 1), (2, 1024, 1), (2, 4096, 1), (1, 1024, 2), (1, 4096, 2),
               (2, 2048, 1), (1, 2048, 2)]
    for threads, budget, workers in configs:
        encoder = OnnxQueryEncoder(onnx_dir, threads=threads, workers=workers)
        encoder.run_tokens = budget
        threads = threads * workers
        encoder.embed(texts[:64])
        gflops = cpu_gflops(threads)
        load = load_average()
        start = time.perf_counter()
        encoder.embed(texts)
        seconds = time.perf_counter() - start
        gflops = max(gflops, cpu_gflops(threads))
        tokens = encoder.tokens_embedded
        flops = model_flops_per_token(model_dir, tokens / len(texts))
        achieved = tokens * flops["flops_per_token"] / seconds / 1e9
        figures["gflops"].setdefault(threads, []).append(round(gflops, 1))
        figures["runs"].append({
            "threads": threads, "workers": workers, "run_tokens": budget, "seconds": round(seconds, 2),
            "tokens": tokens,
            "padded_tokens": encoder.padded_tokens, "tokens_per_s": round(tokens / seconds),
            "cpu_gflops": round(gflops, 1), "ceiling_tokens_per_s": round(gflops * 1e9 / flops["flops_per_token"]),
            "model_gflops": round(achieved, 1), "share_of_ceiling": round(achieved / gflops, 3), "load": load})
    figures["mean_tokens_per_sentence"] = round(figures["runs"][0]["tokens"] / len(texts), 1)
    figures["flops"] = model_flops_per_token(model_dir, figures["mean_tokens_per_sentence"])
    return figures


def build_child(seeds: Path, index_dir: Path, rounds: int) -> dict:
    """`newsbot index` from scratch with the model loaded, phases timed; then search latency and hit@5."""
    from bot.answer.evaluation import first_hit_rank, read_questions
    from bot.answer.service import NewsService
    from bot.settings import Settings

    settings = Settings(seeds_dir=seeds, index_dir=index_dir)
    service = NewsService(settings)
    service.embedder.embed(["warm up"])
    phases: dict[str, list[float]] = {}
    counts: dict[str, tuple[int, str]] = {}

    def progress(phase: str, done: int, total: int, unit: str) -> None:
        now = time.perf_counter()
        phases.setdefault(phase, [now, now])[1] = now
        counts[phase] = (total, unit)

    load_before = load_average()
    start = time.perf_counter()
    report = service.reindex(rebuild=True, progress=progress)
    total = time.perf_counter() - start
    ordered = sorted(phases.items(), key=lambda item: item[1][0])
    spans = {name: round((ordered[i + 1][1][0] if i + 1 < len(ordered) else start + total) - begin, 2)
             for i, (name, (begin, _)) in enumerate(ordered)}
    spans["read"] = round(spans.get("read", 0) + (ordered[0][1][0] - start if ordered else 0), 2)
    embedder = service.embedder
    tokens = (getattr(embedder, "tokens_embedded", None), getattr(embedder, "padded_tokens", None))
    questions = [q for path in QUESTIONS for q in read_questions(path) if q.answerable]
    hits = sum(first_hit_rank(q, service.search(q.question, 5)) is not None for q in questions)
    latencies = []
    for _ in range(rounds):
        for question in questions:
            begin = time.perf_counter()
            service.search(question.question, 5)
            latencies.append(time.perf_counter() - begin)
    return {"build_s": round(total, 2), "phases_s": spans, "non_embedding_s": round(total - spans.get("embed", 0), 2),
            "chunks": report.chunks, "texts_embedded": report.embedded,
            "tokens_embedded": tokens[0], "padded_tokens": tokens[1],
            "counts": {k: v[0] for k, v in counts.items()}, "hit@5": round(hits / len(questions), 4), "hits": hits,
            "questions": len(questions), "query": summarize(latencies), "load_before": load_before,
            "load_after": load_average(), "peak_rss_mb": peak_rss_mb()}


def builds(onnx_ready: Path, model_dir: Path, rounds: int) -> dict:
    """newsbot and its peers from scratch on the 4 MB corpus, each in its own process, and the ratios."""
    index_dir = WORK / "index-4mb"
    figures: dict[str, object] = {}
    say("newsbot index on the 4 MB corpus")
    figures["newsbot"] = _python(["-m", "benchmarks.archive", "--child", "build", str(CORPUS_4MB), str(index_dir),
                                  str(rounds)])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "--index-dir", str(index_dir), "index", "--rebuild", "--quiet",
                    "--seeds", str(CORPUS_4MB)], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                   stdout=subprocess.DEVNULL)
    figures["newsbot_cli_s"] = {"seconds": round(time.perf_counter() - start, 1), "load": load_average()}
    questions = ",".join(str(q) for q in QUESTIONS)
    for peer in ("plain", "langchain", "llamaindex"):
        say(f"peer: {peer}")
        figures[peer] = _python(["-m", "benchmarks.peers", peer, str(CORPUS_4MB), str(model_dir), questions,
                                 str(rounds)])
    ours = figures["newsbot"]
    figures["ratios"] = {
        f"build / {peer}": round(ours["build_s"] / figures[peer]["build_s"], 3) for peer in ("plain", "langchain",
                                                                                              "llamaindex")}
    figures["ratios"].update({f"query p50 / {peer}": round(ours["query"]["p50_ms"] / figures[peer]["query"]["p50_ms"],
                                                            3) for peer in ("plain", "langchain", "llamaindex")})
    figures["ratios"]["non-embedding share"] = round(ours["non_embedding_s"] / ours["build_s"], 3)
    return figures


def _child(args: list[str]) -> None:
    kind, *rest = args
    if kind == "build":
        seeds, index_dir, rounds = rest
        print(json.dumps(build_child(Path(seeds), Path(index_dir), int(rounds))), flush=True)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--sections", default=",".join(SECTIONS), show_default=True)
@click.option("--rounds", default=3, show_default=True, help="Passes over the questions for query latency.")
@click.option("--sizes", default="100000,1000000", show_default=True, help="Chunks of the scale runs.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--child", is_flag=True, hidden=True)
@click.argument("child_args", nargs=-1)
def main(sections: str, rounds: int, sizes: str, as_json: bool, child: bool, child_args: tuple[str, ...]) -> None:
    """Measure indexing on real text against the issue's targets."""
    if child:
        _child(list(child_args))
        return
    from benchmarks.archive_more import incremental, memory_100k, print_targets, scale
    from embeddings.encoders.names import resolve_model_path
    from embeddings.encoders.onnx_export import ensure_onnx

    WORK.mkdir(parents=True, exist_ok=True)
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    report: dict[str, object] = {"cpus": os.cpu_count(), "load_before": load_average(), "corpus": corpus_4mb()}
    model_dir = Path(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"))
    onnx_dir = WORK / "onnx"
    ensure_onnx("sentence-transformers/all-MiniLM-L6-v2", onnx_dir)
    # Builds below reuse this export, as every build after a machine's first does (the export is one-off).
    shutil.copytree(onnx_dir, WORK / ".index-4mb.encoder", dirs_exist_ok=True)
    sizes_list = [int(s) for s in sizes.split(",") if s.strip()]
    for section in chosen:
        say(f"section {section}")
        started = time.perf_counter()
        if section == "pre":
            report["pre"] = pre_embedding()
        elif section == "encoder":
            report["encoder"] = encoder_figures(onnx_dir, model_dir)
        elif section == "builds":
            report["builds"] = builds(onnx_dir, model_dir, rounds)
        elif section == "incremental":
            report["incremental"] = incremental(WORK, onnx_dir)
        elif section == "scale":
            report["scale"] = scale(WORK, onnx_dir, sizes_list, rounds)
        elif section == "memory":
            report["memory"] = memory_100k(WORK, onnx_dir)
        report.setdefault("section_s", {})[section] = round(time.perf_counter() - started, 1)
        (WORK / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    report["bench_peak_rss_mb"] = peak_rss_mb()
    click.echo(json.dumps(report) if as_json else print_targets(report))


if __name__ == "__main__":
    main()
