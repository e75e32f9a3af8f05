"""One question's way, in order and once: read -> retrieve -> candidates -> rank -> decide -> compose.

Pure steps over frozen values; what they read (the index, its retriever, the corpus's words and voices, the answer
model, the reader, the encoder's word vectors) comes in as one Library, a consistent snapshot the service hands
over. Ranking is two stages: the answer model's first stage chooses the candidates the reader reads
(embeddings/encoders/reader.py), its second weighs what the reader judged. The CLI,
the Discord cogs, conversations, `newsbot eval` and the answer model's fit all answer through `answer` (or
`prepare` then `conclude`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.answer.abstain import (
    CorpusWords,
    Missing,
    decide,
    missing,
    no_words,
    passage_words,
    synonym_checks,
    unknown_words,
)
from bot.answer.attribution import Voices
from bot.answer.candidates import candidate_quotes
from bot.answer.compose import compose_answer, declined
from bot.answer.conversation.about_answer import CitedSources
from bot.answer.conversation.state import Preference
from bot.answer.features import Asked, predicate_words
from bot.answer.inputs import NO_WORDS, Cleaned, clean_question
from bot.answer.model import AnswerModel
from bot.answer.names import CorpusNames
from bot.answer.questions import Reading, read_question, topic_words
from bot.answer.rank import favour_passages, rank, rerank, to_read
from bot.answer.types import ANSWER_CONFIG, Answer, AnswerConfig, Candidate
from bot.answer.voices import VoiceReader
from embeddings.encoders.reader import Reader
from embeddings.records import Hit
from embeddings.search.interface import ServingIndex
from embeddings.search.retrieval import Retriever
from embeddings.terms import stem, tokenize

# Passages of an asked person's statements (best first) added to the retrieved ones for a "what did X say".
STATEMENT_PASSAGES = 24
# A follow-up's passages are chosen from this many more, so that a cited one just below the cut can come in.
PREFER_EXTRA = 8


@dataclass(frozen=True)
class Library:
    """What answering reads, as one consistent snapshot (a reindex swaps the whole of it)."""

    index: ServingIndex
    retriever: Retriever
    words: CorpusWords
    voices: VoiceReader
    model: AnswerModel
    reader: Reader
    # Single words' vectors from the encoder (the service caches them across questions).
    word_vectors: Callable[[list[str]], np.ndarray]
    # Passages retrieved at least (NEWSBOT_TOP_K).
    top_k: int


@dataclass(frozen=True)
class Retrieved:
    """The passages retrieved for a question, with what its candidates are read from."""

    hits: tuple[Hit, ...]
    # The retrieved passages and, for "what did X say", the passages of X's statements.
    pool: tuple[Hit, ...]
    texts: Mapping[str, str]
    voices: Mapping[str, Voices]
    weights: Mapping[str, float]
    asked: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """A question read, retrieved for, and its candidate quotes with their features: all that ranking, deciding
    and composing need."""

    reading: Reading
    hits: tuple[Hit, ...]
    quotes: tuple[Candidate, ...]
    absent: Missing
    asked: tuple[str, ...]
    prefer: Preference | None
    config: AnswerConfig


def read(question: str, config: AnswerConfig) -> Reading:
    """Read the question: its terms, names, topic, event, speaker and the kind of answer it expects."""
    reading = read_question(question)
    return replace(reading, topic=topic_words(question)) if config.whole_topic else reading


def retrieve(library: Library, reading: Reading, query: str, config: AnswerConfig,
             prefer: Preference | None) -> Retrieved:
    """Retrieve passages for a question (read with its context, if any); for "what did X say", add the passages of
    everything the articles attribute to X."""
    index, retriever, voice_reader = library.index, library.retriever, library.voices
    vector = retriever.embed_query(query)
    k = max(config.passages, library.top_k)
    if prefer is None:
        hits = retriever.search(query, k, query_vector=vector)
    else:
        hits = favour_passages(retriever.search(query, k + PREFER_EXTRA, query_vector=vector), prefer, k)
    asked: tuple[str, ...] = ()
    pool = list(hits)
    if reading.speaker:
        # Everyone the asked name means, and everything they say, across every article that names them.
        asked = tuple(p.name for p in voice_reader.people_named(reading.speaker))
        if asked:
            pool += _statement_hits(index, voice_reader, asked, vector, hits)
    texts = {hit.chunk.source_id: index.articles[hit.chunk.source_id].text for hit in pool}
    voices = {source_id: voice_reader.voices(source_id) for source_id in texts}
    weights = {term: retriever.idf(term) for term in tokenize(query)}
    return Retrieved(tuple(hits), tuple(pool), texts, voices, weights, asked)


def candidates(library: Library, reading: Reading, retrieved: Retrieved,
               config: AnswerConfig) -> tuple[tuple[Candidate, ...], Missing]:
    """The candidate quotes of the retrieved passages, with their features, and what of the question no article
    has (which weighs in the features and decides some declines)."""
    words, hits, weights = library.words, retrieved.hits, retrieved.weights
    unknown = unknown_words(reading, words)
    similarity = _best_similarity(library.word_vectors, synonym_checks(unknown, hits))
    absent = missing(unknown, similarity, config)
    total = sum(weights.get(t, 0.0) for t in reading.terms)
    known = sum(weights.get(t, 0.0) for t in reading.terms if words.has_form(t))
    synonyms = _synonyms(library.word_vectors, predicate_words(reading), passage_words(hits), config)
    asked = Asked(reading, weights, retrieved.asked, len(absent.names), known / total if total else 1.0, synonyms,
                  len(absent.words))
    return tuple(candidate_quotes(asked, retrieved.pool, retrieved.texts, retrieved.voices)), absent


def prepare(library: Library, question: str, context: str | None = None, config: AnswerConfig = ANSWER_CONFIG,
            prefer: Preference | None = None) -> Prepared:
    """Read, retrieve and gather the candidates of a (cleaned) question; `context` (cleaned), an earlier turn,
    is read by retrieval only."""
    reading = read(question, config)
    retrieved = retrieve(library, reading, f"{context} {question}" if context else question, config, prefer)
    quotes, absent = candidates(library, reading, retrieved, config)
    return Prepared(reading, retrieved.hits, quotes, absent, retrieved.asked, prefer, config)


def judge(prepared: Prepared, model: AnswerModel, reader: Reader) -> tuple[Candidate, ...]:
    """Rank the candidates: the first stage over all, the reader over the best of them, the second stage over what
    it read."""
    # A follow-up's preference already weighs here: "what else" leaves out what the reader need not read again.
    first = rank(prepared.quotes, model.score, prepared.prefer)
    # A timeline shows more points than an answer: the reader reads enough for them.
    chosen = to_read(first, prepared.asked, max(model.read_count, 2 * prepared.config.max_points))
    read = reader.read(prepared.reading.text, [c.text for c in chosen]) if chosen else ()
    return rerank(chosen, read, model, prepared.prefer)


def conclude(prepared: Prepared, model: AnswerModel, reader: Reader,
             ranked: tuple[Candidate, ...] | None = None) -> Answer:
    """Rank the candidates with the model and the reader (unless `ranked` holds them already), decide, and compose
    the answer."""
    ranked = judge(prepared, model, reader) if ranked is None else ranked
    decision = decide(prepared.reading, ranked, prepared.absent, model, prepared.asked)
    return compose_answer(prepared.reading.text, decision, prepared.hits, model.point_below, prepared.config)


def answer(library: Library, question: str, context: str | None = None, config: AnswerConfig = ANSWER_CONFIG,
           prefer: Preference | None = None) -> Answer:
    """Answer a (cleaned) question from the articles: the whole way, read to compose."""
    return conclude(prepare(library, question, context, config, prefer), library.model, library.reader)


def retrieve_within(library: Library, reading: Reading, query: str, source_ids: Sequence[str],
                    config: AnswerConfig) -> Retrieved:
    """Retrieve passages from some articles only (those just indexed, those of a period): every passage of theirs
    scored by its vector and BM25, the best `config.passages` kept."""
    index, retriever = library.index, library.retriever
    rows = [row for source_id in dict.fromkeys(source_ids) if source_id in index.articles
            for row in index.rows_of(source_id)]
    vector = retriever.embed_query(query)
    hits: list[Hit] = []
    if rows:
        dense = np.asarray(index.chunk_vectors[rows], dtype=np.float32) @ vector
        lexical = np.asarray(retriever.keyword_scores(query, rows), dtype=np.float32)
        # Dense similarity leads; BM25, scaled to the best passage's, breaks near-ties towards the query's words.
        fused = dense + 0.25 * lexical / max(float(lexical.max()), 1e-9)
        for rank, position in enumerate(np.argsort(-fused, kind="stable")[: config.passages], start=1):
            row = rows[int(position)]
            chunk = index.chunks[row]
            sentence_rows = list(index.sentence_rows[row])
            scores = tuple(float(s) for s in index.sentence_vectors[sentence_rows] @ vector) if sentence_rows else ()
            hits.append(Hit(chunk, float(fused[position]), index.source(chunk.source_id), rank,
                            float(dense[position]), float(lexical[position]), scores))
    texts = {hit.chunk.source_id: index.articles[hit.chunk.source_id].text for hit in hits}
    voices = {source_id: library.voices.voices(source_id) for source_id in texts}
    weights = {term: retriever.idf(term) for term in tokenize(query)}
    return Retrieved(tuple(hits), tuple(hits), texts, voices, weights, ())


def answer_within(library: Library, question: str, source_ids: Sequence[str],
                  config: AnswerConfig = ANSWER_CONFIG) -> Answer:
    """Answer a (cleaned) question from some articles only, by the same reading, ranking and decision as any."""
    reading = read(question, config)
    retrieved = retrieve_within(library, reading, question, source_ids, config)
    quotes, absent = candidates(library, reading, retrieved, config)
    prepared = Prepared(reading, retrieved.hits, quotes, absent, (), None, config)
    return conclude(prepared, library.model, library.reader)


def turned_away(cleaned: Cleaned) -> Answer | None:
    """The answer to a question with no words to look for (None when it has some)."""
    if cleaned.has_words:
        return None
    decision = no_words(NO_WORDS)
    assert decision.decline is not None
    return replace(declined(cleaned.text, (), decision.decline), answer=NO_WORDS, notices=cleaned.notices)


@dataclass(frozen=True)
class Answering:
    """Questions answered against one snapshot: what the CLI, the cogs and a conversation's turns call."""

    library: Library
    max_question_chars: int
    corpus_names: Callable[[], CorpusNames]

    def clean(self, text: str) -> Cleaned:
        """Return a question as retrieval reads it: no invisible characters, mentions or markdown, cut to
        NEWSBOT_MAX_QUESTION_CHARS, with the notices that say so."""
        return clean_question(text, self.max_question_chars)

    def names(self) -> CorpusNames:
        """Return the names the articles use, and who of them are people."""
        return self.corpus_names()

    def ask(self, question: str, context: str | None = None, prefer: Preference | None = None,
            config: AnswerConfig = ANSWER_CONFIG) -> Answer:
        """Answer a question as typed (cleaned here), optionally read with an earlier turn as context."""
        cleaned = self.clean(question)
        away = turned_away(cleaned)
        if away is not None:
            return away
        found = answer(self.library, cleaned.text, self.clean(context).text if context else None, config, prefer)
        return replace(found, notices=cleaned.notices) if cleaned.notices else found

    def within(self, question: str, source_ids: Sequence[str], config: AnswerConfig = ANSWER_CONFIG) -> Answer:
        """Answer a question (cleaned here) from some articles only."""
        cleaned = self.clean(question)
        away = turned_away(cleaned)
        return away if away is not None else answer_within(self.library, cleaned.text, source_ids, config)

    def sentences(self, query: str, k: int, prefer: Preference | None = None) -> list[Candidate]:
        """The ranked candidate sentences of the passages retrieved for a query (for questions about an answer)."""
        prepared = prepare(self.library, self.clean(query).text, None, replace(ANSWER_CONFIG, passages=k), prefer)
        return list(judge(prepared, self.library.model, self.library.reader))

    def cited_sources(self, source_ids: Sequence[str]) -> CitedSources:
        """Return the articles, passages and metadata of some sources, for questions about an answer."""
        index = self.library.index
        ids = [s for s in dict.fromkeys(source_ids) if s in index.articles]
        return CitedSources({s: index.articles[s] for s in ids}, {s: tuple(index.chunks_of(s)) for s in ids},
                       {s: index.source(s) for s in ids})

    def support(self, names: str, text: str) -> float:
        """Return how well the corpus supports a text about some names: the best BM25 score of the text among the
        passages that have every word of the names."""
        retriever = self.library.retriever
        rows = retriever.chunks_with(tokenize(names, keep_stopwords=True))
        if not rows:
            return 0.0
        return float(np.max(retriever.keyword_scores(text, rows)))


def _statement_hits(index: ServingIndex, voice_reader: VoiceReader, people: tuple[str, ...], vector: np.ndarray,
                    hits: Sequence[Hit]) -> list[Hit]:
    """The passages that hold the asked people's statements, best statement first, as extra candidates."""
    statements = voice_reader.statements(list(people))
    if not statements:
        return []
    similarity = voice_reader.similarity(statements, vector)
    best: dict[int, float] = {}
    for statement, score in zip(statements, similarity, strict=True):
        best[statement.chunk_row] = max(best.get(statement.chunk_row, -1.0), float(score))
    seen = {hit.chunk.chunk_id for hit in hits}
    found = []
    for row in sorted(best, key=lambda r: -best[r])[:STATEMENT_PASSAGES]:
        chunk = index.chunks[row]
        if chunk.chunk_id in seen:
            continue
        rows = list(index.sentence_rows[row])
        sentence_scores = tuple(float(s) for s in index.sentence_vectors[rows] @ vector) if rows else ()
        found.append(Hit(chunk, 0.0, index.source(chunk.source_id), 0, float(index.chunk_vectors[row] @ vector),
                         0.0, sentence_scores))
    return found


def _synonyms(word_vectors: Callable[[list[str]], np.ndarray], words: dict[str, str], candidates: tuple[str, ...],
              config: AnswerConfig) -> dict[str, frozenset[str]]:
    """For each question word (by stem), the stems of the passage words the encoder puts close to it."""
    if not words or not candidates:
        return {}
    every = sorted(set(words) | set(candidates))
    vectors = dict(zip(every, word_vectors(every), strict=True))
    matrix = np.stack([vectors[c] for c in candidates])
    found = {}
    for word, term in words.items():
        close = matrix @ vectors[word] >= config.synonym_similarity
        found[term] = frozenset(stem(c) for c, keep in zip(candidates, close, strict=True) if keep)
    return found


def _best_similarity(word_vectors: Callable[[list[str]], np.ndarray],
                     checks: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """For each word, the best cosine of its vector to its candidate words' vectors."""
    if not checks:
        return {}
    words = sorted({w.lower() for w in checks} | {c for candidates in checks.values() for c in candidates})
    vectors = dict(zip(words, word_vectors(words), strict=True))
    return {word: float(max(vectors[word.lower()] @ vectors[c] for c in candidates))
            for word, candidates in checks.items()}
