"""An index generation's metadata in SQLite, read on demand: articles and chunks are never all in memory."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from pathlib import Path

import numpy as np

from embeddings.records import Article, Chunk, SourceInfo, Span, history

ARTICLE_CACHE = 256
CHUNK_CACHE = 4096
PAGE = 2048
WRITE_BATCH = 10_000
# Rows bound as parameters of one query (SQLite's limit is 999 in old builds).
BOUND_ROWS = 500

_SCHEMA = """
CREATE TABLE articles (
    source_id TEXT PRIMARY KEY, title TEXT, date TEXT, outlet TEXT, content_hash TEXT NOT NULL,
    text TEXT NOT NULL, body TEXT NOT NULL, segments TEXT NOT NULL, noise TEXT NOT NULL, provenance TEXT NOT NULL,
    url TEXT, author TEXT
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, source_id TEXT NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, sentences TEXT NOT NULL
);
"""
_ARTICLE_COLUMNS = "source_id, title, date, outlet, content_hash, text, body, segments, noise, provenance, url, author"
# The last column, provenance, is read for what happened to the article (updated, copies): info_from_row.
_INFO_COLUMNS = "source_id, title, date, outlet, url, author, provenance"
_CHUNK_COLUMNS = "row, chunk_id, source_id, start_char, end_char, sentences"
# A hit's chunk, its article's text (sliced here, not in SQL) and the article's _INFO_COLUMNS, in one join.
_CITED_COLUMNS = ("c.row, c.chunk_id, c.source_id, c.start_char, c.end_char, c.sentences, a.text, "
                  "a.source_id, a.title, a.date, a.outlet, a.url, a.author, a.provenance")


def write_metadata(path: Path, articles: Iterable[Article], chunks: Iterable[Chunk]) -> int:
    """Write articles and chunks (row = position in `chunks` = FAISS row) to a new SQLite file; return the chunks."""
    connection = sqlite3.connect(path)
    try:
        # A generation is fsynced and switched in only once complete: no journal is needed while writing it.
        connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        connection.executemany(f"INSERT INTO articles ({_ARTICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                               (_article_row(a) for a in articles))
        count = 0
        batch: list[tuple] = []
        for row, chunk in enumerate(chunks):
            batch.append((row, chunk.chunk_id, chunk.source_id, chunk.start, chunk.end, json.dumps(chunk.sentences)))
            if len(batch) == WRITE_BATCH:
                connection.executemany(f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?)", batch)
                count += len(batch)
                batch = []
        connection.executemany(f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?)", batch)
        count += len(batch)
        # Built after the rows are in: one sort instead of a b-tree insert per chunk.
        connection.execute("CREATE INDEX chunks_by_source ON chunks (source_id, row)")
        connection.commit()
    finally:
        connection.close()
    return count


def _article_row(article: Article) -> tuple:
    return (article.source_id, article.title, article.date, article.outlet, article.content_hash, article.text,
            json.dumps(article.body), json.dumps(article.segments), json.dumps(article.noise),
            json.dumps(article.provenance), article.url, article.author)


def info_from_row(row: Sequence) -> SourceInfo:
    """Return citation metadata from a row of the _INFO_COLUMNS."""
    *values, provenance = row
    pairs = tuple((k, v) for k, v in json.loads(provenance or "[]"))
    return SourceInfo(*values, *history(pairs))


def _spans(rows: list) -> tuple[Span, ...]:
    return tuple((int(a), int(b)) for a, b in rows)


def _article_from_row(row: tuple) -> Article:
    source_id, title, date, outlet, content_hash, text, body, segments, noise, provenance, url, author = row
    return Article(
        source_id=source_id, text=text, title=title, date=date, outlet=outlet, body=_spans(json.loads(body)),
        segments=_spans(json.loads(segments)),
        noise=tuple((kind, (int(a), int(b))) for kind, (a, b) in json.loads(noise)),
        provenance=tuple((k, v) for k, v in json.loads(provenance)), content_hash=content_hash, url=url,
        author=author,
    )


class RecentCache:
    """A read function's `size` most recent results, shared between threads (a miss reads outside the lock)."""

    def __init__(self, size: int, read: Callable[[object], object]) -> None:
        self.size = size
        self.read = read
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, key: object):
        """Return the value for key, reading and keeping it when absent."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        return self.keep(key, self.read(key))

    def keep(self, key: object, value: object):
        """Keep a value read elsewhere as the most recent (the one already kept wins: equal values stay one object)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            self._values[key] = value
            if len(self._values) > self.size:
                self._values.popitem(last=False)
        return value


class MetadataStore:
    """Read-only queries over one generation's metadata.sqlite, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # immutable: a generation never changes once switched in, so SQLite needs no locks or change checks.
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._articles = RecentCache(ARTICLE_CACHE, self._read_article)
        self._chunks = RecentCache(CHUNK_CACHE, self._read_chunk)
        self.chunk_count = int(self._one("SELECT COALESCE(MAX(row) + 1, 0) FROM chunks")[0])
        self.article_count = int(self._one("SELECT COUNT(*) FROM articles")[0])

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def _all(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def _one(self, sql: str, parameters: tuple = ()) -> tuple | None:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchone()

    def article(self, source_id: str) -> Article:
        """Return one article (KeyError when absent); recent ones are kept in memory."""
        return self._articles(source_id)

    def chunk(self, row: int) -> Chunk:
        """Return the chunk at a FAISS row (IndexError when absent); recent ones are kept in memory."""
        return self._chunks(row)

    def _read_article(self, source_id: str) -> Article:
        row = self._one(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE source_id = ?", (source_id,))
        if row is None:
            raise KeyError(source_id)
        return _article_from_row(row)

    def _read_chunk(self, row: int) -> Chunk:
        found = self._one(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row = ?", (row,))
        if found is None:
            raise IndexError(row)
        return self._chunk_from_row(found)

    def _chunk_from_row(self, row: tuple) -> Chunk:
        _, chunk_id, source_id, start, end, sentences = row
        text = self.article(source_id).text[start:end]
        return Chunk(chunk_id, source_id, start, end, text, _spans(json.loads(sentences)))

    def cited_chunks(self, rows: Sequence[int]) -> list[tuple[Chunk, SourceInfo]]:
        """Return chunks with their articles' citation metadata, in the order given (IndexError for a missing row).

        One query for all of a search's hits: reading a chunk alone costs its article whole (the text sliced, the
        spans' JSON parsed) and the citation another query, about 0.1 ms a hit at 1M chunks."""
        wanted = [int(row) for row in rows]
        distinct = sorted(set(wanted))
        found: dict[int, tuple] = {}
        for offset in range(0, len(distinct), BOUND_ROWS):
            page = distinct[offset : offset + BOUND_ROWS]
            found.update((int(row[0]), row) for row in self._all(
                f"SELECT {_CITED_COLUMNS} FROM chunks c JOIN articles a ON a.source_id = c.source_id "
                f"WHERE c.row IN ({','.join('?' * len(page))})", tuple(page)))
        cited = []
        for row in wanted:
            if row not in found:
                raise IndexError(row)
            _, chunk_id, source_id, start, end, sentences, text, *info = found[row]
            chunk = Chunk(chunk_id, source_id, start, end, text[start:end], _spans(json.loads(sentences)))
            cited.append((self._chunks.keep(row, chunk), info_from_row(info)))
        return cited

    def has_article(self, source_id: str) -> bool:
        """Return whether an article is in the index."""
        return self._one("SELECT 1 FROM articles WHERE source_id = ?", (source_id,)) is not None

    def source_info(self, source_id: str) -> SourceInfo:
        """Return an article's citation metadata without reading its text."""
        row = self._one(f"SELECT {_INFO_COLUMNS} FROM articles WHERE source_id = ?", (source_id,))
        if row is None:
            raise KeyError(source_id)
        return info_from_row(row)

    def sources(self) -> list[SourceInfo]:
        """Return every article's citation metadata, by id."""
        return [info_from_row(row) for row in self._all(f"SELECT {_INFO_COLUMNS} FROM articles ORDER BY source_id")]

    def date_range(self) -> tuple[str | None, str | None]:
        """Return the first and last article date."""
        first, last = self._one("SELECT MIN(date), MAX(date) FROM articles WHERE date IS NOT NULL AND date != ''")
        return first, last

    def rows_of(self, source_id: str) -> list[int]:
        """Return the rows of an article's chunks in order (an index lookup)."""
        return [int(r[0]) for r in self._all("SELECT row FROM chunks WHERE source_id = ? ORDER BY row", (source_id,))]

    def sources_of_rows(self, rows: Sequence[int]) -> dict[int, str]:
        """Return the article id of each chunk row, in pages of bound parameters."""
        found: dict[int, str] = {}
        rows = [int(r) for r in rows]
        for offset in range(0, len(rows), BOUND_ROWS):
            page = rows[offset : offset + BOUND_ROWS]
            marks = ",".join("?" * len(page))
            found.update((int(r), s) for r, s in self._all(f"SELECT row, source_id FROM chunks WHERE row IN ({marks})",
                                                          tuple(page)))
        return found

    def chunks_of(self, source_id: str) -> list[Chunk]:
        """Return an article's chunks in order (an index lookup, not a scan)."""
        rows = self._all(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE source_id = ? ORDER BY row", (source_id,))
        return [self._chunk_from_row(row) for row in rows]

    def iter_chunks(self, start: int = 0, stop: int | None = None) -> Iterator[Chunk]:
        """Yield chunks in row order, a page at a time (the lock is not held between pages)."""
        stop = self.chunk_count if stop is None else stop
        while start < stop:
            rows = self._all(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                             (start, min(stop, start + PAGE)))
            if not rows:
                return
            for row in rows:
                yield self._chunk_from_row(row)
            start = rows[-1][0] + 1

    def iter_article_ids(self) -> Iterator[str]:
        """Yield every article id in order, a page at a time."""
        last = ""
        while True:
            rows = self._all("SELECT source_id FROM articles WHERE source_id > ? ORDER BY source_id LIMIT ?",
                             (last, PAGE))
            if not rows:
                return
            yield from (row[0] for row in rows)
            last = rows[-1][0]

    def iter_articles(self) -> Iterator[Article]:
        """Yield every article in id order, a page at a time, without filling the cache."""
        last = ""
        while True:
            rows = self._all(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE source_id > ? ORDER BY source_id "
                             "LIMIT ?", (last, PAGE // 8))
            if not rows:
                return
            yield from (_article_from_row(row) for row in rows)
            last = rows[-1][0]


class LazyChunks(Sequence[Chunk]):
    """The index's chunks by FAISS row, read from SQLite when asked for."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.chunk_count

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            start, stop, step = position.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return list(self._store.iter_chunks(start, stop))
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"chunk row {position} out of range")
        return self._store.chunk(position)

    def __iter__(self) -> Iterator[Chunk]:
        return self._store.iter_chunks()

    def __repr__(self) -> str:
        return f"LazyChunks({len(self)} chunks)"


class LazyArticles(Mapping[str, Article]):
    """The index's articles by id, read from SQLite when asked for; iteration is in id order."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def __getitem__(self, source_id: str) -> Article:
        if not isinstance(source_id, str):
            raise KeyError(source_id)
        return self._store.article(source_id)

    def __contains__(self, source_id: object) -> bool:
        return isinstance(source_id, str) and self._store.has_article(source_id)

    def __len__(self) -> int:
        return self._store.article_count

    def __iter__(self) -> Iterator[str]:
        return self._store.iter_article_ids()

    def values(self) -> ValuesView[Article]:
        """Return the articles, streamed in id order."""
        return _StreamedValues(self)

    def items(self) -> ItemsView[str, Article]:
        """Return (id, article) pairs, streamed in id order."""
        return _StreamedItems(self)

    def __repr__(self) -> str:
        return f"LazyArticles({len(self)} articles)"


class _StreamedValues(ValuesView[Article]):
    def __iter__(self) -> Iterator[Article]:
        return self._mapping._store.iter_articles()  # type: ignore[attr-defined]


class _StreamedItems(ItemsView[str, Article]):
    def __iter__(self) -> Iterator[tuple[str, Article]]:
        return ((a.source_id, a) for a in self._mapping._store.iter_articles())  # type: ignore[attr-defined]


class SentenceRows(Sequence[tuple[int, ...]]):
    """Each chunk's rows in the sentence vectors, as flat rows plus per-chunk offsets (memory-mapped arrays)."""

    def __init__(self, rows: np.ndarray, offsets: np.ndarray) -> None:
        self.rows = rows
        self.offsets = offsets

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> SentenceRows:
        """Pack a list of per-chunk rows."""
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=offsets[1:])
        flat = np.fromiter((r for chunk in rows for r in chunk), dtype=np.int64, count=int(offsets[-1]))
        return cls(flat, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"chunk row {position} out of range")
        return tuple(self.rows[int(self.offsets[position]) : int(self.offsets[position + 1])].tolist())

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        offsets = self.offsets
        for start in range(0, len(self), PAGE):
            stop = min(len(self), start + PAGE)
            bounds = offsets[start : stop + 1].tolist()
            flat = self.rows[bounds[0] : bounds[-1]].tolist()
            base = bounds[0]
            for a, b in itertools.pairwise(bounds):
                yield tuple(flat[a - base : b - base])

    def __repr__(self) -> str:
        return f"SentenceRows({len(self)} chunks, {len(self.rows)} rows)"
