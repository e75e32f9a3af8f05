"""The store's tables, and writing one generation: a schema of its own, filled, indexed and switched to in one
transaction, so that readers see the old generation or the new one and a failed build leaves nothing behind.

    newsbot.generations (id, manifest jsonb, created_at)   every switched-in generation's manifest
    newsbot.current (generation)                            the one readers load
    newsbot_g<id>.articles    as in metadata.sqlite (embeddings/index/metadata.py's article rows)
    newsbot_g<id>.chunks      row, ids, offsets, sentence spans, text, sentence rows, passage vector (HNSW)
    newsbot_g<id>.sentences   row, content hash and span (for reuse), chunks holding it, vector (HNSW)
    newsbot_g<id>.terms       BM25 postings: a term's id, idf, chunk rows and weights, highest weight first
    newsbot_g<id>.chunk_terms the same weights by chunk: its term ids and weights (an exact score for any chunk)
"""

from __future__ import annotations

import array
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import psycopg
from psycopg import sql

from embeddings.index.lexical import BM25Builder
from embeddings.index.manifest import FORMAT_VERSION, chunker_fields, corpus_digest, source_files
from embeddings.index.metadata import _ARTICLE_COLUMNS, _article_row
from embeddings.records import Article, Chunk, ChunkerConfig
from embeddings.search.retrieval import RetrievalConfig

log = logging.getLogger(__name__)

CONTROL = "newsbot"
# Bump when the tables change: a store of another version is rebuilt by `newsbot index --rebuild`.
STORE_VERSION = 1
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# As the embedded index: past this many sentences hybrid search re-ranks candidates by their best sentence
# instead of ranking every sentence, and the sentences then need no HNSW graph of their own.
SENTENCE_KNN_MAX = RetrievalConfig().max_sentence_scan
# pg_advisory_lock key of index builds ('newsbot' in ASCII): one build at a time per database.
BUILD_LOCK = 0x6E657773626F74
DROP_LOCK_TIMEOUT_MS = 2000
ARTICLE_COLUMNS = tuple(name.strip() for name in _ARTICLE_COLUMNS.split(","))

Say = Callable[[str], None]


def generation_schema(generation: int) -> sql.Identifier:
    """Return the schema that holds one generation's tables."""
    return sql.Identifier(f"{CONTROL}_g{int(generation)}")


def ensure_control(connection: psycopg.Connection) -> None:
    """Create pgvector and the control tables when missing (under the build lock: builds never race here)."""
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {CONTROL}")
    connection.execute(f"CREATE TABLE IF NOT EXISTS {CONTROL}.generations (id bigserial PRIMARY KEY, "
                       "manifest jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
    connection.execute(f"CREATE TABLE IF NOT EXISTS {CONTROL}.current (singleton boolean PRIMARY KEY DEFAULT true "
                       "CHECK (singleton), generation bigint NOT NULL)")


def _tables(dimension: int) -> list[str]:
    """Return the CREATE TABLE statements of one generation ({g} is its schema)."""
    vector = f"vector({dimension})" if dimension else "vector"
    articles = ", ".join(f"{name} text{' PRIMARY KEY' if name == 'source_id' else ''}" for name in ARTICLE_COLUMNS)
    return [
        f"CREATE TABLE {{g}}.articles ({articles})",
        "CREATE TABLE {g}.chunks (row integer PRIMARY KEY, chunk_id text NOT NULL, source_id text NOT NULL, "
        "start_char integer NOT NULL, end_char integer NOT NULL, sentences text NOT NULL, "
        f"sentence_rows integer[] NOT NULL, text text NOT NULL, embedding {vector} NOT NULL)",
        "CREATE TABLE {g}.sentences (row integer PRIMARY KEY, content_hash text NOT NULL, start_char integer NOT NULL, "
        f"end_char integer NOT NULL, chunks integer[] NOT NULL, embedding {vector} NOT NULL)",
        "CREATE TABLE {g}.terms (term text PRIMARY KEY, id integer NOT NULL, idf real NOT NULL, "
        "rows integer[] NOT NULL, weights real[] NOT NULL)",
        "CREATE TABLE {g}.chunk_terms (row integer PRIMARY KEY, term_ids integer[] NOT NULL, weights real[] NOT NULL)",
    ]


def _hnsw(table: str) -> str:
    return (f"CREATE INDEX ON {{g}}.{table} USING hnsw (embedding vector_ip_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")


def _execute(connection: psycopg.Connection, statement: str, schema: sql.Identifier, params: tuple = ()) -> None:
    connection.execute(sql.SQL(statement).format(g=schema), params)


def write_generation(
    connection: psycopg.Connection,
    articles: Sequence[Article],
    chunks: Iterable[Chunk],
    sentence_rows: Iterable[Sequence[int]],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    *,
    model: str,
    chunker: ChunkerConfig,
    say: Say,
) -> int:
    """Write a generation from precomputed vectors (row i of chunk_vectors is chunk i), switch to it, drop the ones
    before the previous; all in one transaction. Returns the new generation's id."""
    dimension = int(chunk_vectors.shape[1]) if chunk_vectors.ndim == 2 else 0
    by_id = {a.source_id: a for a in articles}
    started = time.perf_counter()
    with connection.transaction():
        generation = int(connection.execute(f"INSERT INTO {CONTROL}.generations (manifest) VALUES ('{{}}') "
                                            "RETURNING id").fetchone()[0])
        schema = generation_schema(generation)
        _execute(connection, "CREATE SCHEMA {g}", schema)
        for statement in _tables(dimension):
            _execute(connection, statement, schema)
        for table in ("chunks", "sentences"):
            # Kept in the row, not TOASTed: a k-NN or re-ranking step then reads one page, not two, per vector.
            _execute(connection, f"ALTER TABLE {{g}}.{table} ALTER COLUMN embedding SET STORAGE MAIN", schema)
        with connection.cursor().copy(sql.SQL("COPY {g}.articles ({c}) FROM STDIN (FORMAT BINARY)").format(
                g=schema, c=sql.SQL(", ").join(map(sql.Identifier, ARTICLE_COLUMNS)))) as copy:
            copy.set_types(["text"] * len(ARTICLE_COLUMNS))
            for article in articles:
                copy.write_row(_article_row(article))
        lexical = BM25Builder()
        keys: list[tuple[str, int, int]] = []
        holders: dict[int, array.array] = {}
        count = 0
        with connection.cursor().copy(sql.SQL("COPY {g}.chunks (row, chunk_id, source_id, start_char, end_char, "
                                              "sentences, sentence_rows, text, embedding) FROM STDIN "
                                              "(FORMAT BINARY)").format(g=schema)) as copy:
            copy.set_types(["int4", "text", "text", "int4", "int4", "text", "int4[]", "text", "vector"])
            for row, (chunk, rows) in enumerate(zip(chunks, sentence_rows, strict=True)):
                if row >= len(chunk_vectors):
                    raise ValueError(f"more chunks than the {len(chunk_vectors)} chunk vectors")
                lexical.add(chunk.text)
                content = by_id[chunk.source_id].content_hash
                rows = [int(r) for r in rows]
                for (start, end), sentence in zip(chunk.sentences, rows, strict=True):
                    if sentence not in holders:
                        while len(keys) <= sentence:
                            keys.append(("", 0, 0))
                        keys[sentence] = (content, start, end)
                        holders[sentence] = array.array("i")
                    holders[sentence].append(row)
                copy.write_row([row, chunk.chunk_id, chunk.source_id, chunk.start, chunk.end,
                                json.dumps(chunk.sentences), rows, chunk.text, chunk_vectors[row]])
                count = row + 1
        if count != len(chunk_vectors):
            raise ValueError(f"{count} chunks but {len(chunk_vectors)} chunk vectors")
        with connection.cursor().copy(sql.SQL("COPY {g}.sentences (row, content_hash, start_char, end_char, chunks, "
                                              "embedding) FROM STDIN (FORMAT BINARY)").format(g=schema)) as copy:
            copy.set_types(["int4", "text", "int4", "int4", "int4[]", "vector"])
            for row in range(len(sentence_vectors)):
                content, start, end = keys[row] if row < len(keys) else ("", 0, 0)
                copy.write_row([row, content, start, end, holders.get(row, array.array("i")).tolist(),
                                sentence_vectors[row]])
        postings = lexical.finish()
        bounds = postings.indptr.tolist()
        with connection.cursor().copy(sql.SQL("COPY {g}.terms (term, id, idf, rows, weights) FROM STDIN "
                                              "(FORMAT BINARY)").format(g=schema)) as copy:
            copy.set_types(["text", "int4", "float4", "int4[]", "float4[]"])
            for column, term in enumerate(postings.terms):
                start, end = bounds[column], bounds[column + 1]
                rows, weights = postings.indices[start:end], postings.data[start:end]
                # Impact order (highest weight first, then row): a query reads only the top of each list.
                order = np.lexsort((rows, -weights))
                copy.write_row([term, column, float(postings.idf[column]), rows[order].tolist(),
                                weights[order].tolist()])
        _copy_chunk_terms(connection, schema, postings)
        say(f"wrote {count} passages and {len(sentence_vectors)} sentences in "
            f"{time.perf_counter() - started:.1f} s; building the HNSW graphs")
        sentence_knn = 0 < len(sentence_vectors) <= SENTENCE_KNN_MAX
        # Indexes after the rows: one bulk build each instead of an insert per row; the graph kept in memory.
        connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
        _execute(connection, "CREATE INDEX ON {g}.chunks (source_id, row)", schema)
        if dimension:
            _execute(connection, _hnsw("chunks"), schema)
            if sentence_knn:
                _execute(connection, _hnsw("sentences"), schema)
        for table in ("articles", "chunks", "sentences", "terms", "chunk_terms"):
            _execute(connection, f"ANALYZE {{g}}.{table}", schema)
        manifest = {
            "format_version": FORMAT_VERSION,
            "store": "postgresql",
            "store_version": STORE_VERSION,
            "model": model,
            "dimension": dimension,
            "chunker": chunker_fields(chunker),
            "hnsw": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "sentences": sentence_knn},
            "encoder": None,
            "chunks": count,
            "sentences": len(sentence_vectors),
            "corpus_hash": corpus_digest(articles),
            "articles": {a.source_id: a.content_hash for a in articles},
            "sources": source_files(articles),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        connection.execute(f"UPDATE {CONTROL}.generations SET manifest = %s WHERE id = %s",
                           (json.dumps(manifest), generation))
        _switch(connection, generation)
    say(f"switched to generation {generation} in {time.perf_counter() - started:.1f} s")
    return generation


def _copy_chunk_terms(connection: psycopg.Connection, schema: sql.Identifier, postings) -> None:
    """Write the BM25 weights again by chunk (the postings transposed), for exact scores of given chunks."""
    columns = np.repeat(np.arange(len(postings.terms), dtype=np.int32), np.diff(postings.indptr))
    order = np.argsort(postings.indices, kind="stable")
    rows, columns, weights = postings.indices[order], columns[order], postings.data[order]
    bounds = np.searchsorted(rows, np.arange(len(postings.lengths) + 1)).tolist()
    with connection.cursor().copy(sql.SQL("COPY {g}.chunk_terms (row, term_ids, weights) FROM STDIN "
                                          "(FORMAT BINARY)").format(g=schema)) as copy:
        copy.set_types(["int4", "int4[]", "float4[]"])
        for row in range(len(postings.lengths)):
            start, end = bounds[row], bounds[row + 1]
            copy.write_row([row, columns[start:end].tolist(), weights[start:end].tolist()])


def _switch(connection: psycopg.Connection, generation: int) -> None:
    """Point readers at the new generation and drop those before the previous one (in the caller's transaction)."""
    found = connection.execute(f"SELECT generation FROM {CONTROL}.current FOR UPDATE").fetchone()
    previous = int(found[0]) if found else None
    connection.execute(f"INSERT INTO {CONTROL}.current (singleton, generation) VALUES (true, %s) "
                       "ON CONFLICT (singleton) DO UPDATE SET generation = EXCLUDED.generation", (generation,))
    keep = [generation] + ([previous] if previous is not None else [])
    old = [int(r[0]) for r in connection.execute(f"SELECT id FROM {CONTROL}.generations WHERE NOT (id = ANY(%s))",
                                                 (keep,)).fetchall()]
    # Readers of the previous generation finish their questions on it; older ones are dropped unless a reader
    # still holds them, in which case the next build tries again.
    connection.execute(f"SET LOCAL lock_timeout = {DROP_LOCK_TIMEOUT_MS}")
    for stale in old:
        try:
            with connection.transaction():
                _execute(connection, "DROP SCHEMA IF EXISTS {g} CASCADE", generation_schema(stale))
                connection.execute(f"DELETE FROM {CONTROL}.generations WHERE id = %s", (stale,))
        except psycopg.errors.LockNotAvailable:
            log.info("generation %d is still being read: it is dropped by the next build", stale)
    connection.execute("SET LOCAL lock_timeout = 0")
