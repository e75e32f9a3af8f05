"""Connections to the store: one small pool per process for questions, a direct session for builds; every error
becomes one line that names the server without its password."""

from __future__ import annotations

import contextlib
import re
import threading
import weakref
from collections.abc import Iterator
from urllib.parse import quote, unquote

import psycopg
from pgvector.psycopg import register_vector
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from embeddings.errors import IndexMissingError, NewsbotError, StoreUnavailableError

CONNECT_TIMEOUT_S = 10
# Questions in flight at once in one process (Discord answers a few in worker threads).
POOL_MAX = 8
POOL_WAIT_S = 10.0
# The HNSW search beam: at least as many rows as one k-NN asks for (pgvector returns at most ef_search rows).
EF_SEARCH = 200
_USERINFO = re.compile(r"(postgres(?:ql)?://[^:/@\s]*):[^@]*@")
_PASSWORD_OPTION = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
# Server errors the caller asked for (a missing index, a lost connection) and those that are the server's own.
_CREDENTIALS = ("28P01", "28000")


def redact(text: str) -> str:
    """Remove the password from every URL and password= option in a text."""
    return _PASSWORD_OPTION.sub(r"\1***", _USERINFO.sub(r"\1@", text))


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no message"


class Database:
    """One database URL: the pool serving questions, direct sessions for builds, errors without the password."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._secrets = self._passwords(url)
        self.where = self.scrub(url.split("?", 1)[0])
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._ready: weakref.WeakSet = weakref.WeakSet()

    @staticmethod
    def _passwords(url: str) -> tuple[str, ...]:
        found: set[str] = set()
        with contextlib.suppress(psycopg.Error, ValueError):
            password = conninfo.conninfo_to_dict(url).get("password")
            if password:
                found.add(str(password))
        match = re.match(r"postgres(?:ql)?://[^:/@\s]*:([^@]*)@", url)
        if match and match.group(1):
            found.update({match.group(1), unquote(match.group(1)), quote(unquote(match.group(1)), safe="")})
        return tuple(sorted(found, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """Return a text with this URL's password removed, however it was spelled."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact(text)

    def error(self, exc: BaseException, doing: str) -> NewsbotError:
        """Turn a driver error into one line that says what failed and what to do."""
        message = self.scrub(_first_line(str(exc)))
        if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
            return IndexMissingError(f"no index in the database at {self.where}: run `newsbot index` to build it")
        if getattr(exc, "sqlstate", None) in _CREDENTIALS or "authentication failed" in message:
            return StoreUnavailableError(f"the database at {self.where} refused the credentials ({message}): check "
                                         "the user and password in NEWSBOT_DATABASE_URL")
        if isinstance(exc, PoolTimeout):
            return StoreUnavailableError(f"the database at {self.where} did not answer within {POOL_WAIT_S:g} s "
                                         f"while {doing}: is the server running?")
        if isinstance(exc, psycopg.OperationalError) and doing == "connecting":
            return StoreUnavailableError(f"cannot connect to the database at {self.where} ({message}): is the server "
                                         "running and NEWSBOT_DATABASE_URL right?")
        if isinstance(exc, psycopg.OperationalError):
            return StoreUnavailableError(f"lost or could not open the connection to the database at {self.where} "
                                         f"while {doing} ({message}): ask again once the server is back")
        if isinstance(exc, psycopg.ProgrammingError) and "connection" in message.lower():
            return StoreUnavailableError(f"NEWSBOT_DATABASE_URL cannot be used: {message}")
        return StoreUnavailableError(f"the database at {self.where} failed while {doing}: {message}")

    def connect(self) -> psycopg.Connection:
        """Open a direct session (autocommit), with pgvector's types when the extension exists."""
        try:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                         application_name="newsbot")
        except psycopg.Error as exc:
            raise self.error(exc, "connecting") from None
        self._prepare(connection)
        return connection

    def _prepare(self, connection: psycopg.Connection) -> None:
        """Register pgvector's types and the search beam on a session once the extension exists."""
        try:
            register_vector(connection)
        except psycopg.ProgrammingError:
            return  # no vector type yet: nothing has been indexed in this database
        connection.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        # The planner prices a scan of the passages' vectors below the HNSW graph (it does not count reading and
        # comparing every vector: 65 ms at 10k passages, against ~1 ms through the graph). Every statement of a
        # serving session has an index to use, so seq scans are priced out, as pgvector's documentation advises.
        connection.execute("SET enable_seqscan = off")
        # Prepared statements keep being planned for their values: a generic plan of the ranking statement, which
        # cannot see the query's terms, measured slower (19 against 15 ms at 10k passages).
        connection.execute("SET plan_cache_mode = force_custom_plan")
        self._ready.add(connection)

    def _open_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                # A direct attempt first: a refused connection or password is said at once, in one line.
                self.connect().close()
                pool = ConnectionPool(self.url, min_size=1, max_size=POOL_MAX, open=False, name="newsbot",
                                      check=ConnectionPool.check_connection, timeout=POOL_WAIT_S,
                                      kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                                              "application_name": "newsbot"})
                try:
                    pool.open(wait=True, timeout=POOL_WAIT_S)
                except PoolTimeout as exc:
                    pool.close()
                    raise self.error(exc, "connecting") from None
                self._pool = pool
            return self._pool

    @contextlib.contextmanager
    def session(self, doing: str) -> Iterator[psycopg.Connection]:
        """Lend a pooled session for one question's statements; a broken one is replaced on the next loan."""
        pool = self._open_pool()
        try:
            with pool.connection() as connection:
                if connection not in self._ready:
                    self._prepare(connection)
                yield connection
        except psycopg.Error as exc:
            raise self.error(exc, doing) from None
        except PoolTimeout as exc:
            raise self.error(exc, doing) from None

    def reset(self) -> None:
        """Drop pooled sessions (after the first build created the vector type they lack)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def close(self) -> None:
        """Close the pool."""
        self.reset()
