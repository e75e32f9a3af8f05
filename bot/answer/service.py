"""The answering service that the CLI and the Discord bot share: settings in, answers out."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.answer import converse
from bot.answer.abstain import (
    CorpusWords,
    Unknown,
    corpus_words,
    decide,
    missing,
    passage_words,
    synonym_checks,
    unknown_words,
)
from bot.answer.answer_meta import Sources
from bot.answer.compose import candidates_from_hits, compose_answer
from bot.answer.condense import Condenser
from bot.answer.conversation import Conversation, Preference, Reply
from bot.answer.features import predicate_words
from bot.answer.inputs import NO_WORDS, Cleaned, clean_question
from bot.answer.model import AnswerModel, load_model
from bot.answer.names import CorpusNames, build_names
from bot.answer.questions import Reading, read_question, topic_words
from bot.answer.types import TIMELINE_CONFIG, Answer, AnswerConfig, Candidate, SourceView
from bot.answer.voices import VoiceReader
from bot.settings import Settings
from embeddings.backends import open_backend
from embeddings.corpus import SOURCE_ID, CorpusLoad, read_corpus
from embeddings.encoders import Embedder
from embeddings.encoders import make_embedder as build_embedder
from embeddings.encoders.onnx_runtime import ENCODER_DIR
from embeddings.errors import CorpusError, IndexMismatchError, NewsbotError, SourceNotFoundError
from embeddings.index import BuildReport
from embeddings.lexical import stem, tokenize
from embeddings.manifest import stale_articles
from embeddings.progress import Progress, silent
from embeddings.records import Hit, SourceInfo
from embeddings.retrieval import Retriever, limit_search_threads
from embeddings.seeds import Added, add_files
from embeddings.stores import IndexBackend, ServingIndex

log = logging.getLogger(__name__)

# How many passages feed the answer composer; the user-facing `k` only limits what is shown.
ANSWER_CANDIDATES = 8
TIMELINE_CANDIDATES = 16
# Passages of an asked person's statements (best first) added to the retrieved ones for a "what did X say".
STATEMENT_PASSAGES = 24
# A follow-up's passages are chosen from this many more, so that a cited one just below the cut can come in.
PREFER_EXTRA = 8
# Word vectors kept per process for that comparison (~1.5 KB each).
WORD_CACHE = 20_000


def make_embedder(settings: Settings) -> Embedder:
    """Build the configured embedder; on ONNX backends queries use the index's own export and never load torch."""
    # Without an intact export of the model in the index, one is made once beside it (not `.<name>-*`, which
    # index switches clean up) and builds copy it in; the int8 copy is made beside it too, never in the index.
    beside = settings.index_dir.parent / f".{settings.index_dir.name}"
    return build_embedder(settings.model, settings.backend, settings.batch_size,
                          onnx_dir=settings.index_dir / ENCODER_DIR, export_dir=f"{beside}.encoder",
                          int8_dir=f"{beside}.encoder-int8")


@dataclass(frozen=True)
class Prepared:
    """A question read and retrieved for: the passages, every scored candidate sentence, what the corpus lacks."""

    reading: Reading
    hits: tuple[Hit, ...]
    candidates: tuple[Candidate, ...]
    unknown: Unknown
    similarity: dict[str, float]
    asked: tuple[str, ...]


class NewsService:
    """Loads the index and model once and answers questions, searches and source look-ups."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, model: AnswerModel | None = None,
                 *, fitted: bool = True, backend: IndexBackend | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        # The index directory, or PostgreSQL when NEWSBOT_DATABASE_URL is set (embeddings/backends.py).
        self.backend = backend or open_backend(settings.index_dir, settings.database_url, settings.backend)
        # The fitted answer model (bot/answer/answer_model.json) unless one is given; fitted=False ranks with the
        # hand-set weights, as the model's own fit does.
        self.model = model if model is not None or not fitted else load_model()
        self._lock = threading.RLock()
        self._index: ServingIndex | None = None
        self._retriever: Retriever | None = None
        self._words_of_corpus: CorpusWords | None = None
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()
        self._words_lock = threading.Lock()
        self._voices: VoiceReader | None = None
        self._names_of: tuple[ServingIndex, CorpusNames] | None = None
        # Off by default: a condense-question model at NEWSBOT_LLM_URL, with the rules as the fallback.
        self.condense: converse.Condense | None = (
            Condenser(settings.llm_url, settings.llm_model or "default", settings.llm_timeout)
            if settings.llm_url else None)

    @property
    def index(self) -> ServingIndex:
        """Return the loaded index, loading it on first use (and the new one once another process switched it)."""
        return self._snapshot()[0]

    @property
    def retriever(self) -> Retriever:
        """Return the retriever over the loaded index."""
        return self._snapshot()[1]

    def load(self, check_corpus: bool = True) -> None:
        """Load and check the index, refusing one built from other settings or an older corpus."""
        with self._lock:
            if self._index is not None:
                return
            manifest = self.backend.read_manifest()
            if check_corpus and self.settings.seeds_dir.is_dir():
                # Pages whose bytes still match the index are not extracted again: only ids and hashes are compared.
                known = manifest.get("articles") if isinstance(manifest.get("articles"), dict) else None
                stale = stale_articles(manifest, self.read_corpus(known).articles)
                if stale:
                    raise IndexMismatchError(
                        f"the index is older than the seeds ({len(stale)} articles changed: "
                        f"{', '.join(stale[:3])}{'...' if len(stale) > 3 else ''}): run `newsbot index`"
                    )
            self._index, self._retriever, self._words_of_corpus = self._open()

    def _open(self) -> tuple[ServingIndex, Retriever, CorpusWords]:
        """Load the current index with its retriever and the corpus's words, ready to serve."""
        index = self.backend.load(self.embedder.model_name, self.settings.chunker)
        limit_search_threads(self.settings.search_threads)
        retriever = Retriever(index, self.embedder, self.settings.retrieval_config)
        return index, retriever, corpus_words(retriever.vocabulary)

    def warm_up(self) -> None:
        """Load the index, the model and the corpus's names so that the first question and follow-up are fast."""
        self.load()
        self.retriever.embed_query("warm up")
        self.names()

    def clean(self, text: str) -> Cleaned:
        """Return a question or query as retrieval reads it: no invisible characters, mentions or markdown, cut to
        NEWSBOT_MAX_QUESTION_CHARS, with the notices that say so."""
        return clean_question(text, self.settings.max_question_chars)

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Return the k most relevant passages for a query (none for a query without words)."""
        cleaned = self.clean(query)
        if not cleaned.has_words:
            return []
        return self.retriever.search(cleaned.text, k or self.settings.top_k)

    def ask(self, question: str, context: str | None = None, prefer: Preference | None = None) -> Answer:
        """Answer a question from the articles, optionally read with an earlier question as context, and favouring
        the passages a conversation already cited."""
        return self._compose(question, context, ANSWER_CANDIDATES, None, prefer=prefer)

    def converse(self, question: str, conversation: Conversation | None = None) -> Reply:
        """Answer one turn of a conversation; the reply holds how it was read and the conversation after it."""
        return converse.take_turn(self, question, conversation, self.condense)

    def resume(self, turns: Sequence[tuple[str, str]]) -> Conversation:
        """Rebuild a conversation from (question, how it was read) pairs read back from a Discord thread."""
        return converse.resume(self, turns)

    def timeline(self, topic: str) -> Answer:
        """Return what the articles say on a topic, one statement per point, oldest first."""
        return self._compose(topic, None, TIMELINE_CANDIDATES, TIMELINE_CONFIG, whole_topic=True)

    def _compose(self, question: str, context: str | None, candidates: int, config: AnswerConfig | None,
                 whole_topic: bool = False, prefer: Preference | None = None) -> Answer:
        cleaned = self.clean(question)
        if not cleaned.has_words:
            return Answer(cleaned.text, False, NO_WORDS, notices=cleaned.notices)
        config = replace(config or AnswerConfig(), model=self.model)
        prepared = self.prepare(cleaned.text, context, candidates, config, whole_topic, prefer)
        decision = decide(prepared.reading, prepared.candidates, prepared.unknown, prepared.similarity, config,
                          prepared.asked)
        answer = compose_answer(prepared.reading, decision, prepared.hits, config)
        return replace(answer, notices=cleaned.notices) if cleaned.notices else answer

    def prepare(self, question: str, context: str | None = None, candidates: int = ANSWER_CANDIDATES,
                config: AnswerConfig | None = None, whole_topic: bool = False,
                prefer: Preference | None = None) -> Prepared:
        """Retrieve for a (cleaned) question and score every candidate sentence: all that deciding and composing
        an answer need. The answer model's fit reads the candidates from here too. A conversation's preference
        favours, mildly, what it cited."""
        config = config or AnswerConfig()
        context = self.clean(context).text if context else None
        query = f"{context} {question}" if context else question
        index, retriever, words, voice_reader = self._snapshot()
        vector = retriever.embed_query(query)
        hits = self._hits(retriever, query, max(candidates, self.settings.top_k), prefer, vector)
        reading = read_question(question)
        if whole_topic:
            # A timeline's words are all its topic: each must be in the articles.
            reading = replace(reading, topic=topic_words(question))
        asked: tuple[str, ...] = ()
        pool = list(hits)
        if reading.speaker:
            # Everyone the asked name means, and everything they say, across every article that names them.
            asked = tuple(p.name for p in voice_reader.people_named(reading.speaker))
            if asked:
                pool += self._statement_hits(index, voice_reader, asked, vector, hits)
        texts = {hit.chunk.source_id: index.articles[hit.chunk.source_id].text for hit in pool}
        voices = {source_id: voice_reader.voices(source_id) for source_id in texts}
        weights = {term: retriever.idf(term) for term in tokenize(query)}
        unknown = unknown_words(reading, words)
        similarity = self._best_similarity(synonym_checks(unknown, hits))
        _, names, absent = missing(unknown, similarity, config)
        total = sum(weights.get(t, 0.0) for t in reading.terms)
        known = sum(weights.get(t, 0.0) for t in reading.terms if words.has_form(t))
        synonyms = self._synonyms(predicate_words(reading), passage_words(hits), config)
        sentences = candidates_from_hits(reading, pool, texts, weights, config, voices, asked, len(names),
                                         known / total if total else 1.0, synonyms, len(absent))
        if prefer is not None:
            sentences = prefer.favour(sentences)
        return Prepared(reading, tuple(hits), tuple(sentences), unknown, similarity, asked)

    @staticmethod
    def _hits(retriever: Retriever, query: str, k: int, prefer: Preference | None, vector: np.ndarray) -> list[Hit]:
        """Retrieve k passages; for a follow-up, from a few more, the conversation's cited ones mildly favoured."""
        if prefer is None:
            return retriever.search(query, k, query_vector=vector)
        hits = retriever.search(query, k + PREFER_EXTRA, query_vector=vector)
        ranked = sorted(hits, key=lambda h: -h.score * (1 + prefer.bonus(h.chunk.chunk_id, h.chunk.source_id,
                                                                           h.source.date)))
        return [replace(hit, rank=rank) for rank, hit in enumerate(ranked[:k], start=1)]

    def sentences(self, query: str, k: int, prefer: Preference | None = None) -> list[Candidate]:
        """Return the scored sentences of the passages retrieved for a query (for questions about an answer)."""
        config = replace(AnswerConfig(), model=self.model)
        return list(self.prepare(self.clean(query).text, None, k, config, prefer=prefer).candidates)

    def cited_sources(self, source_ids: Sequence[str]) -> Sources:
        """Return the articles, passages and metadata of some sources, for questions about an answer."""
        index = self.index
        ids = [s for s in dict.fromkeys(source_ids) if s in index.articles]
        return Sources({s: index.articles[s] for s in ids}, {s: tuple(index.chunks_of(s)) for s in ids},
                       {s: index.source(s) for s in ids})

    def support(self, names: str, text: str) -> float:
        """Return how well the corpus supports a text about some names: the best BM25 score of the text among the
        passages that have every word of the names."""
        _, retriever, _, _ = self._snapshot()
        rows = retriever.chunks_with(tokenize(names, keep_stopwords=True))
        if not rows:
            return 0.0
        return float(np.max(retriever.keyword_scores(text, rows)))

    def names(self) -> CorpusNames:
        """Return the names the articles use, and who of them are people (quoted, or given a title), read once per
        loaded index."""
        index, _, _, voice_reader = self._snapshot()
        with self._lock:
            if self._names_of is None or self._names_of[0] is not index:
                people: set[str] = set()
                for source_id in index.articles:
                    voices = voice_reader.voices(source_id)
                    people.update(voices.speakers.values())
                    people.update(p.name for p in voices.people if p.roles)
                texts = (a.clean_text for a in index.articles.values())
                self._names_of = (index, build_names(texts, people))
            return self._names_of[1]

    def _statement_hits(self, index: ServingIndex, voice_reader: VoiceReader, people: tuple[str, ...],
                        vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
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

    def _snapshot(self) -> tuple[ServingIndex, Retriever, CorpusWords, VoiceReader]:
        """Return one consistent (index, retriever, corpus words, voices), even while a reindex swaps them."""
        with self._lock:
            self.load()
            if not self.backend.is_current(self._index):  # type: ignore[arg-type]
                # Another process switched the shared store to a new generation: this question reads that one.
                self._index, self._retriever, self._words_of_corpus = self._open()
            assert self._index is not None and self._retriever is not None and self._words_of_corpus is not None
            if self._voices is None or self._voices.index is not self._index:
                self._voices = VoiceReader(self._index, self._retriever)
            return self._index, self._retriever, self._words_of_corpus, self._voices

    def _synonyms(self, words: dict[str, str], candidates: tuple[str, ...],
                  config: AnswerConfig) -> dict[str, frozenset[str]]:
        """For each question word (by stem), the stems of the passage words the model puts close to it."""
        if not words or not candidates:
            return {}
        every = sorted(set(words) | set(candidates))
        vectors = dict(zip(every, self._word_vectors(every), strict=True))
        matrix = np.stack([vectors[c] for c in candidates])
        found = {}
        for word, term in words.items():
            close = matrix @ vectors[word] >= config.synonym_similarity
            found[term] = frozenset(stem(c) for c, keep in zip(candidates, close, strict=True) if keep)
        return found

    def _best_similarity(self, checks: dict[str, tuple[str, ...]]) -> dict[str, float]:
        """For each word, the best cosine of its vector to its candidate words' vectors."""
        if not checks:
            return {}
        words = sorted({w.lower() for w in checks} | {c for candidates in checks.values() for c in candidates})
        vectors = dict(zip(words, self._word_vectors(words), strict=True))
        return {word: float(max(vectors[word.lower()] @ vectors[c] for c in candidates))
                for word, candidates in checks.items()}

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        """Embed single words, each once per process: the passages' words recur from one question to the next."""
        with self._words_lock:
            known = {w: self._words[w] for w in dict.fromkeys(words) if w in self._words}
            for word in known:
                self._words.move_to_end(word)
        missing = [w for w in dict.fromkeys(words) if w not in known]
        if missing:
            fresh = dict(zip(missing, np.asarray(self.embedder.embed(missing), dtype=np.float32), strict=True))
            known.update(fresh)
            with self._words_lock:
                self._words.update(fresh)
                while len(self._words) > WORD_CACHE:
                    self._words.popitem(last=False)
        return np.stack([known[w] for w in words])

    def sources(self) -> list[SourceInfo]:
        """Return every article, newest first."""
        return sorted(self.index.sources(), key=lambda info: (info.date or "", info.source_id), reverse=True)

    def source(self, source_id: str) -> SourceView:
        """Return one article by id; unknown or malformed ids are simply not found."""
        source_id = source_id.strip()
        if not SOURCE_ID.fullmatch(source_id) or source_id not in self.index.articles:
            shown = source_id if len(source_id) <= 60 else source_id[:57] + "..."
            raise SourceNotFoundError(f"no such source: {shown!r} (try `newsbot sources`)")
        article = self.index.articles[source_id]
        return SourceView(self.index.source(source_id), article, tuple(self.index.chunks_of(source_id)))

    def about(self) -> dict[str, object]:
        """Return what the bot runs on: model, passages and the corpus's date range."""
        index = self.index
        first_date, last_date = index.date_range()
        return {
            "model": index.model,
            "dimension": index.manifest.get("dimension"),
            "articles": len(index.articles),
            "passages": len(index.chunks),
            "retrieval": self.settings.retrieval,
            "first_date": first_date,
            "last_date": last_date,
            "index_built": index.manifest.get("created_at"),
        }

    def read_corpus(self, known: dict[str, str] | None = None, progress: Progress = silent) -> CorpusLoad:
        """Read the seeds as configured: the same articles for the staleness check and for indexing."""
        return read_corpus(self.settings.seeds_dir, self.settings.max_article_bytes, self.settings.read_limits,
                           known, progress)

    def add(self, paths: Sequence[Path], report: Callable[[str], None] | None = None,
            progress: Progress = silent) -> tuple[Added, BuildReport]:
        """Copy files into the seeds directory and bring the index in line with them, in one step."""
        added = add_files(self.settings.seeds_dir, paths, self.settings.read_limits)
        if not added.copied and not added.unchanged:
            raise CorpusError("nothing added: " + "; ".join(added.warnings[:3] or ["no files given"]))
        return added, self.reindex(report=report, progress=progress)

    def reindex(self, rebuild: bool = False, report: Callable[[str], None] | None = None,
                progress: Progress = silent) -> BuildReport:
        """Bring the index in line with the seeds, then swap the new one in; questions meanwhile use the old.

        Articles the index already holds unchanged are hashed, not parsed again (the build takes them from the
        index, or reads them again if it cannot).
        """
        known = None
        if not rebuild:
            with contextlib.suppress(NewsbotError):
                indexed = self.backend.read_manifest().get("articles")
                known = indexed if isinstance(indexed, dict) else None
        corpus = self.read_corpus(known, progress)
        if report is None:
            # A caller with its own reporter (the CLI) prints them from the BuildReport: once, not twice.
            for warning in corpus.warnings:
                log.warning("%s", warning)
        result = self.backend.build(corpus.articles, self.embedder, self.settings.chunker, rebuild=rebuild,
                                    warnings=corpus.warnings, report=report, progress=progress,
                                    reread=lambda: self.read_corpus().articles)
        if not result.up_to_date or self._index is None:
            opened = self._open()
            with self._lock:
                self._index, self._retriever, self._words_of_corpus = opened
        return result
