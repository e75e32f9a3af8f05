"""The index: manifest and generations, articles' metadata, BM25, FAISS, sentence and passage vectors, deltas."""
