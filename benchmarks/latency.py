"""Cold start, warm latency, answer quality and per-backend ingestion figures, on the seeds."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import agreement, flat_top, run_json_child, say, summarize, timed

BACKEND_NAMES = ("torch", "torch-bf16", "onnx", "onnx-int8")


# bf16 is emulated without AVX512-BF16/AMX (the first figures' AVX2 machines): a few texts give its rate.
SLOW_BACKEND_TEXTS = 16


COLD_RUNS = 3


_CHILD_ONNX_ASK = """
import json, sys
from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.encoders.onnx_runtime import OnnxQueryEncoder
service = NewsService(Settings.from_env(env_file=None), OnnxQueryEncoder(sys.argv[1]))
answer = service.ask(sys.argv[2])
heavy = [name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules]
print(json.dumps({"answered": answer.answered, "heavy_imports": heavy}), flush=True)
"""


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


def backend_figures(backends: dict[str, object], reference: str, index, dev_questions: Sequence[str],
                    passages: Sequence[str], retrieval_config) -> dict[str, dict]:
    """Per backend: passages/s on ingestion-sized texts, cosine to the reference and top-5 agreement."""
    from dataclasses import replace

    import faiss

    from embeddings.index.vectors import passage_vectors
    from embeddings.search.retrieval import Retriever

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
    from bot.answer.evaluation import evaluate
    from bot.answer.evaluation import read_questions as read_eval

    texts = {source_id: article.text for source_id, article in service.index.articles.items()}
    result = evaluate(read_eval(questions_file), service.search, service.ask, texts)
    return {key: result[key] for key in ("questions", "hit@5", "mrr@10", "answer_accuracy")}
