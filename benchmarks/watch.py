"""`python -m benchmarks.watch`: how long from publish to answerable for articles that appear in a watched feed, on
a 10,000-article index, and what a poll costs when nothing changed (no embedding, no index write).

The base index is 10,000 articles recombined from the sentences of a pool of real articles (`--pool`, default the
newsroom corpus of `make newsroom`, else the seeds); each distinct sentence is embedded once by the real encoder
and its vector reused, so the base is built in minutes with real vectors. The feed is served by http.server on
127.0.0.1; the watcher, the build and the answering run in this process, as under `newsbot serve`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import date, timedelta
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import numpy as np

from benchmarks.common import load_average, peak_rss_mb, say

ROOT = Path(__file__).resolve().parent.parent
NEWSROOM = ROOT / ".newsbot/corpora/newsroom-txt"


class CachingEmbedder:
    """The real encoder, each distinct text embedded once: recombined articles share their sentences."""

    def __init__(self, inner) -> None:  # inner: embeddings.encoders.Embedder
        self.inner = inner
        self.model_name = inner.model_name
        self.cache: dict[str, np.ndarray] = {}
        self.embedded = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed(self, texts, progress=None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, np.asarray(self.inner.embed(missing), dtype=np.float32), strict=True))
            self.embedded += len(missing)
        if progress:
            progress(len(texts), len(texts))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


class Feed:
    """One RSS feed on 127.0.0.1 with an ETag, which the benchmark publishes items to."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.etag = '"0"'
        self.requests = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests += 1
                if self.headers.get("If-None-Match") == feed.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = feed.body()
                self.send_response(200)
                self.send_header("ETag", feed.etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, items: list[dict[str, str]]) -> None:
        self.items = items + self.items
        self.etag = f'"{len(self.items)}"'

    def body(self) -> bytes:
        parts = ['<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
                 "<channel><title>Bench Wire</title><link>http://127.0.0.1/</link><description>d</description>"]
        for item in self.items:
            paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item["text"].split("\n\n"))
            parts.append(f"<item><guid>{item['guid']}</guid><title>{escape(item['title'])}</title>"
                         f"<link>http://127.0.0.1/{item['guid']}</link><pubDate>{item['date']}</pubDate>"
                         f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded></item>")
        return ("".join(parts) + "</channel></rss>").encode("utf-8")


def pool_articles(pool: Path) -> list:
    """The pool's articles, read as the seeds are."""
    from embeddings.ingest.corpus import read_corpus

    return [a for a in read_corpus(pool).articles if a.body]


def write_base(seeds: Path, pool: list, count: int, seed: int = 7) -> None:
    """Write `count` articles recombined from the pool's sentences (once)."""
    from embeddings.ingest.chunking import chunk_article
    from embeddings.records import ChunkerConfig

    marker = seeds / ".complete"
    if marker.is_file() and marker.read_text() == f"{count} of {len(pool)}":
        return
    seeds.mkdir(parents=True, exist_ok=True)
    for old in seeds.glob("mix_*.txt"):  # written from another pool or count
        old.unlink()
    sentences = sorted({s for a in pool for c in chunk_article(a, ChunkerConfig()) for s in c.sentence_texts()})
    rng = random.Random(seed)
    start = date(2023, 1, 1)
    for number in range(count):
        chosen = rng.sample(sentences, rng.randint(8, 14))
        paragraphs = ["  ".join(chosen[i : i + 3]) for i in range(0, len(chosen), 3)]
        day = start + timedelta(days=rng.randrange(365))
        (seeds / f"mix_{number:05d}.txt").write_text(f"date {day} Recombined report {number}\n\n" +
                                                     "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    marker.write_text(f"{count} of {len(pool)}")


def feed_items(articles: list, first: int, count: int, day: date) -> list[dict[str, str]]:
    """`count` whole pool articles as feed items."""
    items = []
    for number, article in enumerate(articles[first : first + count]):
        items.append({"guid": f"bench-{first + number}", "title": article.title or f"Report {first + number}",
                      "date": formatdate(time.mktime(day.timetuple()), usegmt=True),
                      "text": "\n\n".join(article.span_text(span) for span in article.body)})
    return items


def answerable(service, article, story: str) -> bool:
    """True when a question in the article's own words is answered citing it, or finds it in the top 5."""
    question = article.span_text(article.body[0])[:300]
    answer = service.ask(question)
    if any(c.source_id == story for c in answer.citations):
        return True
    return any(hit.chunk.source_id == story for hit in service.search(question, 5))


@click.command()
@click.option("--articles", type=click.IntRange(100, 200_000), default=10_000, show_default=True)
@click.option("--new", "new_count", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--pool", type=click.Path(path_type=Path), default=None, help="Real articles (.txt) to recombine "
              f"[{NEWSROOM.relative_to(ROOT)} if present, else the seeds].")
@click.option("--work", type=click.Path(path_type=Path), default=ROOT / ".newsbot/bench-watch", show_default=True)
@click.option("--interval", type=float, default=60.0, show_default=True, help="The poll interval of the live run.")
@click.option("--json", "as_json", is_flag=True)
def main(articles: int, new_count: int, pool: Path | None, work: Path, interval: float, as_json: bool) -> None:
    """Publish-to-answerable for new feed articles on a large index; the cost of a poll that finds nothing."""
    from bot.answer.service import NewsService, make_embedder
    from bot.answer.watching import make_watcher, poll_forever
    from bot.settings import Settings
    from embeddings.ingest.readers.common import short_hash

    pool = pool or (NEWSROOM if NEWSROOM.is_dir() else ROOT / "seeds")
    real = pool_articles(pool)
    # The articles published to the feed are held out: none of their sentences is in the base.
    shuffled = random.Random(3).sample(real, len(real))
    held_out, rest = shuffled[: 5 + 2 * new_count], shuffled[5 + 2 * new_count :]
    work.mkdir(parents=True, exist_ok=True)
    seeds, index_dir, state = work / "seeds", work / "index", work / "watch.sqlite3"
    write_base(seeds, rest, articles)
    # A run's watched stories leave the seeds: the base build below takes them out of a kept index again.
    for leftover in [*seeds.glob("watch-*.jsonl"), state]:
        leftover.unlink(missing_ok=True)
    figures: dict[str, object] = {"articles": articles, "pool": str(pool), "load_average_start": load_average()}
    feed = Feed()
    settings = Settings(seeds_dir=seeds, index_dir=index_dir, watch=(feed.url,), watch_state=state,
                        watch_interval=max(10.0, interval), feedback_db=work / "feedback.sqlite3")
    embedder = CachingEmbedder(make_embedder(settings))
    service = NewsService(settings, embedder)
    say(f"base index: {articles:,} articles recombined from {len(rest)} real ones")
    started = time.perf_counter()
    built = service.reindex(allow_shrink=True)
    figures["base"] = {"seconds": round(time.perf_counter() - started, 1), "chunks": built.chunks,
                       "sentences_embedded": embedder.embedded, "up_to_date": built.up_to_date}
    service.warm_up()
    watcher = make_watcher(settings, service)
    rng = random.Random(3)
    shuffled = held_out

    say("first poll: 5 items already in the feed")
    feed.publish(feed_items(shuffled, 0, 5, date(2024, 1, 10)))
    first = timed_poll(watcher)
    figures["first_poll"] = first

    say("a poll where nothing changed (304)")
    generation, embedded_before = _generation(index_dir), embedder.embedded
    unchanged = timed_poll(watcher)
    unchanged.update(embedded=embedder.embedded - embedded_before, index_written=_generation(index_dir) != generation)
    figures["unchanged_poll"] = unchanged

    say(f"publish {new_count} articles, poll, and ask until each is answerable")
    fresh = feed_items(shuffled, 5, new_count, date(2024, 1, 11))
    feed.publish(fresh)
    published = time.perf_counter()
    report = watcher.poll(force=True)
    polled = time.perf_counter()
    # A feed item's id is the hash of its guid (embeddings/ingest/readers/feeds.py), and so its story's.
    ready = [answerable(service, article, short_hash(item["guid"])) for article, item in
             zip(shuffled[5 : 5 + new_count], fresh, strict=True)]
    figures["publish_to_answerable"] = {
        "new": len(report.new), "answerable": sum(ready), "poll_and_build_s": round(polled - published, 2),
        "until_answered_s": round(time.perf_counter() - published, 2),
        "build": report.build.summary(with_path=False) if report.build else report.build_error,
        "delta_mb_written": round(sum(p.stat().st_size for p in (index_dir.resolve() / "deltas").rglob("*")
                                      if p.is_file()) / 2**20, 2) if (index_dir.resolve() / "deltas").is_dir() else 0,
        "worst_case_s": round(settings.watch_interval + (polled - published), 1),
        "interval_s": settings.watch_interval}

    say(f"live: the watcher's own loop (interval {settings.watch_interval:g} s), publish at a random moment")
    stop = threading.Event()
    thread = threading.Thread(target=poll_forever, args=(watcher, stop), daemon=True)
    thread.start()
    time.sleep(rng.uniform(1.0, settings.watch_interval))
    live = feed_items(shuffled, 5 + new_count, new_count, date(2024, 1, 12))
    feed.publish(live)
    published = time.perf_counter()
    waiting = {short_hash(item["guid"]): article for article, item in
               zip(shuffled[5 + new_count : 5 + 2 * new_count], live, strict=True)}
    ready_at: dict[str, float] = {}
    while waiting and time.perf_counter() - published < 3 * settings.watch_interval + 300:
        for story, article in list(waiting.items()):
            if story in service.index.articles and answerable(service, article, story):
                ready_at[story] = time.perf_counter() - published
                del waiting[story]
        time.sleep(0.2)
    figures["live"] = {"answerable": len(ready_at), "of": new_count,
                       "published_to_answerable_s": {"first": round(min(ready_at.values(), default=0), 1),
                                                     "last": round(max(ready_at.values(), default=0), 1)}}
    stop.set()
    thread.join(timeout=600)
    figures.update(peak_rss_mb=peak_rss_mb(), load_average_end=load_average())
    click.echo(json.dumps(figures, indent=None if as_json else 2))


def timed_poll(watcher) -> dict[str, object]:
    """Poll every source now; return its time and what it did."""
    started = time.perf_counter()
    report = watcher.poll(force=True)
    return {"seconds": round(time.perf_counter() - started, 3), "indexed": len(report.indexed),
            "not_modified": all(s.not_modified for s in report.sources), "build": report.build is not None}


def _generation(index_dir: Path) -> tuple[str, float]:
    manifest = index_dir / "manifest.json"
    return str(index_dir.resolve()), manifest.stat().st_mtime if manifest.exists() else 0.0


if __name__ == "__main__":
    main()
