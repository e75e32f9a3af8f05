"""The question log's costs (issue 24): how long `newsbot report` takes over 100,000 logged questions, and how much
logging adds to an answer. A command that prints figures, never pass/fail:

    python -m benchmarks.report [--questions 100000] [--asks 3] [--json]

It reads the index the settings name (NEWSBOT_INDEX_DIR, NEWSBOT_SEEDS_DIR, NEWSBOT_BACKEND), as `newsbot` does: run
`newsbot index` first. The log is synthetic and seeded (90 days, ~30% declined, questions on a few thousand subjects
asked Zipf-often, votes on 3% of the Discord answers), written to a temporary feedback database; the report is timed
in this process stage by stage, then end to end as `python -m bot report --out FILE` in a child process (start-up,
loading the encoder and the index included). Targets: the report under 10 s, logging under 1 ms an answer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.common import FALLBACK_QUESTIONS, load_average, read_questions, say, summarize
from bot.answer.abstain import RULES
from bot.answer.contract import question_report_json
from bot.answer.questionlog import CHANNELS, CLI, THREAD, LoggedQuestion, hash_user, timestamp
from bot.answer.questionlog_sqlite import SqliteQuestionStore
from bot.answer.questionlog_writer import QuestionLog
from bot.answer.questionreport import build_report
from bot.answer.service import NewsService
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ("When will the {s} reopen?", "How much did the {s} cost?", "Who is responsible for the {s}?",
             "What did the mayor say about the {s}?", "Why was the {s} closed?", "Is the {s} safe?",
             "Who voted against the {s}?", "When was the {s} announced?", "What happens to the {s} next year?",
             "How many people use the {s}?", "Did the council approve the {s}?", "Where will the {s} be built?")
NOUNS = ("bridge", "school", "hospital", "budget", "ferry", "council tax", "election", "harbour", "library",
         "stadium", "tram line", "water supply", "rent cap", "bus lane", "fire station", "park", "museum",
         "airport", "cycle path", "swimming pool", "market", "police station", "recycling centre", "housing plan",
         "sea wall", "power plant", "train station", "town hall", "car park", "youth centre")
MODIFIERS = ("new", "old", "north", "south", "east", "west", "river", "city", "harbour", "county", "central",
             "community", "temporary", "main", "second")
# The feedback table as bot/discord_bot/feedback.py makes it (a benchmark may not import the front ends).
FEEDBACK = """CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, message_id INTEGER,
question TEXT NOT NULL, context TEXT, source_ids TEXT NOT NULL, user_hash TEXT NOT NULL, vote INTEGER NOT NULL,
UNIQUE (message_id, user_hash))"""


def synthetic_log(count: int, source_ids: Sequence[str], seed: int = 24, days: int = 89,
                  now: datetime | None = None) -> tuple[list[LoggedQuestion], list[tuple[int, int]]]:
    """Return `count` logged questions over the last `days` days, oldest first, and (message id, vote) pairs."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    subjects = [f"{m} {n}" for n in NOUNS for m in MODIFIERS]
    rng.shuffle(subjects)
    weights = [1 / (rank + 1) for rank in range(len(subjects))]
    picks = rng.choices(subjects, weights, k=count)
    seconds = sorted(rng.uniform(0, days * 86400) for _ in range(count))
    rows, votes = [], []
    for n, (subject, offset) in enumerate(zip(picks, seconds, strict=True)):
        question = rng.choice(TEMPLATES).format(s=subject)
        channel = rng.choices(CHANNELS, (1, 5, 3, 2))[0]
        answered = rng.random() < 0.7
        message_id = None if channel == CLI else 10**17 + n
        rule = None if answered else rng.choice(RULES)
        rows.append(LoggedQuestion(
            asked_at=timestamp(now - timedelta(seconds=days * 86400 - offset)), channel=channel, question=question,
            answered=answered, reading=f"{question} — following “an earlier question”" if rng.random() < 0.1 else None,
            rule=rule, reason=f"Declined by {rule}." if rule else None,
            sources=tuple(rng.sample(list(source_ids), k=min(len(source_ids), rng.randint(1, 3)))) if answered else (),
            latency_ms=round(rng.lognormvariate(3.6, 0.4), 3),
            user=None if channel == CLI else f"{rng.randrange(5000):064x}", message_id=message_id))
        if message_id is not None and rng.random() < 0.03:
            votes.append((message_id, rng.choice((1, -1, -1))))
    return rows, votes


def write_log(path: Path, rows: Sequence[LoggedQuestion], votes: Sequence[tuple[int, int]]) -> float:
    """Store the log and its votes in a new feedback database; return the seconds the questions took to write."""
    store = SqliteQuestionStore(path)
    start = time.perf_counter()
    for at in range(0, len(rows), 5000):
        store.write(rows[at:at + 5000])
    elapsed = time.perf_counter() - start
    with sqlite3.connect(path) as conn:
        conn.execute(FEEDBACK)
        conn.executemany("INSERT INTO feedback (created_at, message_id, question, source_ids, user_hash, vote) "
                         "VALUES (?, ?, 'q', '[]', ?, ?)",
                         [(timestamp(), message_id, f"{n:064x}", vote) for n, (message_id, vote) in enumerate(votes)])
    conn.close()
    return elapsed


class TimedEmbedder:
    """The service's encoder, timing what the report embeds."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.seconds = 0.0
        self.texts = 0

    def embed(self, texts):
        start = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - start
            self.texts += len(texts)


def report_in_process(service: NewsService, path: Path) -> dict[str, object]:
    """Time the report's stages as `newsbot report` runs them: expire, read, build (embedding apart), JSON."""
    store = SqliteQuestionStore(path)
    figures: dict[str, object] = {}
    start = time.perf_counter()
    store.expire(datetime.now(UTC) - timedelta(days=service.settings.question_log_days))
    rows = store.read()
    figures["read_s"] = round(time.perf_counter() - start, 3)
    embedder = TimedEmbedder(service.embedder)
    index = service.index
    searched = [0.0]

    def search(query: str, k: int):
        began = time.perf_counter()
        try:
            return service.search(query, k)
        finally:
            searched[0] += time.perf_counter() - began

    start = time.perf_counter()
    report = build_report(rows, embedder, search, lambda s: index.source(s) if s in index.articles else None)
    figures["build_s"] = round(time.perf_counter() - start, 3)
    figures["embed_s"] = round(embedder.seconds, 3)
    figures["embedded_texts"] = embedder.texts
    figures["search_s"] = round(searched[0], 3)
    start = time.perf_counter()
    json.dumps(question_report_json(report))
    figures["json_s"] = round(time.perf_counter() - start, 3)
    figures["total_s"] = round(float(figures["read_s"]) + float(figures["build_s"]) + float(figures["json_s"]), 3)
    figures["groups"] = report.gaps.group_count
    figures["ungrouped"] = report.gaps.ungrouped
    figures["declined"] = report.declined
    return figures


def report_end_to_end(path: Path, out: Path) -> dict[str, object]:
    """Time `python -m bot report --out FILE` in a child process, over the same database."""
    env = {**os.environ, "NEWSBOT_FEEDBACK_DB": str(path)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "report", "--out", str(out)], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return {"wall_s": round(time.perf_counter() - start, 3), "page_kb": round(out.stat().st_size / 1024, 1)}


def logging_cost(service: NewsService, path: Path, questions: Sequence[str], rounds: int) -> dict[str, object]:
    """What logging adds to an answer: the front end's `record` call alone (the writer draining to SQLite meanwhile),
    and asks with and without it, interleaved."""
    log = QuestionLog(SqliteQuestionStore(path), b"k" * 32)
    answers = [service.ask(q) for q in questions[:20]]
    calls = []
    for n in range(10_000):
        start = time.perf_counter()
        log.record(answers[n % len(answers)], channel=THREAD, latency_s=0.03, user_id=10**17 + n, message_id=n)
        calls.append(time.perf_counter() - start)
    log.flush(60)
    for question in questions:  # warm: a question's first ask fills the caches its second one reads
        service.ask(question)
    plain, logged = [], []
    for round_ in range(rounds):
        for position, question in enumerate(questions):
            # Which of the two goes first alternates, so that neither always follows the other.
            for with_log in (False, True) if (round_ + position) % 2 else (True, False):
                start = time.perf_counter()
                answer = service.ask(question)
                if with_log:
                    log.record(answer, channel=THREAD, latency_s=time.perf_counter() - start, user_id=1,
                               message_id=1)
                (logged if with_log else plain).append(time.perf_counter() - start)
    log.close()
    record = np.asarray(calls) * 1e6
    return {"record_us": {"p50": round(float(np.percentile(record, 50)), 1),
                          "p99": round(float(np.percentile(record, 99)), 1),
                          "mean": round(float(record.mean()), 1), "max": round(float(record.max()), 1)},
            "ask_ms": summarize(plain), "ask_and_log_ms": summarize(logged), "written": log.written,
            "failures": log.failures, "dropped": log.dropped, "hash_us": _hash_cost()}


def _hash_cost() -> float:
    start = time.perf_counter()
    for n in range(10_000):
        hash_user(b"k" * 32, n)
    return round((time.perf_counter() - start) / 10_000 * 1e6, 2)


def main(argv: list[str] | None = None) -> None:
    """Print the report's and the log's figures as a table, or as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000, help="logged questions to report on")
    parser.add_argument("--asks", type=int, default=3, help="rounds of the asks with and without logging")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    service = NewsService(Settings.from_env())
    service.warm_up()
    questions = read_questions(FALLBACK_QUESTIONS)
    result: dict[str, object] = {"questions": args.questions, "load_before": load_average(),
                                 "backend": service.settings.backend}
    with tempfile.TemporaryDirectory(prefix="newsbot-report-bench-") as scratch:
        path = Path(scratch) / "feedback.sqlite3"
        say(f"writing a synthetic log of {args.questions:,} questions")
        rows, votes = synthetic_log(args.questions, sorted(service.index.articles))
        result["write_s"] = round(write_log(path, rows, votes), 3)
        result["db_mb"] = round(path.stat().st_size / 2**20, 1)
        say("reporting in this process")
        result["in_process"] = report_in_process(service, path)
        say("reporting end to end: python -m bot report --out FILE")
        result["end_to_end"] = report_end_to_end(path, Path(scratch) / "report.html")
        say("timing what logging adds to an answer")
        result["logging"] = logging_cost(service, Path(scratch) / "log.sqlite3", questions, max(1, args.asks))
    result["load_after"] = load_average()
    print(json.dumps(result) if args.json else render(result))


def render(result: dict) -> str:
    """Render the figures as lines of text."""
    inner, outer, cost = result["in_process"], result["end_to_end"], result["logging"]
    return "\n".join([
        f"newsbot report bench ({result['questions']:,} logged questions, {inner['declined']:,} declined; backend "
        f"{result['backend']}; load {result['load_before']} -> {result['load_after']}; {os.cpu_count()} cpus)",
        f"  log written in {result['write_s']} s ({result['db_mb']} MB database)",
        f"  report in process: {inner['total_s']} s (read {inner['read_s']} s, build {inner['build_s']} s of which "
        f"embedding {inner['embedded_texts']} forms {inner['embed_s']} s and passages {inner['search_s']} s, JSON "
        f"{inner['json_s']} s); {inner['groups']} groups, {inner['ungrouped']:,} questions too rare to group",
        f"  report end to end (python -m bot report --out): {outer['wall_s']} s, page {outer['page_kb']} KB"
        f"   [target < 10 s]",
        f"  logging an answer (record: entry, keyed hash, enqueue): p50 {cost['record_us']['p50']} us, p99 "
        f"{cost['record_us']['p99']} us, max {cost['record_us']['max']} us (hash alone {cost['hash_us']} us)"
        f"   [target < 1 ms]",
        f"  ask p50/p95: {cost['ask_ms']['p50_ms']}/{cost['ask_ms']['p95_ms']} ms without the log, "
        f"{cost['ask_and_log_ms']['p50_ms']}/{cost['ask_and_log_ms']['p95_ms']} ms with it (interleaved, "
        f"{cost['ask_ms']['n']} each); written {cost['written']:,}, failures {cost['failures']}, dropped "
        f"{cost['dropped']}",
    ])


if __name__ == "__main__":
    main()
