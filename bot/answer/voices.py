"""Who speaks where, across the whole index: each article's voices read once (bounded cache), and every statement
of a person found through the articles that name them, not only through the passages retrieved for a question."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.answer.attribution import Person, Voices, matching_people, read_voices
from embeddings.records import Span
from embeddings.search.interface import ServingIndex
from embeddings.search.retrieval import Retriever
from embeddings.terms import tokenize

# Articles whose voices are kept per process; an article's voices cost about a millisecond to read again.
VOICE_CACHE = 2048
# A person asked about is looked for in at most this many articles that carry their name.
MAX_NAME_ARTICLES = 400


@dataclass(frozen=True)
class Statement:
    """A sentence a person speaks: where it is, and its row among the sentence vectors."""

    source_id: str
    chunk_row: int
    span: Span
    sentence_row: int
    speaker: str


class VoiceReader:
    """Reads articles' voices from one index, and finds people and their statements across it."""

    def __init__(self, index: ServingIndex, retriever: Retriever) -> None:
        self.index = index
        self.retriever = retriever
        self._cache: OrderedDict[str, Voices] = OrderedDict()
        self._lock = threading.Lock()

    def voices(self, source_id: str) -> Voices:
        """Return an article's voices, read from all of its sentences."""
        with self._lock:
            found = self._cache.get(source_id)
            if found is not None:
                self._cache.move_to_end(source_id)
                return found
        article = self.index.articles[source_id]
        sentences = sorted({s for chunk in self.index.chunks_of(source_id) for s in chunk.sentences})
        found = read_voices(article.text, sentences)
        with self._lock:
            self._cache[source_id] = found
            while len(self._cache) > VOICE_CACHE:
                self._cache.popitem(last=False)
        return found

    def articles_naming(self, name: str) -> list[str]:
        """Return the articles whose text holds every word of a name (at most MAX_NAME_ARTICLES)."""
        terms = tokenize(name, keep_stopwords=True)
        if not terms:
            return []
        rows = self.retriever.chunks_with(terms)
        sources = self.index.sources_of_rows(rows)
        return list(dict.fromkeys(sources[r] for r in rows if r in sources))[:MAX_NAME_ARTICLES]

    def people_named(self, name: str) -> list[Person]:
        """Return every person the articles name that an asked name means (a full name exactly; a surname or a
        first name: everyone it fits)."""
        found: dict[str, Person] = {}
        for source_id in self.articles_naming(name):
            for person in matching_people(name, self.voices(source_id).people):
                found.setdefault(person.name, person)
        return list(found.values())

    def statements(self, people: list[str]) -> list[Statement]:
        """Return every sentence the articles attribute to some people, or open with them as its subject."""
        wanted = set(people)
        found: list[Statement] = []
        sources = dict.fromkeys(s for name in people for s in self.articles_naming(name))
        for source_id in sources:
            voices = self.voices(source_id)
            if not wanted & (set(voices.speakers.values()) | set(voices.subjects.values())):
                continue
            for row in self.index.rows_of(source_id):
                chunk = self.index.chunks[row]
                for span, sentence_row in zip(chunk.sentences, self.index.sentence_rows[row], strict=True):
                    who = voices.speaker(span) if voices.speaker(span) in wanted else voices.subject(span)
                    if who in wanted:
                        found.append(Statement(source_id, row, span, int(sentence_row), who))
        # A sentence in two overlapping chunks is one statement.
        return list({(s.source_id, s.span): s for s in found}.values())

    def similarity(self, statements: list[Statement], vector: np.ndarray) -> np.ndarray:
        """Return each statement's cosine to a query vector."""
        if not statements:
            return np.zeros(0, dtype=np.float32)
        rows = np.asarray([s.sentence_row for s in statements], dtype=np.int64)
        return np.asarray(self.index.sentence_vectors[rows] @ vector, dtype=np.float32)
