"""The reader's recipe: questions and their answering sentences in, a small cross-encoder out (docs/reader.md)."""
