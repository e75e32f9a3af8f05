"""`python -m benchmarks` (`make bench`): cold start, warm latency, ingestion, index build, scale and a peer."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import (
    DEFAULT_QUESTIONS,
    DEFAULT_SIZES,
    FALLBACK_QUESTIONS,
    load_average,
    long_chunks,
    parse_sizes,
    peak_rss_mb,
    read_questions,
    run_json_child,
    say,
    timed,
    token_counter,
)
from benchmarks.latency import BACKEND_NAMES, DEFAULT_QUESTION, backend_figures, cold_start, quality, service_latency
from benchmarks.report import render
from benchmarks.scale import SCALE_QUERIES, index_scale, seed_base_vectors


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
    from bot.answer.service import NewsService
    from bot.settings import Settings
    from embeddings.corpus import read_corpus
    from embeddings.encoders import DEFAULT_BACKEND, make_embedder
    from embeddings.encoders.names import resolve_model_path
    from embeddings.encoders.onnx_export import ensure_onnx
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder, quantize_onnx

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
                    ["-m", "benchmarks.child", "scale", str(size), str(work / "base.npy"), str(work / "queries.npy"),
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
            peer = run_json_child(["-m", "benchmarks.child", "peer", str(model_dir), str(work / "chunks.json"),
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
    bench(prog_name="python -m benchmarks")
