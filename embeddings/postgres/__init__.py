"""The PostgreSQL store: articles, chunks, sentences, vectors and BM25 postings in the database, searched there
with pgvector's HNSW k-NN and keyword ranking; generations switched in one transaction (docs/postgres.md).

psycopg is imported only here (and by the CLI's `newsbot postgres` command)."""

from embeddings.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
