"""The one settings object, built at the entry point from environment variables and `.env`."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin, get_type_hints

from embeddings.encoders import BACKENDS, DEFAULT_BACKEND
from embeddings.encoders.names import DEFAULT_MODEL
from embeddings.encoders.reader import SHIPPED_READER
from embeddings.errors import ConfigError
from embeddings.ingest.corpus import MAX_ARTICLE_BYTES
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.ingest.readers.common import MAX_FEED_BYTES, MAX_PAGE_BYTES, ReadLimits
from embeddings.records import ChunkerConfig
from embeddings.search.retrieval import MODES, RetrievalConfig
from embeddings.watch.fetch import FetchLimits
from embeddings.watch.watcher import WatchConfig

ENV_FILE = Path(".env")
# A .env holds a few dozen settings; a token or a database URL is under a kilobyte.
MAX_ENV_BYTES = 256 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about newsbot; see the README for each variable."""

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path(".newsbot/index")
    # postgresql://user:password@host:port/database: the shared store (docs/postgres.md) instead of index_dir.
    database_url: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    backend: str = field(default=DEFAULT_BACKEND, metadata={"normalize": str.lower})
    batch_size: int = 32
    chunk_max_chars: int = 480
    chunk_overlap: int = 1
    top_k: int = 5
    retrieval: str = field(default="hybrid", metadata={"normalize": str.lower})
    search_threads: int = 1
    max_question_chars: int = 2000
    max_article_bytes: int = MAX_ARTICLE_BYTES
    max_page_bytes: int = MAX_PAGE_BYTES
    max_feed_bytes: int = MAX_FEED_BYTES
    discord_token: str | None = field(default=None, repr=False, metadata={"env": "DISCORD_TOKEN"})
    guild_id: int | None = None
    channels: tuple[str, ...] = field(default=(), metadata={"normalize": lambda name: name.lstrip("#")})
    cooldown_seconds: float = 5.0
    max_in_flight: int = 4
    feedback_db: Path = Path(".newsbot/feedback.sqlite3")
    # The question log (docs/report.md), in the feedback database: `off` keeps no log; rows older than
    # question_log_days are deleted; users are hashed with question_log_key (HMAC), made beside the database if unset.
    question_log: str = field(default="on", metadata={"normalize": str.lower})
    question_log_days: int = 90
    question_log_key: str | None = field(default=None, repr=False)
    llm_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 5.0
    # One bot process per shard (docs/postgres.md): Discord sends this process the guilds of shard_id only.
    shard_id: int | None = None
    shard_count: int | None = None
    log_level: str = field(default="INFO", metadata={"normalize": str.upper})
    # Sources to watch (docs/watch.md): feed and sitemap URLs, here and/or one a line in watch_file; polled every
    # watch_interval seconds, each request within watch_timeout seconds, watch_max_bytes and watch_max_redirects.
    watch: tuple[str, ...] = ()
    watch_file: Path | None = None
    watch_interval: float = 900.0
    watch_timeout: float = 20.0
    watch_max_bytes: int = 20_000_000
    watch_max_redirects: int = 5
    watch_max_pages: int = 30
    watch_state: Path = Path(".newsbot/watch.sqlite3")
    # The reader's directory (a model, its tokenizer and manifest): the one shipped with newsbot unless set.
    reader: Path = SHIPPED_READER
    # The reader's workers, one single-threaded onnxruntime session each (0: one per core).
    reader_threads: int = 0

    @property
    def chunker(self) -> ChunkerConfig:
        """Return the chunking parameters."""
        return ChunkerConfig(max_chars=self.chunk_max_chars, overlap_sentences=self.chunk_overlap)

    @property
    def read_limits(self) -> ReadLimits:
        """Return the size limits of what is read from the seeds."""
        return ReadLimits(self.max_article_bytes, self.max_page_bytes, self.max_feed_bytes)

    @property
    def question_log_key_file(self) -> Path:
        """Return where the question log's key is kept when NEWSBOT_QUESTION_LOG_KEY is unset: beside the database."""
        return self.feedback_db.with_name(self.feedback_db.name + ".key")

    @property
    def watch_config(self) -> WatchConfig:
        """Return how the watcher polls and fetches."""
        return WatchConfig(self.watch_interval, FetchLimits(self.watch_timeout, self.watch_max_bytes,
                                                            self.watch_max_redirects), self.watch_max_pages)

    @property
    def retrieval_config(self) -> RetrievalConfig:
        """Return the retrieval parameters."""
        return RetrievalConfig(mode=self.retrieval)

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = ENV_FILE) -> Settings:
        """Build settings from `.env` (if present) overlaid by the process environment."""
        values: dict[str, str] = {}
        if env_file is not None and os.path.lexists(env_file):
            values.update(read_env_file(env_file))
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of environment variable names to strings."""
        kwargs: dict[str, object] = {}
        types = get_type_hints(cls)
        for spec in fields(cls):
            name = env_name(spec)
            raw = values.get(name)
            if raw is None or raw.strip() == "":
                continue
            kwargs[spec.name] = _convert(name, types[spec.name], raw.strip(), spec.metadata.get("normalize"))
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError for values that cannot work."""
        if self.retrieval not in MODES:
            raise ConfigError(f"NEWSBOT_RETRIEVAL must be one of {', '.join(MODES)}, not {self.retrieval!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"NEWSBOT_BACKEND must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        minimums = (
            ("NEWSBOT_TOP_K", self.top_k, 1),
            ("NEWSBOT_CHUNK_MAX_CHARS", self.chunk_max_chars, 50),
            ("NEWSBOT_BATCH_SIZE", self.batch_size, 1),
            ("NEWSBOT_MAX_IN_FLIGHT", self.max_in_flight, 1),
            ("NEWSBOT_CHUNK_OVERLAP", self.chunk_overlap, 0),
            ("NEWSBOT_MAX_QUESTION_CHARS", self.max_question_chars, 20),
            ("NEWSBOT_MAX_ARTICLE_BYTES", self.max_article_bytes, 1),
            ("NEWSBOT_MAX_PAGE_BYTES", self.max_page_bytes, 1),
            ("NEWSBOT_MAX_FEED_BYTES", self.max_feed_bytes, 1),
            ("NEWSBOT_SEARCH_THREADS", self.search_threads, 0),
            ("NEWSBOT_QUESTION_LOG_DAYS", self.question_log_days, 1),
            ("NEWSBOT_WATCH_INTERVAL", self.watch_interval, 10),
            ("NEWSBOT_WATCH_TIMEOUT", self.watch_timeout, 1),
            ("NEWSBOT_WATCH_MAX_BYTES", self.watch_max_bytes, 1024),
            ("NEWSBOT_WATCH_MAX_REDIRECTS", self.watch_max_redirects, 0),
            ("NEWSBOT_WATCH_MAX_PAGES", self.watch_max_pages, 1),
            ("NEWSBOT_READER_THREADS", self.reader_threads, 0),
        )
        for name, value, low in minimums:
            if value < low:
                raise ConfigError(f"{name} must be at least {low}, not {value}")
        if self.top_k > 25:
            raise ConfigError(f"NEWSBOT_TOP_K must be at most 25, not {self.top_k}")
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise ConfigError(f"NEWSBOT_LLM_URL must be an http:// or https:// URL, not {self.llm_url!r}")
        if self.llm_timeout <= 0:
            raise ConfigError("NEWSBOT_LLM_TIMEOUT must be positive")
        if self.cooldown_seconds < 0:
            raise ConfigError("NEWSBOT_COOLDOWN_SECONDS must not be negative")
        if (self.shard_id is None) != (self.shard_count is None):
            raise ConfigError("NEWSBOT_SHARD_ID and NEWSBOT_SHARD_COUNT are set together or not at all")
        if self.shard_count is not None and not 0 <= (self.shard_id or 0) < self.shard_count:
            raise ConfigError(f"NEWSBOT_SHARD_ID must be between 0 and NEWSBOT_SHARD_COUNT - 1 "
                              f"({self.shard_count - 1}), not {self.shard_id}")
        if self.database_url is not None and not self.database_url.startswith(("postgresql://", "postgres://")):
            # Never echoed: it may hold a password.
            raise ConfigError("NEWSBOT_DATABASE_URL must be a postgresql:// URL")
        if self.question_log not in ("on", "off"):
            raise ConfigError(f"NEWSBOT_QUESTION_LOG must be on or off, not {self.question_log!r}")
        if self.question_log_key is not None and len(self.question_log_key) < 16:
            # Never echoed: it is a secret.
            raise ConfigError("NEWSBOT_QUESTION_LOG_KEY must be at least 16 characters")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"NEWSBOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")


def read_env_file(env_file: Path) -> dict[str, str]:
    """Read a `.env` file through the safe reader, within MAX_ENV_BYTES: python-dotenv takes ~140 bytes of memory
    per byte of an unterminated quoted value (a 10 MB line took 1.2 GB)."""
    from dotenv import dotenv_values

    raw = read_source_file(env_file, None, MAX_ENV_BYTES, setting="")
    if isinstance(raw, Skipped):
        raise ConfigError(f"{env_file}: {raw.why.replace('limit', 'limit of a settings file')}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{env_file}: not UTF-8 text (byte {exc.start})") from None
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def env_name(spec: Field) -> str:
    """Return the environment variable that sets a field: NEWSBOT_<FIELD> unless the field names its own."""
    return spec.metadata.get("env", f"NEWSBOT_{spec.name.upper()}")


def _convert(env: str, kind: object, raw: str, normalize: Callable[[str], str] | None) -> object:
    """Turn a variable's text into the field's type (Path, int, float, str, a tuple of strings, or None of them)."""
    normalize = normalize or (lambda text: text)
    options = [t for t in get_args(kind) if t is not type(None)] if get_origin(kind) in (Union, UnionType) else [kind]
    base = options[0]
    try:
        if base is Path:
            return Path(raw).expanduser()
        if base is int:
            return int(raw)
        if base is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError("not a finite number")
            return value
        if get_origin(base) is tuple:
            return tuple(normalize(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{env}: cannot read {raw!r} ({exc})") from None
    return normalize(raw)
