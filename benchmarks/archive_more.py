"""benchmarks.archive's larger runs: incremental updates of a 10,000-article index, scale on recombined real text,
the memory of a 100k-article build, and the table of targets."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import load_average, peak_rss_mb, run_json_child, say

ROOT = Path(__file__).resolve().parent.parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
QUESTIONS = ROOT / "tests/data/newsroom/questions_train.jsonl"
NEWS = ROOT / ".newsbot/corpora/newsroom-txt"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def pool(work: Path, kinds: tuple[str, ...] = ("news", "pages", "wiki")):
    """The real sentences of benchmarks.realtext, read once and kept."""
    from benchmarks.realtext import build_pool

    path = work / f"pool-{'-'.join(kinds)}.pkl"
    if not path.is_file():
        path.write_bytes(pickle.dumps(build_pool(kinds=kinds)))
    return pickle.loads(path.read_bytes()), path


def base_vectors(work: Path, onnx_dir: Path, count: int = 3000) -> Path:
    """Real embeddings of pool sentences, from which scale vectors are mixed."""
    from embeddings.encoders.onnx_runtime import OnnxQueryEncoder

    path = work / "base.npy"
    if not path.is_file():
        sentences = [s for _, _, doc in pool(work)[0].documents for s in doc]
        chosen = sentences[:: max(1, len(sentences) // count)][:count]
        np.save(path, OnnxQueryEncoder(onnx_dir).embed(chosen))
    return path


def write_articles(directory: Path, count: int, kinds: tuple[str, ...], work: Path, seed: int = 0) -> int:
    """Write `count` recombined real articles as .txt files (once); return their bytes."""
    from benchmarks.realtext import recombined

    marker = directory / ".complete"
    if marker.is_file():
        return int(marker.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    for number, article in zip(range(count), recombined(pool(work, kinds)[0], seed), strict=False):
        data = article.encode("utf-8")
        (directory / f"mix_{number:07d}.txt").write_bytes(data)
        written += len(data)
    marker.write_text(str(written))
    return written


class MixtureEmbedder:
    """Real-looking vectors at once: a text's vector is a fixed mixture of real embeddings chosen by its hash (the
    memory run measures the pipeline around the model, not the model)."""

    model_name = MODEL

    def __init__(self, base: np.ndarray, encoder_dir: Path | None = None) -> None:
        self.base = base
        # The bench's ONNX export, copied into the index as a build copies a current one (never exported again).
        self.encoder_dir = encoder_dir

    def embed(self, texts, progress=None) -> np.ndarray:
        from embeddings.index.ann import mixture_vectors

        seed = int.from_bytes(hashlib.sha256("\n".join(texts[:3]).encode()).digest()[:4], "little")
        out = np.empty((len(texts), self.base.shape[1]), dtype=np.float32)  # one array, as the encoder returns
        for offset in range(0, len(texts), 50_000):
            out[offset : offset + 50_000] = mixture_vectors(self.base, min(50_000, len(texts) - offset), seed + offset)
        return out


def write_base_index(seeds: Path, index_dir: Path, base_path: Path, onnx_dir: Path) -> dict:
    """A real newsbot index of a seeds directory, its vectors mixed from real embeddings instead of computed."""
    from bot.answer.service import NewsService
    from bot.settings import Settings

    service = NewsService(Settings(seeds_dir=seeds, index_dir=index_dir),
                          MixtureEmbedder(np.load(base_path), onnx_dir))
    start = time.perf_counter()
    report = service.reindex(rebuild=True)
    return {"articles": len(report.added), "chunks": report.chunks, "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_mb": peak_rss_mb()}


def _cli_index(seeds: Path, index_dir: Path) -> dict:
    """`python -m bot index --json` in a fresh process: the whole command as a user runs it."""
    load = load_average()
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bot", "--index-dir", str(index_dir), "index", "--seeds",
                              str(seeds), "--json"], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    stdout = child.stdout.read() if child.stdout else ""
    # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the largest of every child so far).
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args, stdout)
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "load": load, "embedded": result.get("embedded"),
            "added": len(result.get("added", [])), "chunks": result.get("chunks"),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def incremental(work: Path, onnx_dir: Path, articles: int = 10_000, added: int = 10) -> dict:
    """Add 10 real articles to a 10,000-article index with `newsbot index`: as a delta, and as a whole rewrite."""
    seeds, index_dir = work / "seeds-10k", work / "index-10k"
    write_articles(seeds, articles, ("pages", "wiki"), work)
    for path in seeds.glob("lee_*.txt"):
        path.unlink()
    base_path = base_vectors(work, onnx_dir)
    shutil.copytree(onnx_dir, work / ".index-10k.encoder", dirs_exist_ok=True)
    figures: dict[str, object] = {}
    say("incremental: the 10,000-article base index")
    figures["base"] = run_json_child(["-m", "benchmarks.archive_more", "base", str(seeds), str(index_dir),
                                      str(base_path), str(onnx_dir)], env=_env(), cwd=ROOT)
    snapshot = work / "index-10k-snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    subprocess.run(["cp", "-al", str(index_dir.resolve()), str(snapshot)], check=True)
    new = sorted(NEWS.glob("lee_*.txt"))[:added]
    for path in new:
        shutil.copy(path, seeds / path.name)
    say("incremental: 10 articles added, as a delta")
    figures["delta"] = _cli_index(seeds, index_dir)
    figures["delta"]["generation_mb_written"] = round(sum(
        p.stat().st_size for p in (index_dir.resolve() / "deltas").rglob("*") if p.is_file()) / 2**20, 2)
    say("incremental: the same 10 articles, the whole index rewritten (what every build did before)")
    target = index_dir.resolve()
    shutil.rmtree(target)
    subprocess.run(["cp", "-al", str(snapshot), str(target)], check=True)
    figures["rewrite"] = run_json_child(["-m", "benchmarks.archive_more", "rewrite", str(seeds), str(index_dir)],
                                        env=_env(), cwd=ROOT)
    for path in new:
        (seeds / path.name).unlink()
    shutil.rmtree(snapshot, ignore_errors=True)
    return figures


def rewrite_child(seeds: Path, index_dir: Path) -> dict:
    """The same update with appending turned off: the index is written whole, reusing every unchanged vector."""
    from bot.answer.service import NewsService
    from bot.settings import Settings
    from embeddings.index import deltas as segments

    segments.MIN_BASE_CHUNKS = 10**12
    start = time.perf_counter()
    report = NewsService(Settings(seeds_dir=seeds, index_dir=index_dir)).reindex()
    return {"seconds": round(time.perf_counter() - start, 1), "embedded": report.embedded, "load": load_average(),
            "peak_rss_mb": peak_rss_mb(), "note": "in-process after imports (the delta figure is a whole CLI run)"}


def scale(work: Path, onnx_dir: Path, sizes: list[int], rounds: int) -> list[dict]:
    """Indexes of recombined real text at each size: write in one process, load and search in another."""
    _, pool_path = pool(work)
    base_path = base_vectors(work, onnx_dir)
    results = []
    for size in sizes:
        index_dir = work / f"index-real-{size}"
        say(f"scale: writing {size:,} chunks of real text")
        written = run_json_child(["-m", "benchmarks.realscale", "write", str(size), str(pool_path), str(base_path),
                                  str(index_dir), MODEL], env=_env(), cwd=ROOT)
        say(f"scale: searching {size:,} chunks")
        loaded = run_json_child(["-m", "benchmarks.realscale", "load", str(index_dir), str(QUESTIONS), str(onnx_dir),
                                 str(rounds)], env=_env(), cwd=ROOT)
        results.append({"size": size, "write": written, "load": loaded, "load_average": load_average()})
        target = index_dir.resolve()
        index_dir.unlink()
        shutil.rmtree(target, ignore_errors=True)
    return results


def memory_100k(work: Path, onnx_dir: Path, articles: int = 100_000) -> dict:
    """Peak RSS of a build of 100k real articles (read, clean, split, plan, write) with vectors mixed, not computed."""
    seeds = work / "seeds-100k"
    written = write_articles(seeds, articles, ("news", "pages", "wiki"), work, seed=1)
    figures = run_json_child(["-m", "benchmarks.archive_more", "base", str(seeds), str(work / "index-100k"),
                              str(base_vectors(work, onnx_dir)), str(onnx_dir)], env=_env(), cwd=ROOT)
    return {"articles": articles, "bytes": written, **figures}


def _line(label: str, value: object, target: str, met: bool | None) -> str:
    verdict = "" if met is None else ("met" if met else "NOT met")
    return f"  {label:<58} {value!s:<34} {target:<22} {verdict}"


def print_targets(report: dict) -> str:
    """The issue's targets beside the figures."""
    lines = ["newsbot on a newsroom's archive (issue 14)", json.dumps(report.get("corpus", {}))]
    builds = report.get("builds")
    if builds:
        ours, ratios = builds["newsbot"], builds["ratios"]
        lines.append(_line("build (4 MB real corpus), newsbot", f"{ours['build_s']} s", "", None))
        for peer in ("plain", "langchain", "llamaindex"):
            lines.append(_line(f"build, {peer}", f"{builds[peer]['build_s']} s", "", None))
        lines.append(_line("build / plain", ratios["build / plain"], "<= 0.5", ratios["build / plain"] <= 0.5))
        lines.append(_line("build / langchain", ratios["build / langchain"], "<= 0.5",
                           ratios["build / langchain"] <= 0.5))
        lines.append(_line("non-embedding share of the build", ratios["non-embedding share"], "<= 0.2",
                           ratios["non-embedding share"] <= 0.2))
        lines.append(_line("query p50 / langchain", ratios["query p50 / langchain"], "<= 0.5",
                           ratios["query p50 / langchain"] <= 0.5))
        for name in ("newsbot", "plain", "langchain", "llamaindex"):
            lines.append(_line(f"hit@5 {name}", builds[name]["hit@5"], "", None))
    for run in report.get("scale") or []:
        search = run["load"]["search"]
        size = run["size"]
        lines.append(_line(f"{size:,} chunks: hybrid search p50 / p95 ms", f"{search['p50_ms']} / {search['p95_ms']}",
                           "p50 <= 5 ms" if size >= 1_000_000 else "", search["p50_ms"] <= 5 if size >= 1_000_000
                           else None))
        lines.append(_line(f"{size:,} chunks: serving peak RSS MB", run["load"]["peak_rss_mb"],
                           "<= 3072" if size >= 1_000_000 else "", run["load"]["peak_rss_mb"] <= 3072
                           if size >= 1_000_000 else None))
    if report.get("incremental"):
        delta = report["incremental"]["delta"]
        lines.append(_line("add 10 to 10,000 articles (whole CLI run)", f"{delta['seconds']} s, {delta['embedded']} "
                           "texts", "< 30 s", delta["seconds"] < 30))
    return "\n".join(lines)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "base":
        print(json.dumps(write_base_index(*(Path(a) for a in args))), flush=True)
    elif command == "rewrite":
        print(json.dumps(rewrite_child(Path(args[0]), Path(args[1]))), flush=True)
