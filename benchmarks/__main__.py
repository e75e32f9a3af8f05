"""`python -m benchmarks` (`make bench`): cold start, warm latency, ingestion, index build, scale and a peer."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
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
from benchmarks.latency import BACKEND_NAMES, backend_figures, cold_start, quality, service_latency
from benchmarks.scale import SCALE_QUERIES, index_scale, seed_base_vectors
from benchmarks.tables import render


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
    from bot.settings import Settings
    from embeddings.encoders.names import resolve_model_path

    started = time.perf_counter()
    questions_file = questions_file or (DEFAULT_QUESTIONS if DEFAULT_QUESTIONS.is_file() else FALLBACK_QUESTIONS)
    questions = read_questions(questions_file)
    if not questions:
        raise click.ClickException(f"no questions in {questions_file}")
    base_settings = Settings.from_env()
    model = base_settings.model
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_before": round(os.getloadavg()[0], 2)},
        "model": model, "questions_file": str(questions_file), "questions": len(questions),
        "load_average": {},
    }
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        work = Path(scratch)
        run = Run(report, work, base_settings.seeds_dir.resolve(), Path(resolve_model_path(model)), questions,
                  questions_file, rounds,
                  Settings(seeds_dir=base_settings.seeds_dir.resolve(), index_dir=work / "index",
                           feedback_db=work / "feedback.sqlite3", model=model, batch_size=base_settings.batch_size))
        backends = _export_and_load_backends(run)
        torch_service = _index_builds(run, backends)
        _ingestion_and_latency(run, backends, torch_service)
        _scale_runs(run, backends, torch_service.index, parse_sizes(sizes), parse_sizes(index_sizes), ann_kind)
        if not skip_peer:
            _peer(run, torch_service.index)
    report["bench_peak_rss_mb"] = peak_rss_mb()
    report["total_s"] = round(time.perf_counter() - started, 1)
    click.echo(json.dumps(report) if as_json else render(report))


@dataclass(frozen=True)
class Run:
    """One bench run: where it writes its report and scratch files, and what it measures on."""

    report: dict[str, object]
    work: Path
    seeds_dir: Path
    model_dir: Path
    questions: list[str]
    questions_file: Path
    rounds: int
    settings: object

    @property
    def onnx_dir(self) -> Path:
        """Return the bench's own ONNX export."""
        return self.work / "onnx"

    def phase(self, name: str, message: str) -> None:
        """Say that a phase starts and record the machine's load at its start."""
        say(message)
        self.report["load_average"][name] = load_average()


def _export_and_load_backends(run: Run) -> dict[str, object]:
    """Export the model as an index build does, quantize it, and load every backend once."""
    from embeddings.encoders import make_embedder
    from embeddings.encoders.onnx_export import ensure_onnx
    from embeddings.encoders.onnx_runtime import quantize_onnx

    run.phase("export", "exporting the model to ONNX")
    model = run.settings.model
    # Through ensure_onnx, as an index build does: later builds in this process link this export, so the
    # build figures below are the builds' own work, not a second export.
    export_s = sum(timed(lambda: ensure_onnx(model, run.onnx_dir)))
    quantize_s = sum(timed(lambda: quantize_onnx(run.onnx_dir)))
    run.report["index_build"] = {"onnx_export_s": round(export_s, 2), "onnx_int8_quantize_s": round(quantize_s, 2)}
    backends = {name: make_embedder(model, name, run.settings.batch_size, onnx_dir=run.onnx_dir)
                for name in BACKEND_NAMES}
    for embedder in backends.values():
        embedder.embed(["warm up"])
    return backends


def _index_builds(run: Run, backends: dict[str, object]):
    """Build the seeds' index with torch and with the default backend; return the torch service."""
    from bot.answer.service import NewsService
    from embeddings.encoders import DEFAULT_BACKEND

    run.phase("build", "building the index")
    builds = run.report["index_build"]
    for name in ("torch", "onnx"):
        target = run.settings if name == "torch" else run.settings.with_overrides(index_dir=run.work / f"index-{name}")
        start = time.perf_counter()
        built = NewsService(target, backends[name]).reindex(rebuild=True)
        builds[f"{name}_s"] = round(time.perf_counter() - start, 3)
        builds["texts_embedded"] = built.embedded
    torch_service = NewsService(run.settings, backends["torch"])
    torch_service.load()
    index = torch_service.index
    run.report["chunks"] = len(index.chunks)
    # Ingestion end to end: passages indexed per second by the build, against embedding every passage with
    # torch fp32 (what an index of passage embeddings, such as the peer's, costs on the same passages).
    chunk_texts = [chunk.text for chunk in index.chunks]
    torch_passages_s = float(np.median(timed(lambda: backends["torch"].embed(chunk_texts), rounds=3)))
    builds["torch_passage_embeddings_s"] = round(torch_passages_s, 3)
    builds["passages_per_s"] = {name: round(len(chunk_texts) / builds[f"{name}_s"], 1) for name in ("torch", "onnx")}
    builds["passages_per_s"]["torch, every passage embedded"] = round(len(chunk_texts) / torch_passages_s, 1)
    builds["pipeline_ratio"] = round(torch_passages_s / builds[f"{DEFAULT_BACKEND}_s"], 2)
    return torch_service


def _ingestion_and_latency(run: Run, backends: dict[str, object], torch_service) -> None:
    """Per-backend ingestion and fidelity, warm latency and quality per serving backend, and cold starts."""
    from bot.answer.service import NewsService
    from embeddings.encoders import DEFAULT_BACKEND
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder
    from embeddings.ingest.corpus import read_corpus

    run.phase("ingestion", "ingestion per backend")
    counter = token_counter(run.model_dir)
    passages = long_chunks(read_corpus(run.seeds_dir).articles, count_tokens=counter)
    run.report["backends"] = backend_figures(backends, "torch", torch_service.index, run.questions, passages,
                                             run.settings.retrieval_config)
    run.report["ingestion_passage_tokens_mean"] = round(float(np.mean([counter(p) for p in passages])), 1)
    run.report["default_backend"] = DEFAULT_BACKEND

    run.phase("warm", "warm latency")
    services = {"torch": torch_service, "onnx": NewsService(run.settings, OnnxQueryEncoder(run.onnx_dir)),
                "onnx-int8": NewsService(run.settings, OnnxQueryEncoder(run.onnx_dir, quantized=True))}
    run.report["warm"] = {name: service_latency(s, run.questions, run.rounds) for name, s in services.items()}
    run.report["quality"] = {name: quality(s, run.questions_file) for name, s in services.items()}

    run.phase("cold", "cold start")
    run.report["cold_start"] = cold_start(run.settings.index_dir, run.seeds_dir, run.onnx_dir, run.questions[0],
                                          run.work)


def _scale_runs(run: Run, backends: dict[str, object], index, sizes: list[int], index_sizes: list[int],
                ann_kind: str) -> None:
    """ANN structures at scale over seed-derived vectors, and whole synthetic indexes at scale."""
    from embeddings.index.ann import mixture_vectors

    work = run.work
    if sizes:
        base, _ = seed_base_vectors(backends["torch"], index)
        real = backends["torch"].embed(run.questions)
        synthetic = mixture_vectors(base, max(SCALE_QUERIES - len(real), 0), seed=2**31 - 1)
        np.save(work / "base.npy", base)
        np.save(work / "queries.npy", np.vstack([real, synthetic]).astype(np.float32))
        run.report["scale_base_vectors"] = len(base)
        run.report["scale"] = []
        for size in sizes:
            run.phase(f"scale_{size}", f"scale: {size:,} vectors")
            run.report["scale"].append(run_json_child(
                ["-m", "benchmarks.child", "scale", str(size), str(work / "base.npy"), str(work / "queries.npy"),
                 str(len(real)), ann_kind]))
    if index_sizes:
        if not (work / "base.npy").is_file():
            np.save(work / "base.npy", seed_base_vectors(backends["torch"], index)[0])
        run.report["index_scale"] = []
        for size in index_sizes:
            run.phase(f"index_scale_{size}", f"whole index at scale: {size:,} chunks")
            run.report["index_scale"].append(index_scale(size, work / "base.npy", run.seeds_dir, run.questions_file,
                                                         run.onnx_dir, work))


def _peer(run: Run, index) -> None:
    """LangChain's FAISS store over the same chunks and model, and the ratios of its figures to ours."""
    from embeddings.encoders import DEFAULT_BACKEND

    run.phase("peer", "peer baseline")
    work = run.work
    (work / "chunks.json").write_text(json.dumps([c.text for c in index.chunks]), encoding="utf-8")
    (work / "questions.json").write_text(json.dumps(run.questions), encoding="utf-8")
    peer = run_json_child(["-m", "benchmarks.child", "peer", str(run.model_dir), str(work / "chunks.json"),
                           str(work / "questions.json"), str(run.rounds)])
    run.report["peer"] = peer
    builds = run.report["index_build"]
    ours = run.report["warm"][DEFAULT_BACKEND if DEFAULT_BACKEND in run.report["warm"] else "torch"]
    ours_build = builds.get(f"{DEFAULT_BACKEND}_s", builds["torch_s"])
    run.report["ratios"] = {
        "build (default backend)": round(ours_build / peer["build_s"], 3),
        "build (torch)": round(builds["torch_s"] / peer["build_s"], 3),
        # newsbot also embeds every sentence (for sentence-level scores): per text is the like-for-like rate.
        "build per text embedded": round((ours_build / builds["texts_embedded"])
                                         / (peer["build_s"] / peer["texts_embedded"]), 3),
        "search p50": round(ours["search"]["p50_ms"] / peer["search"]["p50_ms"], 3),
        "search p95": round(ours["search"]["p95_ms"] / peer["search"]["p95_ms"], 3),
    }


if __name__ == "__main__":
    bench(prog_name="python -m benchmarks")
