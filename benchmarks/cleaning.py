"""Never lose an article: what cleaning keeps of the article and what it keeps of the page around it, on real
scraped pages labelled line by line (tests/data/newsroom/chrome_labels.jsonl: the article's body, its headline and
byline, everything else chrome), as scraped and in the shapes other scrapers save pages in:

- `as scraped`: one block of the page a line;
- `summary + strip`: each page's opening paragraphs with the next chrome blocks (other headlines, prompts) on the
  same line, as scrapers that join a container's text save them;
- `run-on`: every five blocks of the page joined on one line.

    python -m benchmarks.cleaning [--corpus .newsbot/corpora/newsroom] [--unlabelled DIR]

Prints, per shape and over all pages, the share of the article's body sentences kept (target >= 0.98) and the share
of chrome sentences kept (target <= 0.05), the chrome kept by kind (link and headline lists, prompts, credits,
tickers, other), and the files skipped; then the same, as scraped and summary + strip, on pages the model is never
fit on: pages of other kinds (tests/data/newsroom/chrome_labels_other.jsonl: blog posts, a magazine, a list, a
landing page) and readability's test pages (`make newsroom`: 19 real article pages of Mozilla readability's tests,
labelled by the article text readability extracts from each). --unlabelled DIR counts files skipped and rescued in
any directory of scrapes (no labels needed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import click

from embeddings.ingest.chrome import furniture, is_headline
from embeddings.ingest.plaintext import RESCUED, parse_article
from embeddings.ingest.sentences import split_sentences

DEFAULT_CORPUS = Path(".newsbot/corpora/newsroom")
LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "newsroom" / "chrome_labels.jsonl"
# Pages of other kinds (blog posts, a magazine, a list, a landing page), labelled the same way and never fit on: how
# the model does on pages unlike those it was fit on.
OTHER_LABELS = LABELS.with_name("chrome_labels_other.jsonl")
SHAPES = ("as scraped", "summary + strip", "run-on")
_PROMPT = re.compile(r"subscri|sign (?:up|in)|newsletter|cookie|log ?in|download|follow us|share", re.I)
_CREDIT = re.compile(r"photo|image|getty|credit|reuters/|afp|ap photo|©|courtesy", re.I)


def scrape_of(corpus: Path, name: str) -> Path:
    """A labelled page's scrape: a news page of the question corpus (scrape/), a page of another kind (cleaning/) or
    one of readability's test pages (readability/)."""
    for folder in ("scrape", "cleaning", "readability"):
        if (path := corpus / folder / f"{name}.txt").is_file():
            return path
    return corpus / "scrape" / f"{name}.txt"


def readability_labels(corpus: Path) -> Path:
    """The labels `make newsroom` derives for readability's test pages from the article text readability extracts."""
    return corpus / "readability" / "labels.jsonl"


def labelled_lines(scrape: Path, row: dict) -> list[tuple[str, str]]:
    """The scrape's non-blank lines with their labels (body, meta, mixed or chrome)."""
    label = {}
    for kind in ("body", "meta"):
        for first, last in row[kind]:
            label.update(dict.fromkeys(range(first, last + 1), kind))
    label.update(dict.fromkeys(row.get("mixed", ()), "mixed"))
    lines = [line.strip() for line in scrape.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(line, label.get(n, "chrome")) for n, line in enumerate(lines, start=1)]


def shaped(lines: list[tuple[str, str]], shape: str) -> list[list[tuple[str, str]]]:
    """The page's blocks grouped into the lines of a scrape of that shape."""
    if shape == "as scraped":
        return [[block] for block in lines]
    if shape == "run-on":
        return [lines[at:at + 5] for at in range(0, len(lines), 5)]
    # The first body paragraphs, each followed on its line by the chrome blocks after it.
    grouped: list[list[tuple[str, str]]] = []
    for block in lines:
        if grouped and grouped[-1][0][1] == "body" and block[1] == "chrome" and len(grouped[-1]) < 12:
            grouped[-1].append(block)
        else:
            grouped.append([block])
    return grouped


def shaped_page(lines: list[tuple[str, str]], shape: str
                ) -> tuple[str, list[tuple[int, int]], list[tuple[int, int, str]]]:
    """A labelled page scraped in one shape: its text, the span of each of its lines, and each labelled block's span
    and label (a line of the shape holds one block or several)."""
    groups = shaped(lines, shape)
    text = "\n".join(" ".join(line for line, _ in group) for group in groups)
    spans, labels, at = [], [], 0
    for group in groups:
        start = at
        for n, (line, label) in enumerate(group):
            labels.append((at, at + len(line), label))
            at += len(line) + (1 if n < len(group) - 1 else 0)
        spans.append((start, at))
        at += 1
    return text, spans, labels


def chrome_kind(sentence: str) -> str:
    """What a chrome sentence is, for the breakdown (a rough tag, not a label)."""
    if _CREDIT.search(sentence):
        return "credits"
    if _PROMPT.search(sentence):
        return "prompts"
    if furniture(sentence) == "ticker":
        return "tickers"
    if is_headline(sentence) or len(sentence) < 60:
        return "headline and link lists"
    return "other"


def measure(corpus: Path, shape: str, labels_file: Path = LABELS) -> dict:
    """Body and chrome sentences kept over every labelled page of a labels file scraped in one shape."""
    counts: Counter = Counter()
    kinds: Counter = Counter()
    skipped = []
    for row in (json.loads(line) for line in labels_file.read_text(encoding="utf-8").splitlines()):
        scrape = scrape_of(corpus, row["file"])
        if not scrape.is_file():
            continue
        text, _, labels = shaped_page(labelled_lines(scrape, row), shape)
        text += "\n"
        article = parse_article(row["file"], text)
        if not article.body:
            skipped.append(row["file"])
        kept = [False] * len(text)
        for start, end in article.body:
            kept[start:end] = [True] * (end - start)
        for start, end, label in labels:
            if label in ("meta", "mixed"):
                continue
            for s, e in split_sentences(text, start, end):
                sentence = text[s:e]
                if len(re.findall(r"\w+", sentence)) < 2:
                    continue
                on = sum(kept[s:e]) >= 0.5 * (e - s)
                counts[(label, on)] += 1
                if label == "chrome" and on:
                    kinds[chrome_kind(sentence)] += 1
    body = counts[("body", True)] + counts[("body", False)]
    chrome = counts[("chrome", True)] + counts[("chrome", False)]
    return {"body_sentences": body, "body_kept": round(counts[("body", True)] / max(body, 1), 4),
            "chrome_sentences": chrome, "chrome_kept": round(counts[("chrome", True)] / max(chrome, 1), 4),
            "chrome_kept_by_kind": dict(kinds.most_common()), "pages_skipped": skipped}


def unlabelled(directory: Path) -> dict:
    """Files of a directory of scrapes that cleaning skips or keeps only by their best prose."""
    files = sorted(directory.glob("*.txt"))
    skipped, rescued = [], []
    for path in files:
        article = parse_article(path.stem, path.read_text(encoding="utf-8", errors="replace"))
        if not article.body:
            skipped.append(path.name)
        elif ("body", RESCUED) in article.provenance:
            rescued.append(path.name)
    return {"files": len(files), "skipped": len(skipped), "rescued": len(rescued), "skipped_files": skipped}


@click.command()
@click.option("--corpus", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_CORPUS,
              show_default=True)
@click.option("--unlabelled", "unlabelled_dir", type=click.Path(path_type=Path, file_okay=False), default=None)
def main(corpus: Path, unlabelled_dir: Path | None) -> None:
    """Print what cleaning keeps, per scrape shape."""
    result: dict[str, dict] = {shape: measure(corpus, shape) for shape in SHAPES}
    result["other kinds (never fit)"] = {shape: measure(corpus, shape, OTHER_LABELS) for shape in SHAPES[:2]}
    if (readability := readability_labels(corpus)).is_file():
        result["readability's test pages (never fit)"] = {shape: measure(corpus, shape, readability)
                                                          for shape in SHAPES[:2]}
    if unlabelled_dir is not None:
        result["unlabelled"] = unlabelled(unlabelled_dir)
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
