"""Sentence boundaries: precision, recall and F1 on the hand-annotated boundary set of real scraped news
(tests/data/sentence_boundaries.jsonl), and seconds to split 25 KB, 200 KB and 2 MB of it, as one line and as
lines: `python -m benchmarks.sentences`. The comparison of libraries behind the choice is in docs/sentences.md."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from embeddings.ingest.sentences import split_sentences

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "sentence_boundaries.jsonl"
SIZES = (("25 KB", 25_000), ("200 KB", 200_000), ("2 MB", 2_000_000))


def gold_spans(record: dict) -> list[tuple[int, int]]:
    """The annotated sentences as offsets into the record's text."""
    text, position, spans = record["text"], 0, []
    for sentence in record["sentences"]:
        start = text.index(sentence, position)
        spans.append((start, start + len(sentence)))
        position = start + len(sentence)
    return spans


def inline_ends(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Sentence ends followed by more text on the same line (a line break ends a sentence for everyone)."""
    return {end for _, end in spans if (rest := text[end : end + 200].lstrip(" \t")) and not rest.startswith("\n")}


def score(records: list[dict]) -> dict[str, float]:
    """Boundary precision, recall and F1 of newsbot's splitter over the records."""
    tp = fp = fn = 0
    for record in records:
        text = record["text"]
        gold = inline_ends(text, gold_spans(record))
        found = inline_ends(text, split_sentences(text, 0, len(text)))
        tp, fp, fn = tp + len(found & gold), fp + len(found - gold), fn + len(gold - found)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "boundaries": tp + fn}


def timings(records: list[dict]) -> dict[str, dict[str, float]]:
    """Best of three seconds per size, the text as lines and as one line."""
    base = "\n".join(r["text"] for r in records)
    figures = {}
    for label, size in SIZES:
        text = (base * (size // len(base) + 1))[:size]
        for shape, sample in (("lines", text), ("one line", text.replace("\n", " "))):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                split_sentences(sample, 0, len(sample))
                best = min(best, time.perf_counter() - start)
            figures.setdefault(label, {})[shape] = round(best, 3)
    return figures


@click.command()
@click.option("--json", "as_json", is_flag=True)
def main(as_json: bool) -> None:
    """Print the splitter's boundary scores and timings."""
    records = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    report = {"records": len(records), "scores": score(records), "seconds": timings(records)}
    click.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
