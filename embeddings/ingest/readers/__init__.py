"""Readers of what a newsroom has, one module a format: HTML pages (`html`), RSS and Atom feeds (`feeds`), CSV and
JSON Lines exports (`exports`); `common` holds what they share. Each turns one file's bytes into Articles whose
text is the text of record; `embeddings.ingest.corpus.read_corpus` lists the seeds and dispatches by suffix."""
