"""Writing the question log off the answering path: a bounded queue drained by one background thread, so that logging
never slows or fails an answer; rows past the retention are deleted as it goes. Failures are counted, logged once."""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime, timedelta

from bot.answer.conversation.state import TurnReading
from bot.answer.questionlog import LoggedQuestion, QuestionStore, entry, hash_user
from bot.answer.questionlog_sqlite import SqliteQuestionStore, load_key
from bot.answer.types import Answer
from bot.settings import Settings

log = logging.getLogger(__name__)

# Rows waiting to be written; beyond this, new rows are dropped (and counted) rather than held.
QUEUE_SIZE = 10_000
BATCH = 500
# Expired rows are deleted when the writer starts, then at most this often.
EXPIRE_EVERY_S = 3600.0


class QuestionLog:
    """The log as the front ends see it: `record` an answer, and it is written later; it never raises or blocks."""

    def __init__(self, store: QuestionStore | None, key: bytes | None = None, retention_days: int = 90, *,
                 capacity: int = QUEUE_SIZE) -> None:
        self.store = store
        self.key = key
        self.retention = timedelta(days=retention_days)
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._queue: queue.Queue[LoggedQuestion | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._told = False
        self._expired_at = float("-inf")

    @property
    def enabled(self) -> bool:
        """True when questions are logged."""
        return self.store is not None

    def user(self, user_id: int | str | None) -> str | None:
        """Return the keyed hash that stands for a user (None without a user or a key)."""
        if user_id is None or self.key is None:
            return None
        return hash_user(self.key, user_id)

    def record(self, answer: Answer, *, channel: str, latency_s: float, reading: TurnReading | None = None,
               user_id: int | None = None, message_id: int | None = None) -> None:
        """Log an answer given in a channel after latency_s seconds, by a user (hashed here), in a message."""
        if self.store is None:
            return
        try:
            row = entry(answer, channel=channel, latency_s=latency_s, reading=reading, user=self.user(user_id),
                        message_id=message_id)
        except Exception as error:  # a malformed answer is a bug to log, never a failed answer
            self.failures += 1
            self._fail(error)
            return
        self.submit(row)

    def submit(self, row: LoggedQuestion) -> None:
        """Queue a row for the writer; when the queue is full the row is dropped and counted."""
        if self.store is None:
            return
        self._ensure_writer()
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1
            self._tell(f"the question log is {self._queue.maxsize} rows behind: dropping rows (counted, not logged)")

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued row is written (or failed); False when it takes longer than `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most `timeout` seconds) and stop the writer."""
        thread = self._thread
        if thread is None:
            return
        self.flush(timeout)
        try:
            self._queue.put(None, timeout=max(0.0, timeout))
        except queue.Full:
            return
        thread.join(timeout)
        self._thread = None

    def expire(self) -> int:
        """Delete the rows past the retention now; return how many went (0 when the log is off)."""
        if self.store is None:
            return 0
        self._expired_at = time.monotonic()
        return self.store.expire(datetime.now(UTC) - self.retention)

    def _ensure_writer(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="newsbot-question-log", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        """Write queued rows in batches until told to stop; expire old rows now and then."""
        assert self.store is not None
        while True:
            row = self._queue.get()
            batch = [row]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [r for r in batch if r is not None]
            try:
                if time.monotonic() - self._expired_at >= EXPIRE_EVERY_S:
                    self.expire()
                self.store.write(rows)
                self.written += len(rows)
            except Exception as error:  # the store is best effort: count, tell once, keep draining
                self.failures += len(rows)
                self._fail(error)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(rows) < len(batch):
                return

    def _fail(self, error: Exception) -> None:
        self._tell(f"cannot write the question log ({type(error).__name__}: {error}); further failures are "
                   "counted, not logged")

    def _tell(self, message: str) -> None:
        if not self._told:
            self._told = True
            log.warning("%s", message)


def open_question_log(settings: Settings) -> QuestionLog:
    """Return the configured log: off when NEWSBOT_QUESTION_LOG=off, or (with a warning) when its key can't be had."""
    if settings.question_log == "off":
        return QuestionLog(None)
    key = settings.question_log_key.encode() if settings.question_log_key else None
    if key is None:
        try:
            key = load_key(settings.question_log_key_file)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            log.warning("the question log is off: no key for user hashes (%s)", error)
            return QuestionLog(None)
    return QuestionLog(SqliteQuestionStore(settings.feedback_db), key, settings.question_log_days)
