"""A loaded generation of the PostgreSQL store: articles and chunks read on demand, and hybrid search whose
rankings run in the database (HNSW k-NN over passages and sentences, BM25 over the postings) in one statement."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from psycopg import sql

from embeddings.index.lexical import idf_weight
from embeddings.index.metadata import (
    _INFO_COLUMNS,
    ARTICLE_CACHE,
    CHUNK_CACHE,
    PAGE,
    LazyArticles,
    LazyChunks,
    RecentCache,
    _article_from_row,
    _spans,
    info_from_row,
)
from embeddings.postgres.connection import EF_SEARCH, Database
from embeddings.postgres.schema import ARTICLE_COLUMNS, generation_schema
from embeddings.records import Chunk, SourceInfo
from embeddings.search.interface import HitParts, SearchInputs
from embeddings.terms import tokenize

# What a citation shows, as the directory's metadata.sqlite reads it (a new column there is one here too).
SOURCE_COLUMNS = tuple(name.strip() for name in _INFO_COLUMNS.split(","))
CHUNK_COLUMNS = "row, chunk_id, source_id, start_char, end_char, sentences, text"
KEYWORD_RANKINGS = ("bm25", "ts_rank")
# Postings read per query term before the threshold check: the larger of this and 4 per candidate.
POSTINGS_DEPTH = 256
DEPTH_PER_CANDIDATE = 4


def _q(statement: str, schema: sql.Identifier) -> sql.Composed:
    return sql.SQL(statement).format(
        g=schema, articles=sql.SQL(", ").join(map(sql.Identifier, ARTICLE_COLUMNS)),
        sources=sql.SQL(", ").join(map(sql.Identifier, SOURCE_COLUMNS)),
        hit_sources=sql.SQL(", ").join(sql.Identifier("a", name) for name in SOURCE_COLUMNS))


def _chunk(row: tuple) -> Chunk:
    _, chunk_id, source_id, start, end, sentences, text = row[:7]
    return Chunk(chunk_id, source_id, int(start), int(end), text, _spans(json.loads(sentences)))


class PostgresMetadata:
    """Articles and chunks of one generation, read with bound parameters; recent ones are kept in memory."""

    def __init__(self, db: Database, schema: sql.Identifier, chunk_count: int, article_count: int) -> None:
        self.db = db
        self.schema = schema
        self.chunk_count = chunk_count
        self.article_count = article_count
        self._articles = RecentCache(ARTICLE_CACHE, self._read_article)
        self._chunks = RecentCache(CHUNK_CACHE, self._read_chunk)
        self._sentence_rows = RecentCache(CHUNK_CACHE, self._read_sentence_rows)

    def all(self, statement: str, params: object = (), doing: str = "reading the index") -> list[tuple]:
        """Run one statement of this generation and return its rows."""
        with self.db.session(doing) as connection:
            return connection.cursor(binary=True).execute(_q(statement, self.schema), params).fetchall()

    def article(self, source_id: str):
        """Return one article (KeyError when absent)."""
        return self._articles(source_id)

    def _read_article(self, source_id: str):
        rows = self.all("SELECT {articles} FROM {g}.articles WHERE source_id = %s", (source_id,))
        if not rows:
            raise KeyError(source_id)
        return _article_from_row(rows[0])

    def chunk(self, row: int) -> Chunk:
        """Return the chunk at a row (IndexError when absent)."""
        return self._chunks(row)

    def _read_chunk(self, row: int) -> Chunk:
        rows = self.all(f"SELECT {CHUNK_COLUMNS} FROM {{g}}.chunks WHERE row = %s", (int(row),))
        if not rows:
            raise IndexError(row)
        return _chunk(rows[0])

    def sentence_rows(self, row: int) -> tuple[int, ...]:
        """Return a chunk's rows among the sentence vectors (IndexError when absent)."""
        return self._sentence_rows(int(row))

    def _read_sentence_rows(self, row: int) -> tuple[int, ...]:
        rows = self.all("SELECT sentence_rows FROM {g}.chunks WHERE row = %s", (row,))
        if not rows:
            raise IndexError(row)
        return tuple(int(r) for r in rows[0][0])

    def has_article(self, source_id: str) -> bool:
        """Return whether an article is in the index."""
        return bool(self.all("SELECT 1 FROM {g}.articles WHERE source_id = %s", (source_id,)))

    def iter_chunks(self, start: int = 0, stop: int | None = None) -> Iterator[Chunk]:
        """Yield chunks in row order, a page at a time."""
        stop = self.chunk_count if stop is None else stop
        while start < stop:
            rows = self.all(f"SELECT {CHUNK_COLUMNS} FROM {{g}}.chunks WHERE row >= %s AND row < %s ORDER BY row",
                            (start, min(stop, start + PAGE)))
            if not rows:
                return
            yield from (_chunk(row) for row in rows)
            start = int(rows[-1][0]) + 1

    def iter_article_ids(self) -> Iterator[str]:
        """Yield every article id in order, a page at a time."""
        last = ""
        while rows := self.all("SELECT source_id FROM {g}.articles WHERE source_id > %s ORDER BY source_id "
                               "LIMIT %s", (last, PAGE)):
            yield from (row[0] for row in rows)
            last = rows[-1][0]

    def iter_articles(self):
        """Yield every article in id order, a page at a time, without filling the cache."""
        last = ""
        while rows := self.all("SELECT {articles} FROM {g}.articles WHERE source_id > %s ORDER BY source_id "
                               "LIMIT %s", (last, PAGE // 8)):
            yield from (_article_from_row(row) for row in rows)
            last = rows[-1][0]


class PostgresVectors:
    """One generation's passage or sentence vectors by row, read when indexed (`vectors[rows] @ query`)."""

    def __init__(self, store: PostgresMetadata, table: str, count: int, dimension: int) -> None:
        self._store = store
        self._table = table
        self.shape = (count, dimension)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        single = isinstance(rows, int | np.integer)
        wanted = [int(rows)] if single else [int(r) for r in np.asarray(rows, dtype=np.int64).ravel()]
        found = {int(row): vector.to_numpy() for row, vector in self._store.all(
            f"SELECT row, embedding FROM {{g}}.{self._table} WHERE row = ANY(%s)", (sorted(set(wanted)),))}
        if any(row not in found for row in wanted):
            raise IndexError(f"{self._table} row out of range")
        matrix = np.stack([found[row] for row in wanted]) if wanted else np.zeros((0, self.shape[1]), np.float32)
        return matrix[0] if single else matrix


class PostgresSentenceRows(Sequence[tuple[int, ...]]):
    """Each chunk's rows among the sentence vectors, read when asked for (recent ones kept)."""

    def __init__(self, store: PostgresMetadata) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.chunk_count

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        return self._store.sentence_rows(int(position))


class PostgresIndex:
    """One generation of the store, pinned: every read names its schema, so a later switch never mixes in."""

    def __init__(self, db: Database, generation: int, manifest: dict, keyword: str = "bm25") -> None:
        self.db = db
        self.generation = generation
        self.manifest = manifest
        self.path = f"{db.where} (generation {generation})"
        self.keyword = keyword
        self.schema = generation_schema(generation)
        self.store = PostgresMetadata(db, self.schema, int(manifest.get("chunks", 0)),
                                      len(manifest.get("articles", {})))
        self.articles = LazyArticles(self.store)  # type: ignore[arg-type]
        self.chunks = LazyChunks(self.store)  # type: ignore[arg-type]
        self.sentence_rows = PostgresSentenceRows(self.store)
        dimension = int(manifest.get("dimension", 0))
        self.chunk_vectors = PostgresVectors(self.store, "chunks", self.store.chunk_count, dimension)
        self.sentence_vectors = PostgresVectors(self.store, "sentences", int(manifest.get("sentences", 0)), dimension)
        self._search: PostgresSearch | None = None

    @property
    def model(self) -> str:
        """Return the model the vectors were made with."""
        return str(self.manifest["model"])

    def source(self, source_id: str) -> SourceInfo:
        """Return an article's citation metadata without reading its text."""
        rows = self.store.all("SELECT {sources} FROM {g}.articles WHERE source_id = %s", (source_id,))
        if not rows:
            raise KeyError(source_id)
        return info_from_row(rows[0])

    def sources(self) -> list[SourceInfo]:
        """Return every article's citation metadata, by id."""
        return [info_from_row(row) for row in self.store.all("SELECT {sources} FROM {g}.articles ORDER BY source_id")]

    def date_range(self) -> tuple[str | None, str | None]:
        """Return the first and last article date."""
        first, last = self.store.all("SELECT min(date), max(date) FROM {g}.articles WHERE date <> ''")[0]
        return first, last

    def rows_of(self, source_id: str) -> list[int]:
        """Return the rows of an article's chunks, in order."""
        return [int(r[0]) for r in self.store.all("SELECT row FROM {g}.chunks WHERE source_id = %s ORDER BY row",
                                                  (source_id,))]

    def sources_of_rows(self, rows: Sequence[int]) -> dict[int, str]:
        """Return the article id of each chunk row."""
        found = self.store.all("SELECT row, source_id FROM {g}.chunks WHERE row = ANY(%s)", ([int(r) for r in rows],))
        return {int(row): source_id for row, source_id in found}

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order."""
        rows = self.store.all(f"SELECT {CHUNK_COLUMNS} FROM {{g}}.chunks WHERE source_id = %s ORDER BY row",
                              (source_id,))
        return [_chunk(row) for row in rows]

    def searcher(self, max_sentence_scan: int) -> PostgresSearch:
        """Return the search side of this generation (the vocabulary is read once)."""
        if self._search is None or self._search.max_sentence_scan != max_sentence_scan:
            self._search = PostgresSearch(self, max_sentence_scan)
        return self._search


def _ranking_statement(sentence: str, keyword: str, bounded: bool = True) -> str:
    """Return the one statement that ranks candidates three ways: dense, keyword and best sentence."""
    dense = ("SELECT row AS r, -(embedding <#> %(v)s) AS s FROM {g}.chunks ORDER BY embedding <#> %(v)s "
             "LIMIT %(n)s")
    lexical_score = (f"coalesce(lx.s, (SELECT {_FORWARD.format(row='f')} FROM {{g}}.chunk_terms f "
                     "WHERE f.row = k.r), 0)")
    if keyword == "bm25" and not bounded:
        # Every posting of the query terms summed: exact whatever the lists hold, in time that grows with them.
        parts = ["scored AS (SELECT p.r, sum(p.w) AS s FROM {g}.terms t CROSS JOIN LATERAL unnest(t.rows, t.weights) "
                 "AS p(r, w) WHERE t.id = ANY(%(ids)s) GROUP BY p.r)"]
        complete = "SELECT 3, 1, -1, 0::float8"
    elif keyword == "bm25":
        # BM25's exact top n by the threshold algorithm: the top %(d)s postings of each query term (impact order)
        # are scored in full from the chunks' own weights; no unread chunk can score more than the sum of the
        # weights where each list was cut, so when the n-th score reaches that bound the ranking is exact, and
        # otherwise the caller runs the unbounded statement. Long posting lists are then not summed at all.
        parts = ["qt AS MATERIALIZED (SELECT cardinality(rows) AS len, rows[1:%(d)s] AS top, "
                 "weights[least(%(d)s, cardinality(weights))] AS floor FROM {g}.terms WHERE id = ANY(%(ids)s))",
                 "seen AS (SELECT DISTINCT r FROM qt CROSS JOIN LATERAL unnest(qt.top) AS r)",
                 f"scored AS MATERIALIZED (SELECT f.row AS r, {_FORWARD.format(row='f')} AS s FROM seen "
                 "JOIN {g}.chunk_terms f ON f.row = seen.r)"]
        complete = ("SELECT 3, CASE WHEN NOT EXISTS (SELECT 1 FROM qt WHERE len > %(d)s) OR ("
                    "(SELECT count(*) FROM lexical) = %(n)s AND (SELECT min(s) FROM lexical) >= "
                    "(SELECT sum(floor) FROM qt WHERE len > %(d)s)) THEN 1 ELSE 0 END, -1, 0::float8")
    else:
        # PostgreSQL's own English parsing, any query word matching (plainto_tsquery alone needs them all).
        parts = ["scored AS MATERIALIZED (SELECT c.row AS r, ts_rank(to_tsvector('english', c.text), q.q) AS s "
                 "FROM {g}.chunks c, (SELECT replace(plainto_tsquery('english', %(q)s)::text, ' & ', ' | ')::tsquery "
                 "AS q) q WHERE to_tsvector('english', c.text) @@ q.q)"]
        complete = "SELECT 3, 1, -1, 0::float8"
        lexical_score = "coalesce(sc.s, 0)"
        parts.append("sc AS (SELECT * FROM scored)")
    parts = [f"dense AS ({dense})", *parts,
             "lexical AS (SELECT r, s FROM scored WHERE s > 0 ORDER BY s DESC, r LIMIT %(n)s)"]
    ranked = ["SELECT 0 AS kind, row_number() OVER (ORDER BY s DESC, r) AS n, r, s::float8 AS s FROM dense",
              "SELECT 1, row_number() OVER (ORDER BY s DESC, r), r, s FROM lexical", complete]
    if sentence == "knn":
        parts.append("sentence AS (SELECT c AS r, max(x.s) AS s FROM (SELECT chunks, -(embedding <#> %(v)s) AS s "
                     "FROM {g}.sentences ORDER BY embedding <#> %(v)s LIMIT %(m)s) x "
                     "CROSS JOIN LATERAL unnest(x.chunks) AS c GROUP BY c ORDER BY 2 DESC, 1 LIMIT %(n)s)")
    elif sentence == "rerank":
        # Past the sentence scan the candidates are re-ranked by their best sentence, as the embedded index does.
        parts.append("sentence AS (SELECT u.r, coalesce(max(-(s.embedding <#> %(v)s)), -1) AS s "
                     "FROM (SELECT r FROM dense UNION SELECT r FROM lexical) u JOIN {g}.chunks c ON c.row = u.r "
                     "LEFT JOIN LATERAL unnest(c.sentence_rows) AS sr(row) ON true "
                     "LEFT JOIN {g}.sentences s ON s.row = sr.row GROUP BY u.r)")
    if sentence != "none":
        ranked.append("SELECT 2, row_number() OVER (ORDER BY s DESC, r), r, s FROM sentence")
    return (f"WITH {', '.join(parts)}, ranked AS ({' UNION ALL '.join(ranked)}) "
            f"SELECT k.kind, k.n, k.r, k.s, c.sentence_rows, {lexical_score} FROM ranked k "
            "LEFT JOIN {g}.chunks c ON c.row = k.r LEFT JOIN lexical lx ON lx.r = k.r "
            f"{'LEFT JOIN sc ON sc.r = k.r ' if keyword != 'bm25' else ''}ORDER BY k.kind, k.n")


# A chunk's BM25 score for the query terms, from its own term weights.
_FORWARD = "(SELECT sum(u.w) FROM unnest({row}.term_ids, {row}.weights) AS u(t, w) WHERE u.t = ANY(%(ids)s))"


_PARTS = ("SELECT c.row, c.chunk_id, c.source_id, c.start_char, c.end_char, c.sentences, c.text, c.embedding, "
          "ARRAY(SELECT s.embedding FROM unnest(c.sentence_rows) WITH ORDINALITY AS u(row, i) "
          "JOIN {g}.sentences s ON s.row = u.row ORDER BY u.i), {hit_sources} "
          "FROM {g}.chunks c JOIN {g}.articles a ON a.source_id = c.source_id WHERE c.row = ANY(%(rows)s)")


class PostgresSearch:
    """Hybrid search over one generation: the rankings in one statement, the kept hits' parts in a second."""

    def __init__(self, index: PostgresIndex, max_sentence_scan: int) -> None:
        self.index = index
        self.max_sentence_scan = max_sentence_scan
        rows = index.store.all("SELECT term, id, idf FROM {g}.terms", doing="reading the vocabulary")
        self._vocabulary = {term: int(column) for term, column, _ in rows}
        self._idf = {term: float(idf) for term, _, idf in rows}
        sentences = int(index.manifest.get("sentences", 0))
        self._knn = bool(index.manifest.get("hnsw", {}).get("sentences")) and 0 < sentences <= max_sentence_scan
        self._statements = {(mode, bounded): _ranking_statement(mode, index.keyword, bounded)
                            for mode in ("knn", "rerank", "none") for bounded in (True, False)}
        self.deeper = 0  # searches whose bound failed and summed whole posting lists (a figure for the benchmark)

    @property
    def size(self) -> int:
        """Return the number of chunks."""
        return self.index.store.chunk_count

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Return BM25's stemmed terms."""
        return self._vocabulary

    def idf(self, term: str) -> float:
        """Return a stemmed term's inverse document frequency (a term no passage has gets the highest)."""
        found = self._idf.get(term)
        return idf_weight(0.0, self.size) if found is None else found

    def keyword_scores(self, text: str, rows: Sequence[int]) -> np.ndarray:
        """Return the BM25 score of a text against some chunks, in the order given (from their own weights)."""
        ids = sorted({self._vocabulary[t] for t in tokenize(text) if t in self._vocabulary})
        wanted = [int(r) for r in rows]
        found = {int(row): score for row, score in self.index.store.all(
            f"SELECT f.row, {_FORWARD.format(row='f')} FROM {{g}}.chunk_terms f WHERE f.row = ANY(%(rows)s)",
            {"rows": wanted, "ids": ids}, doing="scoring passages")}
        return np.asarray([found.get(r) or 0.0 for r in wanted], dtype=np.float32)

    def documents_with(self, term: str) -> np.ndarray:
        """Return the rows of the chunks that hold a stemmed term, ascending (its postings)."""
        column = self._vocabulary.get(term)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        rows = self.index.store.all("SELECT rows FROM {g}.terms WHERE id = %s", (column,), doing="reading postings")
        return np.sort(np.asarray(rows[0][0] if rows else [], dtype=np.int64))

    @property
    def scans_every_sentence(self) -> bool:
        """True when the sentence ranking is a k-NN over every sentence, not a re-ranking of candidates."""
        return self._knn

    def inputs(self, query: str, vector: np.ndarray, candidates: int, mode: str) -> SearchInputs:
        """Rank in the database: HNSW over passages, BM25 (or ts_rank) and, for hybrid, the best sentence."""
        sentence = "none" if mode != "hybrid" else "knn" if self._knn else "rerank"
        ids = sorted({self._vocabulary[t] for t in tokenize(query) if t in self._vocabulary})
        params = {"v": np.asarray(vector, dtype=np.float32), "n": candidates, "ids": ids, "q": query,
                  "m": min(4 * candidates, EF_SEARCH), "d": max(DEPTH_PER_CANDIDATE * candidates, POSTINGS_DEPTH)}
        rows = self.index.store.all(self._statements[sentence, True], params, doing="searching")
        if not any(kind == 3 and n for kind, n, *_ in rows):
            # The bound was not reached (many chunks tie at the top of the lists: copies of one text, say).
            # Reading deeper would read on through the ties: sum the whole lists once instead.
            self.deeper += 1
            rows = self.index.store.all(self._statements[sentence, False], params, doing="searching")
        rankings: tuple[dict, dict, list] = ({}, {}, [])
        lexical_scores: dict[int, float] = {}
        sentence_rows: dict[int, tuple[int, ...]] = {}
        for kind, _, position, score, members, lexical in rows:
            if kind == 3:
                continue
            position = int(position)
            if kind == 2:
                rankings[2].append(position)
            else:
                rankings[kind][position] = float(score)
            lexical_scores[position] = float(lexical)
            sentence_rows[position] = tuple(members)
        return SearchInputs(rankings[0], rankings[1], rankings[2], lexical_scores, sentence_rows)

    def hit_parts(self, positions: Sequence[int], vector: np.ndarray, found: SearchInputs) -> list[HitParts]:
        """Read the kept chunks with their sources and vectors; similarities are computed here, as embedded."""
        if not positions:
            return []
        rows = self.index.store.all(_PARTS, {"rows": [int(p) for p in positions]}, doing="reading passages")
        by_row = {int(row[0]): row for row in rows}
        parts = []
        for position in positions:
            row = by_row[int(position)]
            chunk = _chunk(row)
            sentence_vectors = [v.to_numpy() for v in row[8]]
            scores = np.stack(sentence_vectors) @ vector if sentence_vectors else np.zeros(0)
            dense = None if position in found.dense else float(row[7].to_numpy() @ vector)
            parts.append(HitParts(chunk, info_from_row(row[9:]),
                                  tuple(float(s) for s in scores), dense))
        return parts
