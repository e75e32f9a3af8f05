"""The files of an index generation (and of each delta segment inside it)."""

from __future__ import annotations

METADATA = "metadata.sqlite"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_ROWS = "sentence_rows.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
BM25_TERMS = "bm25_terms.json"
BM25_DATA = "bm25_data.npy"
BM25_INDICES = "bm25_indices.npy"
BM25_INDPTR = "bm25_indptr.npy"
BM25_IDF = "bm25_idf.npy"
BM25_LENGTHS = "bm25_lengths.npy"
BM25_ARRAYS = {"data": BM25_DATA, "indices": BM25_INDICES, "indptr": BM25_INDPTR, "idf": BM25_IDF,
               "lengths": BM25_LENGTHS}
FAISS_INDEX = "chunks.faiss"
# A segment's files: the base's and every delta's (a delta's chunk vectors join the base's FAISS index at load).
SEGMENT_FILES = (METADATA, CHUNK_VECTORS, SENTENCE_VECTORS, SENTENCE_ROWS, SENTENCE_OFFSETS, BM25_TERMS,
                 *BM25_ARRAYS.values())
DATA_FILES = (*SEGMENT_FILES, FAISS_INDEX)
# Delta segments live in this folder of a generation, one numbered folder each.
DELTAS = "deltas"
