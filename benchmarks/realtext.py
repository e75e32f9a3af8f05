"""Corpora of real text for the performance figures: the newsroom corpus, every English page of the packages it
came from, and new articles recombined from their real sentences (never a text repeated with variation).

Sources, all from the pinned archives `make newsroom` caches (tests/data/newsroom/README.md):
- news: the 378 files of `newsroom-txt` (350 ABC articles, 28 naive scrapes of news pages);
- pages: every other English HTML page of the newspaper4k 0.9.6 and trafilatura 1.0.0 sdists, as naive scrapes
  (the same html.parser text as `newsroom/scrape/`: all the site chrome left in);
- wiki: the 206 English Wikipedia articles of gensim 4.4.0's test dump, markup stripped to its prose.

`python -m benchmarks.realtext --out DIR --bytes 4M` writes a seeds directory: the news and pages files as they are,
then recombined articles up to the size. A recombined article is a headline (a real sentence of at most 12 words),
a dateline and 2-5 paragraphs, each a run of 2-6 consecutive sentences of one real document; runs are drawn without
replacement from a shuffled pool, so no sentence repeats until the pool is used up (the report says how many did).
"""

from __future__ import annotations

import bz2
import html
import importlib.util
import json
import random
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

CORPORA = Path(".newsbot/corpora")
CACHE = CORPORA / "cache"
NEWS = CORPORA / "newsroom-txt"
GENSIM = "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
WIKI = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
SDISTS = ("newspaper4k-0.9.6.tar.gz", "trafilatura-1.0.0.tar.gz")
_ENGLISH = frozenset("the of and to in is that for was on with as by it are from at this be".split())


def _builder():
    """The newsroom build script's naive scraper (html.parser, chrome kept), loaded from its file."""
    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "newsroom" / "build_corpus.py"
    spec = importlib.util.spec_from_file_location("newsroom_build_corpus", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def is_english(text: str) -> bool:
    """True when at least a sixth of the words are common English function words."""
    words = re.findall(r"[a-z]+", text[:20_000].lower())
    return len(words) > 150 and sum(w in _ENGLISH for w in words) * 6 >= len(words)


def page_scrapes(cache: Path = CACHE, news: Path = NEWS) -> Iterator[tuple[str, str]]:
    """Yield (name, naive scrape) for every English HTML page of the two sdists not already in the news."""
    scrape = _builder().naive_scrape
    known = {path.read_text(encoding="utf-8").strip() for path in news.glob("*.txt")}
    for archive in SDISTS:
        with tarfile.open(cache / archive) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if not member.isfile() or not re.search(r"\.html?$", member.name):
                    continue
                data = tar.extractfile(member).read()
                text = scrape(data)
                if is_english(text) and text.strip() not in known:
                    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(member.name).stem)[:60]
                    yield f"{archive.split('-')[0][:4]}_{stem}", text


_WIKI_DROP = [re.compile(p, re.S) for p in (
    r"<ref[^>]*/>", r"<ref.*?</ref>", r"<!--.*?-->", r"\{\|.*?\|\}", r"<[^>]+>",
)]


def _strip_templates(text: str) -> str:
    """Remove {{...}} templates, nested ones included, in one pass."""
    out, depth, i = [], 0, 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair == "{{":
            depth, i = depth + 1, i + 2
        elif pair == "}}" and depth:
            depth, i = depth - 1, i + 2
        else:
            if not depth:
                out.append(text[i])
            i += 1
    return "".join(out)


def wiki_articles(cache: Path = CACHE) -> Iterator[tuple[str, str]]:
    """Yield (title, prose paragraphs) of each Wikipedia article in gensim's test dump."""
    with zipfile.ZipFile(cache / GENSIM) as wheel:
        raw = bz2.decompress(wheel.read(WIKI)).decode("utf-8")
    for page in re.finditer(r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", raw, re.S):
        title, text = html.unescape(page.group(1)), html.unescape(page.group(2))
        if text.startswith("#REDIRECT") or ":" in title:
            continue
        text = _strip_templates(text)
        for pattern in _WIKI_DROP:
            text = pattern.sub("", text)
        text = re.sub(r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]", r"\1", text)
        text = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", text)
        text = re.sub(r"'{2,}", "", text)
        paragraphs = [p.strip() for p in text.split("\n") if len(p.strip()) > 80 and not p.lstrip().startswith(
            ("*", "#", "|", "!", "=", "[[", "{", ":", ";"))]
        if paragraphs:
            yield title, "\n\n".join(paragraphs)


@dataclass(frozen=True)
class Pool:
    """Real documents as runs of sentences: (source kind, document name, its sentences)."""

    documents: tuple[tuple[str, str, tuple[str, ...]], ...]

    @property
    def sentences(self) -> int:
        """Return how many sentences the pool holds."""
        return sum(len(d[2]) for d in self.documents)

    @property
    def chars(self) -> int:
        """Return the pool's characters."""
        return sum(len(s) + 1 for d in self.documents for s in d[2])


def sentences_of(source_id: str, text: str) -> tuple[str, ...]:
    """The body sentences newsbot reads in a text (its cleaning and splitting), one line each."""
    from embeddings.ingest.plaintext import parse_article
    from embeddings.ingest.sentences import split_sentences

    article = parse_article(source_id, text)
    return tuple(" ".join(article.text[a:b].split()) for start, end in article.segments
                 for a, b in split_sentences(article.text, start, end))


def build_pool(news: Path = NEWS, cache: Path = CACHE, kinds: tuple[str, ...] = ("news", "pages", "wiki")) -> Pool:
    """Read every real document of the chosen kinds into sentences."""
    documents = []
    if "news" in kinds:
        for path in sorted(news.glob("*.txt")):
            documents.append(("news", path.stem, sentences_of(path.stem, path.read_text(encoding="utf-8"))))
    if "pages" in kinds:
        documents.extend(("pages", name, sentences_of(name, text)) for name, text in page_scrapes(cache, news))
    if "wiki" in kinds:
        documents.extend(("wiki", title, sentences_of("wiki", text)) for title, text in wiki_articles(cache))
    return Pool(tuple(d for d in documents if d[2]))


def shuffled_runs(pool: Pool, rng: random.Random) -> list:
    """One pass over the pool: every document cut into runs of 2-6 consecutive sentences, shuffled."""
    runs = []
    for _, _, sentences in pool.documents:
        position = 0
        while position < len(sentences):
            size = rng.randint(2, 6)
            runs.append(sentences[position : position + size])
            position += size
    rng.shuffle(runs)
    return runs


def recombined(pool: Pool, seed: int = 0) -> Iterator[str]:
    """Yield new articles made of runs of real sentences, drawing runs without replacement (then a new pass)."""
    rng = random.Random(seed)
    titles = [s for _, _, sentences in pool.documents for s in sentences if 4 <= len(s.split()) <= 12]
    while True:
        runs = shuffled_runs(pool, rng)
        while len(runs) >= 5:
            paragraphs = [runs.pop() for _ in range(rng.randint(2, 5))]
            title = rng.choice(titles).rstrip(".")
            date = f"{rng.randint(1, 28)} {rng.choice(_MONTHS)} {rng.randint(2001, 2025)}"
            yield f"{title}\n{date}\n\n" + "\n\n".join(" ".join(p) for p in paragraphs) + "\n"


_MONTHS = "January February March April May June July August September October November December".split()


def write_corpus(out: Path, target_bytes: int, pool: Pool | None = None, originals: bool = True,
                 seed: int = 0, cache: Path = CACHE, news: Path = NEWS) -> dict:
    """Write a seeds directory of about target_bytes of real text; return what it holds."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    # With the originals in, new articles are made of the pages' and Wikipedia's sentences only: the news
    # sentences (the questions' evidence) stay in their own articles, once.
    pool = pool or build_pool(news, cache, ("pages", "wiki") if originals else ("news", "pages", "wiki"))
    written, files, kinds = 0, 0, {"news": 0, "pages": 0, "recombined": 0}
    if originals:
        for path in sorted(news.glob("*.txt")):
            shutil.copyfile(path, out / path.name)
            written, files, kinds["news"] = written + path.stat().st_size, files + 1, kinds["news"] + 1
        for name, text in page_scrapes(cache, news):
            data = text.encode("utf-8")
            if written + len(data) > target_bytes:
                break
            (out / f"{name}.txt").write_bytes(data)
            written, files, kinds["pages"] = written + len(data), files + 1, kinds["pages"] + 1
    for number, article in enumerate(recombined(pool, seed)):
        if written >= target_bytes:
            break
        data = article.encode("utf-8")
        (out / f"mix_{number:07d}.txt").write_bytes(data)
        written, files, kinds["recombined"] = written + len(data), files + 1, kinds["recombined"] + 1
    return {"dir": str(out), "bytes": written, "files": files, "kinds": kinds, "pool_sentences": pool.sentences,
            "pool_chars": pool.chars, "pool_documents": {k: sum(1 for d in pool.documents if d[0] == k)
                                                         for k in ("news", "pages", "wiki")}}


def distinct_terms(directory: Path) -> dict[str, int]:
    """Distinct words (lower-cased letter runs) and BM25 terms (newsbot's stemmed tokens) of a seeds directory."""
    from embeddings.terms import tokenize

    words: set[str] = set()
    terms: set[str] = set()
    for path in directory.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        words.update(re.findall(r"[a-z]+", text.lower()))
        terms.update(tokenize(text))
    return {"words": len(words), "bm25_terms": len(terms)}


def parse_bytes(text: str) -> int:
    """Parse '4M', '500k' or a number of bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG]?)", text.strip())
    if not match:
        raise click.BadParameter(f"not a size: {text!r}")
    return int(float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match.group(2).lower()])


@click.command()
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--bytes", "size", default="4M", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--recombined-only", is_flag=True, help="Only recombined articles (no original files).")
def main(out: Path, size: str, seed: int, recombined_only: bool) -> None:
    """Write a seeds directory of real text and print what it holds as JSON."""
    report = write_corpus(out, parse_bytes(size), originals=not recombined_only, seed=seed)
    report.update(distinct_terms(out))
    click.echo(json.dumps(report))


if __name__ == "__main__":
    main()
