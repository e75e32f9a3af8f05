"""`python -m benchmarks.postgres` (`make bench-postgres`): the PostgreSQL store against the index directory.

Prints figures, never pass/fail: on the seeds, top-5 agreement and `newsbot eval` figures for the directory, for
PostgreSQL with BM25 and for PostgreSQL with ts_rank; at synthetic scale (seed texts repeated, seed-derived
vectors, as `python -m benchmarks` does), build time and search p50/p95 from one client and from several
concurrent client processes. A local server is started with `newsbot postgres start` unless --url is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import agreement, parse_sizes, read_questions, say, summarize, timed

ROOT = Path(__file__).resolve().parent.parent
SETS = {"dev": ROOT.parent / "shared" / "eval" / "dev_questions.jsonl", "own": ROOT / "tests/data/questions.jsonl",
        "heldout": ROOT / "tests/data/questions_heldout.jsonl"}
FIGURES = ("hit@5", "mrr@10", "answer_accuracy", "answered_unanswerable", "quotes_verbatim")


def _services(settings, embedder, url: str) -> dict[str, object]:
    """The seeds indexed in a directory and in PostgreSQL, searched with BM25 and with ts_rank."""
    from bot.answer.service import NewsService
    from embeddings.postgres import PostgresBackend

    services = {"directory": NewsService(settings, embedder)}
    pg = settings.with_overrides(database_url=url)
    services["postgres-bm25"] = NewsService(pg, embedder)
    services["postgres-ts_rank"] = NewsService(pg, embedder, backend=PostgresBackend(url, keyword="ts_rank"))
    for name, service in services.items():
        rebuild = name != "postgres-ts_rank"  # ts_rank reads the generation the BM25 run wrote
        seconds = sum(timed(lambda s=service, r=rebuild: s.reindex(rebuild=r)))
        service.load()
        say(f"seeds indexed in {name} in {seconds:.2f} s")
    return services


def quality(settings, embedder, url: str) -> dict[str, object]:
    """Top-5 agreement with the directory and eval figures, per question set and store."""
    from bot.answer.evaluation import evaluate
    from bot.answer.evaluation import read_questions as read_eval

    services = _services(settings, embedder, url)
    texts = {sid: (settings.seeds_dir / f"{sid}.txt").read_text(encoding="utf-8")
             for sid in services["directory"].index.articles}
    report: dict[str, object] = {}
    for name, path in SETS.items():
        if not path.is_file():
            continue
        questions = read_eval(path)
        tops = {store: [[h.chunk.chunk_id for h in s.search(q.question, 5)] for q in questions]
                for store, s in services.items()}
        answers = {store: [s.ask(q.question).answer for q in questions] for store, s in services.items()}
        report[name] = {
            store: {**{k: evaluate(questions, s.search, s.ask, texts)[k] for k in FIGURES},
                    "top5_vs_directory": agreement(tops["directory"], tops[store]),
                    "same_answer_text": round(float(np.mean([a == b for a, b in zip(
                        answers["directory"], answers[store], strict=True)])), 4)}
            for store, s in services.items()}
    for service in services.values():
        service.backend.close()
    return report


def _write_synthetic(size: int, embedder, seed_index, settings, url: str, work: Path) -> dict[str, object]:
    """Write a `size`-chunk synthetic index to a directory and to PostgreSQL; return both build times."""
    from benchmarks.scale import SyntheticCorpus, _mixture_file, seed_base_vectors
    from embeddings.index.directory import write_index
    from embeddings.ingest.corpus import read_corpus
    from embeddings.postgres import PostgresBackend

    base, _ = seed_base_vectors(embedder, seed_index)
    corpus = SyntheticCorpus.repeat(read_corpus(settings.seeds_dir).articles, settings.chunker, size)
    chunk_vectors = _mixture_file(work / f"chunks-{size}.npy", base, size, seed=1)
    sentence_vectors = _mixture_file(work / f"sentences-{size}.npy", base, corpus.sentences, seed=size + 1)
    figures: dict[str, object] = {"chunks": size, "sentences": corpus.sentences, "articles": len(corpus.articles)}
    start = time.perf_counter()
    write_index(work / f"index-{size}", corpus.articles, corpus.chunks(), corpus.sentence_rows(), chunk_vectors,
                sentence_vectors, model=embedder.model_name, chunker=settings.chunker)
    figures["directory_build_s"] = round(time.perf_counter() - start, 2)
    backend = PostgresBackend(url)
    start = time.perf_counter()
    backend.write(corpus.articles, corpus.chunks(), corpus.sentence_rows(), chunk_vectors, sentence_vectors,
                  model=embedder.model_name, chunker=settings.chunker, report=say)
    figures["postgres_build_s"] = round(time.perf_counter() - start, 2)
    backend.close()
    return figures


def _client(store: str, target: str, model: str, questions_file: Path, vectors_file: Path, rounds: int) -> dict:
    """One client process: load the store, say ready, wait for go, search every question `rounds` times."""
    from bot.answer.service import NewsService
    from bot.settings import Settings
    from embeddings.search.retrieval import limit_search_threads

    class Vectors:  # the queries' vectors were embedded once by the parent: search alone is timed
        model_name = model

        def embed(self, texts, progress=None):
            raise RuntimeError("the benchmark client embeds nothing")

    url = os.environ.get("NEWSBOT_BENCH_URL") if store == "postgres" else None
    settings = Settings(seeds_dir=Path(target).parent / ".no-seeds", index_dir=Path(target), model=model,
                        database_url=url)
    service = NewsService(settings, Vectors())
    service.load(check_corpus=False)
    limit_search_threads(1)
    retriever = service.retriever
    questions = read_questions(questions_file)
    vectors = np.load(vectors_file)
    tops = [[h.chunk.chunk_id for h in retriever.search(q, 5, query_vector=v)] for q, v in zip(questions, vectors,
                                                                                            strict=True)]
    print("ready", flush=True)
    sys.stdin.readline()
    latencies = [s for _ in range(rounds) for q, v in zip(questions, vectors, strict=True)
                 for s in timed(lambda q=q, v=v: retriever.search(q, 5, query_vector=v))]
    unbounded = getattr(retriever.source, "deeper", None)
    return {"latencies": latencies, "tops": tops, "scans_every_sentence": retriever.scans_every_sentence,
            "bm25_unbounded_share": None if unbounded is None else round(unbounded / (len(latencies) + len(tops)), 3)}


def _clients(count: int, store: str, target: str, model: str, questions_file: Path, vectors_file: Path,
             rounds: int, url: str) -> dict[str, object]:
    """Run `count` client processes at once; return their pooled latencies, throughput and first client's top-5s."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSBOT_BENCH_URL": url}
    args = [sys.executable, "-m", "benchmarks.postgres", "client", store, target, model, str(questions_file),
            str(vectors_file), str(rounds)]
    children = [subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True) for _ in range(count)]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise click.ClickException(f"a {store} benchmark client failed to start")
    start = time.perf_counter()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    wall = time.perf_counter() - start
    latencies = [s for r in results for s in r["latencies"]]
    return {"search": summarize(latencies), "searches_per_s": round(len(latencies) / wall, 1),
            "tops": results[0]["tops"], "scans_every_sentence": results[0]["scans_every_sentence"],
            "bm25_unbounded_share": results[0]["bm25_unbounded_share"]}


def scale(size: int, clients: list[int], settings, embedder, seed_index, url: str, questions_file: Path,
          rounds: int, work: Path) -> dict[str, object]:
    """Build times, then search latency per store and number of concurrent clients, and top-5 agreement."""
    figures = _write_synthetic(size, embedder, seed_index, settings, url, work)
    questions = read_questions(questions_file)
    vectors_file = work / "query_vectors.npy"
    np.save(vectors_file, np.asarray(embedder.embed(questions), dtype=np.float32))
    tops = {}
    for store, target in (("directory", str(work / f"index-{size}")), ("postgres", str(work / f"index-{size}"))):
        for count in clients:
            say(f"{size:,} chunks: {store}, {count} client(s)")
            result = _clients(count, store, target, embedder.model_name, questions_file, vectors_file, rounds, url)
            tops[store] = result.pop("tops")
            figures[f"{store}_{count}_clients"] = result
    figures["top5_vs_directory"] = agreement(tops["directory"], tops["postgres"])
    return figures


def render(report: dict[str, object]) -> str:
    """Render the figures as plain tables."""
    lines = [f"PostgreSQL store vs index directory ({report['server']}), model {report['model']}", ""]
    if report.get("quality"):
        lines.append(f"{'set':<8}{'store':<18}" + "".join(f"{c[:12]:>13}" for c in (*FIGURES, "top5 ident.",
                                                                                    "top5 overlap", "same answer")))
        for name, stores in report["quality"].items():
            for store, f in stores.items():
                cells = [*(f[c] for c in FIGURES), f["top5_vs_directory"]["identical"],
                         f["top5_vs_directory"]["overlap"], f["same_answer_text"]]
                lines.append(f"{name:<8}{store:<18}" + "".join(f"{'-' if v is None else v!s:>13}" for v in cells))
        lines.append("")
    for figures in report.get("scale", []):
        lines.append(f"{figures['chunks']:,} chunks ({figures['sentences']:,} sentences): build directory "
                     f"{figures['directory_build_s']} s, postgres {figures['postgres_build_s']} s; top-5 identical "
                     f"{figures['top5_vs_directory']['identical']}, overlap {figures['top5_vs_directory']['overlap']}")
        for key, value in figures.items():
            if key.endswith("_clients"):
                search = value["search"]
                lines.append(f"  {key:<24} search p50 {search['p50_ms']:>8} ms  p95 {search['p95_ms']:>8} ms  "
                             f"{value['searches_per_s']:>8} searches/s  sentence scan {value['scans_every_sentence']}"
                             + ("" if value["bm25_unbounded_share"] is None else
                                f"  BM25 bound missed {value['bm25_unbounded_share']:.0%}"))
    lines.append(f"total {report['total_s']} s")
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.option("--url", envvar="NEWSBOT_BENCH_URL", default=None,
              help="An existing server's database (emptied!); default: a local server in a temporary directory.")
@click.option("--sizes", default="10000,100000", show_default=True, help="Synthetic index sizes; 0 skips them.")
@click.option("--clients", default="1,4", show_default=True, help="Concurrent client processes per run.")
@click.option("--rounds", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--skip-quality", is_flag=True, help="Skip the seeds' agreement and eval figures.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def main(ctx: click.Context, url: str | None, sizes: str, clients: str, rounds: int, skip_quality: bool,
         as_json: bool) -> None:
    """Compare the PostgreSQL store with the index directory: answers, build time, search latency."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.settings import Settings
    from embeddings.encoders.sentence_transformers import SentenceTransformerEmbedder

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-pg-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        server = None
        if url is None:
            server = work / "server"
            done = subprocess.run([sys.executable, "-m", "bot", "postgres", "start", "--dir", str(server)],
                                  capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            if done.returncode != 0:
                raise click.ClickException(done.stderr.strip())
            url = done.stdout.strip().splitlines()[-1]
        try:
            embedder = SentenceTransformerEmbedder()
            settings = Settings(seeds_dir=(ROOT / "seeds").resolve(), index_dir=work / "seeds-index",
                                feedback_db=work / "feedback.sqlite3", model=embedder.model_name)
            report: dict[str, object] = {"server": "local newsbot postgres" if server else "given --url",
                                         "model": embedder.model_name, "cpus": os.cpu_count()}
            if not skip_quality:
                report["quality"] = quality(settings, embedder, url)
            from bot.answer.service import NewsService

            seed_service = NewsService(settings, embedder)
            seed_service.reindex()
            seed_index = seed_service.index
            questions_file = next(p for p in SETS.values() if p.is_file())
            report["scale"] = [scale(size, parse_sizes(clients), settings, embedder, seed_index, url, questions_file,
                                     rounds, work) for size in parse_sizes(sizes)]
        finally:
            if server is not None:
                subprocess.run([sys.executable, "-m", "bot", "postgres", "stop", "--dir", str(server)], cwd=ROOT,
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    report["total_s"] = round(time.perf_counter() - started, 1)
    click.echo(json.dumps(report) if as_json else render(report))


@main.command(name="client", hidden=True)
@click.argument("store")
@click.argument("target")
@click.argument("model")
@click.argument("questions_file", type=click.Path(path_type=Path))
@click.argument("vectors_file", type=click.Path(path_type=Path))
@click.argument("rounds", type=int)
def client(store: str, target: str, model: str, questions_file: Path, vectors_file: Path, rounds: int) -> None:
    """One benchmark client process (started by the benchmark itself)."""
    click.echo(json.dumps(_client(store, target, model, questions_file, vectors_file, rounds)))


if __name__ == "__main__":
    main()
