"""Large corpora from real text, for scale figures: articles recombined from the real sentences of
benchmarks.realtext's pool, their names varied with real English words once the pool is used up, so that the
vocabulary grows with the corpus as a newsroom's does (names are most of a news vocabulary's long tail).

Chunks are cut by newsbot's own windowing over the sentences the articles were made of (the sentence boundaries
are known, so 400 MB of text is not split again); vectors are embeddings.index.ann.mixture_vectors of real embeddings
of pool sentences. `python -m benchmarks.realscale write|load ...` are the child processes of benchmarks.archive.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import peak_rss_mb
from benchmarks.realtext import _MONTHS, Pool, shuffled_runs

DICTIONARY = Path("/usr/share/dict/american-english-huge")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}\b")


def dictionary_words(path: Path = DICTIONARY, seed: int = 7) -> list[str]:
    """Real English words (SCOWL's huge American list, Debian's wamerican-huge), lower-case letters only, in a
    fixed random order; empty when the list is not installed."""
    if not path.is_file():
        return []
    words = sorted({w.strip().lower() for w in path.read_text(encoding="utf-8", errors="replace").splitlines()
                    if re.fullmatch(r"[A-Za-z]{3,}", w.strip())})
    random.Random(seed).shuffle(words)
    return words


@dataclass
class RealCorpus:
    """Recombined real articles with their sentence spans: articles in memory, chunks made on demand."""

    articles: list
    spans: list[tuple[tuple[tuple[int, int], ...], ...]]  # per article, per segment, the sentence spans
    chunker: object
    distinct_sentences: int = 0
    chunk_count: int = 0

    @classmethod
    def build(cls, pool: Pool, chunker, target_chunks: int, words: Sequence[str] = (), seed: int = 0,
              prefix: str = "a") -> RealCorpus:
        """Recombine articles until they hold `target_chunks` chunks; after the first pass over the pool each
        article's names are replaced by real words, half drawn by a Zipf law and half uniformly (one mapping per
        article)."""
        from embeddings.ingest.chunking import _windows
        from embeddings.records import Article

        rng = random.Random(seed)
        titles = [s for _, _, sentences in pool.documents for s in sentences if 4 <= len(s.split()) <= 12]
        corpus = cls([], [], chunker)
        chunks, passes, seen = 0, 0, set()
        while chunks < target_chunks:
            runs = shuffled_runs(pool, rng)
            while len(runs) >= 5 and chunks < target_chunks:
                paragraphs = [list(runs.pop()) for _ in range(rng.randint(2, 5))]
                names: dict[str, str] = {}
                if passes and words:
                    def rename(match: re.Match[str], names: dict[str, str] = names) -> str:
                        word = match.group()
                        if word not in names:
                            # Half the names from a Zipf head (people and places in the news again and again),
                            # half from anywhere in the list: the long tail that grows a newsroom's vocabulary.
                            if rng.random() < 0.5:
                                rank = min(int(rng.paretovariate(0.9)) - 1, len(words) - 1)
                                names[word] = words[(rank * 7919 + len(names)) % len(words)].capitalize()
                            else:
                                names[word] = words[rng.randrange(len(words))].capitalize()
                        return names[word]
                    paragraphs = [[_NAME.sub(rename, s) for s in p] for p in paragraphs]
                title = rng.choice(titles).rstrip(".")
                head = f"{title}\n{rng.randint(1, 28)} {rng.choice(_MONTHS)} {rng.randint(2001, 2025)}\n\n"
                text, segments, spans = head, [], []
                for paragraph in paragraphs:
                    start, sentence_spans = len(text), []
                    for sentence in paragraph:
                        sentence_spans.append((len(text), len(text) + len(sentence)))
                        text += sentence + " "
                        seen.add(sentence)
                    text = text[:-1] + "\n\n"
                    segments.append((start, sentence_spans[-1][1]))
                    spans.append(tuple(sentence_spans))
                number = len(corpus.articles)
                article = Article(f"{prefix}{number:07d}", text, title=title, date=None, body=tuple(segments),
                                  segments=tuple(segments), content_hash=hashlib.sha256(text.encode()).hexdigest())
                corpus.articles.append(article)
                corpus.spans.append(tuple(spans))
                chunks += sum(len(_windows(list(s), chunker)) for s in spans)
            passes += 1
        corpus.distinct_sentences = len(seen)
        corpus.chunk_count = chunks
        return corpus

    def chunks(self) -> Iterator:
        """Yield every chunk in row order, as chunk_article cuts them."""
        from embeddings.ingest.chunking import _windows
        from embeddings.records import Chunk

        for article, segments in zip(self.articles, self.spans, strict=True):
            n = 0
            for sentences in segments:
                for first, last in _windows(list(sentences), self.chunker):
                    start, end = sentences[first][0], sentences[last][1]
                    yield Chunk(f"{article.source_id}#{n}", article.source_id, start, end, article.text[start:end],
                                tuple(sentences[first : last + 1]))
                    n += 1

    def sentence_rows(self) -> Iterator[tuple[int, ...]]:
        """Yield each chunk's sentence rows, numbered as the index build numbers them (per article and span)."""
        from embeddings.ingest.chunking import _windows

        row = 0
        for segments in self.spans:
            for sentences in segments:
                first_row = row
                for first, last in _windows(list(sentences), self.chunker):
                    yield tuple(range(first_row + first, first_row + last + 1))
                row += len(sentences)

    @property
    def sentence_count(self) -> int:
        """Return how many sentence rows the index holds."""
        return sum(len(s) for segments in self.spans for s in segments)


def write_real(size: int, pool_path: Path, base_path: Path, index_dir: Path, model: str, seed: int = 0) -> dict:
    """Write a newsbot index of `size` chunks of recombined real text with mixture vectors; return its figures."""
    import pickle

    from benchmarks.scale import write_mixed_index
    from embeddings.records import ChunkerConfig

    pool = pickle.loads(pool_path.read_bytes())
    chunker = ChunkerConfig()
    start = time.perf_counter()
    words = dictionary_words()
    if not words:
        # Without the list the names repeat and the vocabulary stays a sixth of a newsroom's (docs/performance.md).
        print(f"warning: {DICTIONARY} is not installed (Debian's wamerican-huge): names are not replaced, the "
              "vocabulary will be narrow", file=sys.stderr)
    corpus = RealCorpus.build(pool, chunker, size, words, seed=seed)
    corpus_s = time.perf_counter() - start
    generation, vectors_s, write_s = write_mixed_index(index_dir, np.load(base_path), corpus, corpus.chunk_count,
                                                       corpus.sentence_count, seed=size, model=model, chunker=chunker)
    terms = len(json.loads((generation / "bm25_terms.json").read_text(encoding="utf-8")))
    files = {path.name: path.stat().st_size for path in generation.iterdir() if path.is_file()}
    text_mb = sum(len(a.text) for a in corpus.articles) / 1e6
    return {"size": size, "chunks": corpus.chunk_count, "articles": len(corpus.articles),
            "sentences": corpus.sentence_count,
            "distinct_pool_sentences_used": corpus.distinct_sentences, "text_mb": round(text_mb, 1),
            "bm25_terms": terms, "corpus_s": round(corpus_s, 1), "vectors_s": round(vectors_s, 1),
            "write_s": round(write_s, 1), "disk_mb": round(sum(files.values()) / 2**20, 1),
            "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write":
        size, pool_path, base_path, index_dir, model = args
        print(json.dumps(write_real(int(size), Path(pool_path), Path(base_path), Path(index_dir), model)))
    elif command == "load":
        from benchmarks.scale import index_scale_load

        index_dir, questions, onnx_dir, rounds = args
        print(json.dumps(index_scale_load(Path(index_dir), Path(questions), Path(onnx_dir), int(rounds))))
    sys.stdout.flush()
