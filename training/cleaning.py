"""Fit the chrome model: which lines of a scraped page are the article's, learned from real pages labelled line by line
(tests/data/newsroom/chrome_labels.jsonl over the newsroom corpus's scrapes, `make newsroom`).

    python -m training.cleaning [--corpus .newsbot/corpora/newsroom] [--out embeddings/models/chrome.json]

A logistic regression over each block's signals (embeddings/ingest/chrome.py LineSignals; a block is a sentence of a
line, as newsbot reads pages), the article's body against the chrome (headlines, bylines and mixed lines left out).
The threshold is the highest whose article lines kept, estimated by leave-one-page-out cross-validation, stay at or
above --min-kept: a page's lines are never judged by a model that saw them. Prints the cross-validated figures and
writes them into the model file.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.cleaning import DEFAULT_CORPUS, LABELS, labelled_lines
from benchmarks.fit_answer_model import fit
from embeddings.ingest.chrome import CHROME_FORMAT, CHROME_MODEL, SIGNALS, blocks, line_signals


def pages(corpus: Path) -> list[tuple[str, np.ndarray, list[str], list[str]]]:
    """Every labelled page as newsbot judges it, block by block (each line's sentences): its name, its blocks'
    signals, labels (their line's) and text."""
    found = []
    for row in (json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()):
        scrape = corpus / "scrape" / f"{row['file']}.txt"
        if scrape.is_file():
            lines = labelled_lines(scrape, row)
            text = "\n".join(line for line, _ in lines)
            spans, at = [], 0
            for line, _ in lines:
                spans.append((at, at + len(line)))
                at += len(line) + 1
            pieces = blocks(text, spans)
            texts = [text[start:end] for (start, end), _ in pieces]
            found.append((row["file"], np.asarray([s.vector() for s in line_signals(texts)]),
                          [lines[number][1] for _, number in pieces], texts))
    return found


def clean_pages(directory: Path, count: int) -> list[tuple[str, np.ndarray, list[str], list[str]]]:
    """Articles as clean text (every block the article's): a page without chrome must keep all of itself. Only
    the training half of the written questions' articles (training/reader/data.py `held_out`)."""
    from embeddings.ingest.plaintext import text_lines
    from training.reader.data import held_out

    found = []
    paths = [p for p in sorted(directory.glob("*.txt")) if not held_out(p.stem)]
    for path in random.Random(5).sample(paths, min(count, len(paths))):
        text = path.read_text(encoding="utf-8")
        # Its lines but the first (a headline is read as the title before blocks are judged).
        pieces = blocks(text, text_lines(text)[1:])
        if not pieces:
            continue
        texts = [text[start:end] for (start, end), _ in pieces]
        found.append((path.stem, np.asarray([s.vector() for s in line_signals(texts)]), ["body"] * len(texts),
                      texts))
    return found


def _rows(data) -> tuple[np.ndarray, np.ndarray]:
    x = np.vstack([signals[[i for i, label in enumerate(labels) if label in ("body", "chrome")]]
                   for _, signals, labels, _ in data])
    y = np.concatenate([[1.0 if label == "body" else 0.0 for label in labels if label in ("body", "chrome")]
                        for _, _, labels, _ in data])
    return x, y


def sentences_kept(scored, threshold: float) -> tuple[float, float]:
    """Of the article's sentences (blocks) and of the chrome's, the share kept."""
    kept = {"body": 0, "chrome": 0}
    total = {"body": 0, "chrome": 0}
    for labels, text, probabilities in scored:
        for label, block, p in zip(labels, text, probabilities, strict=True):
            if label in total and re.search(r"\w+\W+\w+", block):
                total[label] += 1
                kept[label] += p >= threshold
    return kept["body"] / max(total["body"], 1), kept["chrome"] / max(total["chrome"], 1)


@click.command()
@click.option("--corpus", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_CORPUS,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=CHROME_MODEL, show_default=True)
@click.option("--min-kept", type=float, default=0.98, show_default=True,
              help="The share of the article's sentences the threshold must keep, cross-validated.")
@click.option("--clean", "clean_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path(".newsbot/corpora/written/seeds"), show_default=True,
              help="Articles as clean text (python -m training.reader.corpus): pages with no chrome at all.")
@click.option("--clean-count", type=int, default=150, show_default=True)
@click.option("--l2", type=float, default=1.0, show_default=True)
def main(corpus: Path, out: Path, min_kept: float, clean_dir: Path, clean_count: int, l2: float) -> None:
    """Fit, cross-validate and write the chrome model."""
    data = pages(corpus)
    if not data:
        raise click.ClickException(f"no labelled scrapes under {corpus}: run `make newsroom`")
    clean = clean_pages(clean_dir, clean_count) if clean_dir.is_dir() else []
    scored, clean_scored = [], []
    # Leave one scraped page out (and a share of the clean articles), fit on the rest, judge what was left out.
    for k, (_, signals, labels, text) in enumerate(data):
        held = [page for j, page in enumerate(clean) if j % len(data) == k]
        model = fit(*_rows([page for j, page in enumerate(data) if j != k]
                           + [page for j, page in enumerate(clean) if j % len(data) != k]), l2)
        scored.append((labels, text, [model.probability(v) for v in signals]))
        clean_scored += [(page[2], page[3], [model.probability(v) for v in page[1]]) for page in held]
    thresholds = [round(t, 2) for t in np.arange(0.05, 0.951, 0.05)]
    figures = {t: sentences_kept(scored, t) for t in thresholds}
    meeting = [t for t in thresholds if figures[t][0] >= min_kept]
    threshold = max(meeting) if meeting else min(thresholds)
    clean_kept = sentences_kept(clean_scored, threshold)[0] if clean_scored else None
    final = fit(*_rows(data + clean), l2)
    payload = {
        "format": CHROME_FORMAT, "signals": list(SIGNALS), "weights": [round(w, 6) for w in final.weights],
        "bias": round(final.bias, 6), "means": [round(m, 6) for m in final.means],
        "scales": [round(s, 6) for s in final.scales], "threshold": threshold,
        "fit_on": f"{len(data)} real scraped pages labelled line by line (tests/data/newsroom/chrome_labels.jsonl) and "
                  f"{len(clean)} articles as clean text (the training half of the written questions' articles)",
        "cross_validated": {"how": "leave one page out", "article_sentences_kept": round(figures[threshold][0], 4),
                            "chrome_sentences_kept": round(figures[threshold][1], 4),
                            "clean_articles_sentences_kept": round(clean_kept, 4) if clean_kept is not None else None,
                            "by_threshold": {str(t): [round(v, 4) for v in figures[t]] for t in thresholds}},
        "command": "python -m training.cleaning", "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    click.echo(json.dumps({k: v for k, v in payload.items() if k not in ("means", "scales")}, indent=1))


if __name__ == "__main__":
    main()
