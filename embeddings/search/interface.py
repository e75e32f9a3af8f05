"""The store interface: what retrieval and the answering service need from an index, and where indexes live.

Two implementations: the embedded index directory (the default: embeddings/index/, searched by
embeddings/search/embedded.py) and PostgreSQL with pgvector (embeddings/postgres/), chosen by NEWSBOT_DATABASE_URL.
A new article column is a change to embeddings/index/metadata.py's article rows only: both stores write and read
articles through them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from embeddings.progress import Progress, Report, silent
from embeddings.records import Article, Chunk, ChunkerConfig, SourceInfo

if TYPE_CHECKING:
    from embeddings.encoders import Embedder
    from embeddings.index.directory import BuildReport

RowsOf = Sequence[tuple[int, ...]] | Mapping[int, tuple[int, ...]]


class VectorRows(Protocol):
    """Unit vectors by row: an array, or rows read on demand from a store."""

    def __getitem__(self, rows: Any) -> np.ndarray:
        """Return the vectors of some rows (an int, a list of ints or a slice)."""

    def __len__(self) -> int:
        """Return the number of rows."""


class ServingIndex(Protocol):
    """One loaded index generation, read-only: everything the answering layer reads, search aside."""

    manifest: dict
    articles: Mapping[str, Article]
    chunks: Sequence[Chunk]
    # Each chunk's rows among the sentence vectors, by chunk row.
    sentence_rows: Sequence[tuple[int, ...]]
    chunk_vectors: VectorRows
    sentence_vectors: VectorRows

    @property
    def model(self) -> str:
        """Return the model the vectors were made with."""

    def source(self, source_id: str) -> SourceInfo:
        """Return citation metadata for an article (KeyError when absent)."""

    def sources(self) -> list[SourceInfo]:
        """Return every article's citation metadata, by id."""

    def date_range(self) -> tuple[str | None, str | None]:
        """Return the first and last article date."""

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""

    def rows_of(self, source_id: str) -> list[int]:
        """Return the rows of an article's chunks, in order."""

    def sources_of_rows(self, rows: Sequence[int]) -> dict[int, str]:
        """Return the article of each of some chunk rows."""

    def searcher(self, max_sentence_scan: int) -> SearchSource | None:
        """Return the store's own search side (the PostgreSQL store searches in the database); None for an index
        searched in this process (embeddings.search.embedded.EmbeddedSearch)."""


@dataclass(frozen=True)
class SearchInputs:
    """What hybrid search fuses for one query: each ranking's candidates, best first, with their scores."""

    dense: dict[int, float]
    lexical: dict[int, float]
    # Chunks ranked by their best sentence's similarity (empty unless the mode is hybrid).
    sentence: list[int]
    # The BM25 score of every candidate of any ranking (0 when it has no query term).
    lexical_scores: Mapping[int, float]
    # Every candidate's rows among the sentence vectors, for the overlap filter.
    sentence_rows: RowsOf


@dataclass(frozen=True)
class HitParts:
    """What a hit shows beside its rank and fused score: the chunk, its source and its vectors' similarities."""

    chunk: Chunk
    source: SourceInfo
    sentence_scores: tuple[float, ...] = field(default=())
    # The passage vector's similarity, computed only when the dense ranking did not already give it.
    dense_score: float | None = None


@runtime_checkable
class SearchSource(Protocol):
    """The search side of an index: the rankings hybrid retrieval fuses, and the parts of the hits it keeps."""

    @property
    def size(self) -> int:
        """Return the number of chunks."""

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Return BM25's stemmed terms: what the articles mention at all."""

    def idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency."""

    def documents_with(self, term: str) -> np.ndarray:
        """Return the rows of the chunks that hold a stemmed term, ascending (its postings)."""

    def keyword_scores(self, text: str, rows: Sequence[int]) -> np.ndarray:
        """Return the BM25 score of a text against some chunks, in the order given."""

    @property
    def scans_every_sentence(self) -> bool:
        """True when the sentence ranking covers every sentence, not only the other rankings' candidates."""

    def inputs(self, query: str, vector: np.ndarray, candidates: int, mode: str) -> SearchInputs:
        """Return the rankings to fuse for a query and its unit vector."""

    def hit_parts(self, positions: Sequence[int], vector: np.ndarray, found: SearchInputs) -> list[HitParts]:
        """Return the chunk, source and similarities of each kept position, in order."""


class IndexBackend(Protocol):
    """Where index generations live: the manifest of the current one, loading it, building and switching."""

    @property
    def location(self) -> str:
        """Return where the index is, for messages (never a password)."""

    def read_manifest(self) -> dict:
        """Return the current generation's manifest (IndexMissingError when there is none)."""

    def load(self, model: str, chunker: ChunkerConfig) -> ServingIndex:
        """Load the current generation after checking its manifest against the settings."""

    def is_current(self, index: ServingIndex) -> bool:
        """Return False once another generation has been switched in since `index` was loaded."""

    def build(self, articles: Sequence[Article], embedder: Embedder, chunker: ChunkerConfig, *, rebuild: bool = False,
              warnings: Sequence[str] = (), report: Report | None = None, progress: Progress = silent,
              reread: Callable[[], Sequence[Article]] | None = None, allow_shrink: bool = False) -> BuildReport:
        """Bring the index in line with the articles, write a new generation and switch to it; report each phase
        to `progress`. Articles may be stubs (Article.is_stub: unchanged, hashed only), `reread` gives them whole.
        A build that would remove most of the index's articles is refused (CorpusError) unless `allow_shrink`."""

    def close(self) -> None:
        """Release connections."""
