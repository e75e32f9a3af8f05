"""The peer baseline: LangChain's FAISS store over the same chunks and model."""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import peak_rss_mb, summarize, timed


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
