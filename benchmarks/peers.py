"""What a user would build instead, over the same seeds directory and the same bundled model, each in its own
process: `python -m benchmarks.peers plain|langchain|llamaindex CORPUS MODEL QUESTIONS ROUNDS` prints one JSON line.

- plain: 1,000-character chunks with 200 of overlap, sentence-transformers fp32 (batches of 32), FAISS flat;
- langchain: RecursiveCharacterTextSplitter with its defaults, HuggingFaceEmbeddings, FAISS.from_documents,
  similarity_search(k=5);
- llamaindex: VectorStoreIndex.from_documents (its default SentenceSplitter), HuggingFaceEmbedding, a
  FaissVectorStore over IndexFlatL2, as_retriever(similarity_top_k=5).

Build time is reading the files to the searchable index, the model already loaded; query time embeds the
question and searches; hit@5 uses bot/answer/evaluation.py's is_hit over the passages each returns.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import load_average, peak_rss_mb, summarize

K = 5


def read_files(corpus: Path) -> list[tuple[str, str]]:
    """(id, text) of every .txt file, as a user's loader reads them."""
    return [(path.stem, path.read_text(encoding="utf-8")) for path in sorted(corpus.glob("*.txt"))]


def _questions(path: Path) -> list:
    from bot.answer.evaluation import read_questions

    return [q for q in read_questions(path) if q.answerable]


def _score(questions: list, search: Callable[[str], list[tuple[str, str]]], rounds: int) -> dict:
    """hit@5 over the answerable questions, and the query latency over `rounds` passes."""
    from bot.answer.evaluation import is_hit

    hits = 0
    for question in questions:
        found = search(question.question)
        hits += any(is_hit(question, source, text) for source, text in found[:K])
    latencies = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            search(question.question)
            latencies.append(time.perf_counter() - start)
    return {"hit@5": round(hits / max(len(questions), 1), 4), "hits": hits, "questions": len(questions),
            "query": summarize(latencies)}


def plain(corpus: Path, model: str, questions: list, rounds: int) -> dict:
    """1,000-character windows with 200 of overlap, sentence-transformers fp32, FAISS flat."""
    import faiss
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    encoder.encode(["warm up"])
    start = time.perf_counter()
    chunks = [(source, text[i : i + 1000]) for source, text in read_files(corpus)
              for i in range(0, max(len(text) - 200, 1), 800)]
    vectors = encoder.encode([c[1] for c in chunks], batch_size=32, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    build_s = time.perf_counter() - start

    def search(query: str) -> list[tuple[str, str]]:
        vector = encoder.encode([query], normalize_embeddings=True)
        return [chunks[i] for i in index.search(np.asarray(vector, dtype=np.float32), K)[1][0] if i >= 0]

    return {"build_s": round(build_s, 2), "chunks": len(chunks), "texts_embedded": len(chunks),
            **_score(questions, search, rounds)}


def langchain(corpus: Path, model: str, questions: list, rounds: int) -> dict:
    """LangChain's defaults: RecursiveCharacterTextSplitter(), HuggingFaceEmbeddings, FAISS.from_documents."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(model_name=model)
    embeddings.embed_query("warm up")
    start = time.perf_counter()
    documents = [Document(page_content=text, metadata={"source": source}) for source, text in read_files(corpus)]
    chunks = RecursiveCharacterTextSplitter().split_documents(documents)
    store = FAISS.from_documents(chunks, embeddings)
    build_s = time.perf_counter() - start

    def search(query: str) -> list[tuple[str, str]]:
        return [(d.metadata["source"], d.page_content) for d in store.similarity_search(query, k=K)]

    return {"build_s": round(build_s, 2), "chunks": len(chunks), "texts_embedded": len(chunks),
            **_score(questions, search, rounds)}


def llamaindex(corpus: Path, model: str, questions: list, rounds: int) -> dict:
    """LlamaIndex's defaults: VectorStoreIndex.from_documents (SentenceSplitter), HuggingFaceEmbedding, FAISS."""
    import faiss
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    Settings.llm = None  # retrieval only: no LLM is asked for anything
    embed_model = HuggingFaceEmbedding(model_name=model)
    embed_model.get_text_embedding("warm up")
    dimension = len(embed_model.get_text_embedding("dimension"))
    start = time.perf_counter()
    documents = [Document(text=text, metadata={"source": source}, id_=source) for source, text in read_files(corpus)]
    storage = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss.IndexFlatL2(dimension)))
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed_model)
    build_s = time.perf_counter() - start
    retriever = index.as_retriever(similarity_top_k=K)

    def search(query: str) -> list[tuple[str, str]]:
        return [(n.node.metadata["source"], n.node.get_content()) for n in retriever.retrieve(query)]

    nodes = len(index.docstore.docs)
    return {"build_s": round(build_s, 2), "chunks": nodes, "texts_embedded": nodes,
            **_score(questions, search, rounds)}


PEERS = {"plain": plain, "langchain": langchain, "llamaindex": llamaindex}


def main(argv: list[str]) -> None:
    """Run one peer over a corpus and print its figures as one JSON line."""
    name, corpus, model, questions_path, rounds = argv
    questions = [q for path in questions_path.split(",") for q in _questions(Path(path))]
    before = load_average()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # libraries' prints ("Using MockLLM") stay off the JSON line
        figures = PEERS[name](Path(corpus), model, questions, int(rounds))
    figures.update({"peer": name, "wall_s": round(time.perf_counter() - start, 1), "load_before": before,
                    "load_after": load_average(), "peak_rss_mb": peak_rss_mb()})
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
