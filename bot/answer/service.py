"""The answering service that the CLI and the Discord bot share: the index's lifecycle (load, staleness, reindex,
add), the caches that outlive one question, and look-ups. Answering itself is bot/answer/pipeline.py's."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.answer import pipeline
from bot.answer.abstain import CorpusWords, corpus_words
from bot.answer.conversation import turn
from bot.answer.conversation.condense import Condenser
from bot.answer.conversation.state import Conversation, Preference, Reply
from bot.answer.inputs import Cleaned, clean_question
from bot.answer.model import AnswerModel, load_model
from bot.answer.names import CorpusNames, build_names
from bot.answer.types import TIMELINE_CONFIG, Answer, SourceView
from bot.answer.voices import VoiceReader
from bot.settings import Settings
from embeddings.encoders import Embedder
from embeddings.encoders import make_embedder as build_embedder
from embeddings.encoders.onnx_runtime import ENCODER_DIR
from embeddings.encoders.reader import NoReader, OnnxReader, Reader
from embeddings.errors import CorpusError, IndexMismatchError, NewsbotError, SourceNotFoundError
from embeddings.index.directory import BuildReport
from embeddings.index.manifest import stale_articles
from embeddings.ingest.add import Added, add_files, held
from embeddings.ingest.corpus import SOURCE_ID, CorpusLoad, read_corpus
from embeddings.progress import Progress, Report, silent
from embeddings.records import Hit, SourceInfo
from embeddings.search.backends import open_backend
from embeddings.search.interface import IndexBackend, ServingIndex
from embeddings.search.retrieval import Retriever, limit_search_threads

log = logging.getLogger(__name__)

# Word vectors kept per process for comparing a question's words with the passages' (~1.5 KB each).
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
class Loaded:
    """A loaded index generation with what is read from it once: its retriever, the corpus's words, its voices."""

    index: ServingIndex
    retriever: Retriever
    words: CorpusWords
    voices: VoiceReader


class NewsService:
    """Loads the index, the encoder and the answer model once; answers through the pipeline."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, model: AnswerModel | None = None,
                 *, backend: IndexBackend | None = None, reader: Reader | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        # The reader (NEWSBOT_READER, the one shipped by default) and the answer model: loaded once, when answering
        # first needs them (indexing needs neither); either missing or altered is refused in one line.
        self._reader = reader
        # The index directory, or PostgreSQL when NEWSBOT_DATABASE_URL is set (embeddings/search/backends.py).
        self.backend = backend or open_backend(settings.index_dir, settings.database_url, settings.backend)
        self._model = model
        self._lock = threading.RLock()
        # The loaded index with its retriever, the corpus's words and voices: one consistent snapshot.
        self._loaded: Loaded | None = None
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()
        self._words_lock = threading.Lock()
        self._names_of: tuple[ServingIndex, CorpusNames] | None = None
        # Off by default: a condense-question model at NEWSBOT_LLM_URL, with the rules as the fallback.
        self.condense: turn.Condense | None = (
            Condenser(settings.llm_url, settings.llm_model or "default", settings.llm_timeout)
            if settings.llm_url else None)

    @property
    def model(self) -> AnswerModel:
        """Return the fitted answer model (bot/answer/answer_model.json), read on first use."""
        if self._model is None:
            self._model = load_model()
        return self._model

    @property
    def reader(self) -> Reader:
        """Return the reader, checked against its manifest and loaded on first use."""
        if self._reader is None:
            self._reader = OnnxReader(self.settings.reader, self.settings.reader_threads)
        return self._reader

    @property
    def index(self) -> ServingIndex:
        """Return the loaded index, loading it on first use (and the new one once another process switched it)."""
        return self._snapshot().index

    @property
    def retriever(self) -> Retriever:
        """Return the retriever over the loaded index."""
        return self._snapshot().retriever

    def load(self, check_corpus: bool = True) -> None:
        """Load and check the index, refusing one built from other settings or an older corpus."""
        with self._lock:
            if self._loaded is not None:
                return
            manifest = self.backend.read_manifest()
            if check_corpus and self.settings.seeds_dir.is_dir():
                # Pages whose bytes still match the index are not extracted again: only ids and hashes are compared.
                known = manifest.get("articles") if isinstance(manifest.get("articles"), dict) else None
                stale = stale_articles(manifest, self.read_corpus(known, sources=manifest.get("sources")).articles)
                if stale:
                    raise IndexMismatchError(
                        f"the index is older than the seeds ({len(stale)} articles changed: "
                        f"{', '.join(stale[:3])}{'...' if len(stale) > 3 else ''}): run `newsbot index`"
                    )
            self._loaded = self._open()

    def _open(self) -> Loaded:
        """Load the current index with its retriever, the corpus's words and voices, ready to serve."""
        index = self.backend.load(self.embedder.model_name, self.settings.chunker)
        limit_search_threads(self.settings.search_threads)
        retriever = Retriever(index, self.embedder, self.settings.retrieval_config)
        return Loaded(index, retriever, corpus_words(retriever.vocabulary), VoiceReader(index, retriever))

    def _snapshot(self) -> Loaded:
        """Return one consistent loaded index, even while a reindex swaps it."""
        with self._lock:
            self.load()
            assert self._loaded is not None
            if not self.backend.is_current(self._loaded.index):
                # Another process switched the shared store to a new generation: this question reads that one.
                self._loaded = self._open()
            return self._loaded

    def library(self) -> pipeline.Library:
        """Return what answering reads: the loaded index, and the answer model and reader (loaded on first use)."""
        loaded = self._snapshot()
        return pipeline.Library(loaded.index, loaded.retriever, loaded.words, loaded.voices, self.model, self.reader,
                                self._word_vectors, self.settings.top_k)

    def answering(self, ablation: bool = False) -> pipeline.Answering:
        """Return questions answered against the current snapshot; with `ablation`, without the reader (the answer
        model fit beside the shipped one without it: `newsbot eval --ablation`)."""
        library = self.library()
        if ablation:
            library = replace(library, model=load_model(ablation=True), reader=NoReader())
        return pipeline.Answering(library, self.settings.max_question_chars, self.names)

    def warm_up(self) -> None:
        """Load the index, the model and the corpus's names so that the first question and follow-up are fast."""
        self.load()
        self.retriever.embed_query("warm up")
        self.reader.read("warm up", ["warm up"])
        self.names()

    def clean(self, text: str) -> Cleaned:
        """Return a question or query as retrieval reads it (bot/answer/inputs.py), with the notices that say how."""
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
        return self.answering().ask(question, context, prefer)

    def converse(self, question: str, conversation: Conversation | None = None) -> Reply:
        """Answer one turn of a conversation; the reply holds how it was read and the conversation after it."""
        return turn.take_turn(self.answering(), question, conversation, self.condense)

    def resume(self, turns: Sequence[tuple[str, str]]) -> Conversation:
        """Rebuild a conversation from (question, how it was read) pairs read back from a Discord thread."""
        return turn.resume(self.answering(), turns)

    def timeline(self, topic: str) -> Answer:
        """Return what the articles say on a topic, one statement per point, oldest first."""
        return self.answering().ask(topic, config=TIMELINE_CONFIG)

    def timeline_within(self, topic: str, source_ids: Sequence[str], max_points: int | None = None) -> Answer:
        """Return what some articles only (those just indexed, say) say on a topic, oldest first; declined when
        they say nothing on it, as the pipeline judges any question."""
        config = TIMELINE_CONFIG if max_points is None else replace(TIMELINE_CONFIG, max_points=max_points)
        return self.answering().within(topic, source_ids, config)

    def names(self) -> CorpusNames:
        """Return the names the articles use, and who of them are people (quoted, or given a title), read once per
        loaded index."""
        loaded = self._snapshot()
        index = loaded.index
        with self._lock:
            if self._names_of is None or self._names_of[0] is not index:
                people: set[str] = set()
                for source_id in index.articles:
                    voices = loaded.voices.voices(source_id)
                    people.update(voices.speakers.values())
                    people.update(p.name for p in voices.people if p.roles)
                texts = (a.clean_text for a in index.articles.values())
                self._names_of = (index, build_names(texts, people))
            return self._names_of[1]

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
        index = self.index
        if not SOURCE_ID.fullmatch(source_id) or source_id not in index.articles:
            shown = source_id if len(source_id) <= 60 else source_id[:57] + "..."
            raise SourceNotFoundError(f"no such source: {shown!r} (try `newsbot sources`)")
        article = index.articles[source_id]
        return SourceView(index.source(source_id), article, tuple(index.chunks_of(source_id)))

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

    def read_corpus(self, known: dict[str, str] | None = None, progress: Progress = silent,
                    sources: object = None) -> CorpusLoad:
        """Read the seeds as configured: the same articles for the staleness check and for indexing; with the index's
        `known` hashes and `sources` record, unchanged files are hashed, not parsed again."""
        return read_corpus(self.settings.seeds_dir, self.settings.max_article_bytes, self.settings.read_limits,
                           known, progress, sources if isinstance(sources, dict) else None)

    def add(self, paths: Sequence[Path], report: Report | None = None,
            progress: Progress = silent) -> tuple[Added, BuildReport]:
        """Copy files into the seeds directory and bring the index in line with them, in one step; each file is
        counted by the articles the index then holds from it."""
        added = add_files(self.settings.seeds_dir, paths, self.settings.read_limits)
        if not added.copied and not added.unchanged:
            raise CorpusError("nothing added: " + "; ".join(added.warnings[:3] or ["no files given"]))
        result = self.reindex(report=report, progress=progress)
        # What add reports is what the index holds: an article the build skipped is not counted as added.
        indexed = self.backend.read_manifest().get("articles")
        return held(added, indexed if isinstance(indexed, dict) else {}), result

    def reindex(self, rebuild: bool = False, report: Report | None = None,
                progress: Progress = silent, allow_shrink: bool = False) -> BuildReport:
        """Bring the index in line with the seeds, then swap the new one in; questions meanwhile use the old. A build
        that would remove most of the index's articles is refused unless `allow_shrink`.

        Articles the index already holds unchanged are hashed, not parsed again (the build takes them from the
        index, or reads them again if it cannot).
        """
        known, sources = None, None
        if not rebuild:
            with contextlib.suppress(NewsbotError):
                manifest = self.backend.read_manifest()
                indexed, sources = manifest.get("articles"), manifest.get("sources")
                known = indexed if isinstance(indexed, dict) else None
        corpus = self.read_corpus(known, progress, sources)
        if report is None:
            # A caller with its own reporter (the CLI) prints them from the BuildReport: once, not twice.
            for warning in corpus.warnings:
                log.warning("%s", warning)
        result = self.backend.build(corpus.articles, self.embedder, self.settings.chunker, rebuild=rebuild,
                                    warnings=corpus.warnings, report=report, progress=progress,
                                    reread=lambda: self.read_corpus().articles, allow_shrink=allow_shrink)
        # A process that answers switches to the new generation now; one that only indexed loads nothing.
        if self._loaded is not None and not result.up_to_date:
            opened = self._open()
            with self._lock:
                self._loaded = opened
        return replace(result, cleaning=corpus.cleaning)
