"""Fit the chrome model: which lines of a scraped page are the article's, learned from real pages labelled line by line
(tests/data/newsroom/chrome_labels.jsonl over the newsroom corpus's scrapes, `make newsroom`).

    python -m training.cleaning [--corpus .newsbot/corpora/newsroom] [--out embeddings/models/chrome.json]

Two logistic regressions, the article's body against the chrome (headlines, bylines and mixed lines left out): the
first over each block's signals (embeddings/ingest/chrome.py LineSignals; a block is a sentence of a line, as
newsbot reads pages), the second over those and the first's log-odds of the blocks around it (CONTEXT). The second
is fit on the first's out-of-fold judgements (--folds, by page), as it will meet them on pages the first never saw.
The threshold is the highest whose article lines kept, estimated by leave-one-page-out cross-validation, stay at or
above --min-kept: a page's lines are never judged by a model that saw them. Prints the cross-validated figures (the
first pass alone beside both) and writes them into the model file.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from benchmarks.cleaning import DEFAULT_CORPUS, LABELS, SHAPES, labelled_lines, shaped_page
from benchmarks.fit_answer_model import fit
from embeddings.ingest.chrome import (
    CHROME_FORMAT,
    CHROME_MODEL,
    CONTEXT,
    SIGNALS,
    ChromeModel,
    LineSignals,
    blocks,
    context_signals,
    line_signals,
)
from embeddings.logistic import Logistic

Page = tuple[str, np.ndarray, list[str], list[str]]


def pages(corpus: Path, shapes: Sequence[str] = ("as scraped",)) -> list[Page]:
    """Every labelled page as newsbot judges it, block by block (each line's sentences), in each scrape shape
    (benchmarks.cleaning.shaped): its name (`FILE#shape`), its blocks' signals, labels and text. A block's label is
    its lines' where they agree; a block that runs an article's sentence into chrome is `mixed` (not fit on)."""
    found = []
    for row in (json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()):
        scrape = corpus / "scrape" / f"{row['file']}.txt"
        if not scrape.is_file():
            continue
        lines = labelled_lines(scrape, row)
        for shape in shapes:
            text, spans, marks = shaped_page(lines, shape)
            pieces = blocks(text, spans)
            texts = [text[start:end] for (start, end), _ in pieces]
            labels = [_block_label(marks, start, end) for (start, end), _ in pieces]
            found.append((f"{row['file']}#{shape}", np.asarray([s.vector() for s in line_signals(texts)]), labels,
                          texts))
    return found


def page_of(name: str) -> str:
    """The page (or clean article) a fitted page comes from: `FILE#shape` and `ID#opening` are FILE and ID."""
    return name.split("#")[0]


def _block_label(marks: Sequence[tuple[int, int, str]], start: int, end: int) -> str:
    """The label of a block from its lines' labels: theirs where one label has nearly all of its characters."""
    weight: dict[str, int] = {}
    for first, last, label in marks:
        overlap = min(end, last) - max(start, first)
        if overlap > 0:
            weight[label] = weight.get(label, 0) + overlap
    if not weight:
        return "mixed"
    label = max(weight, key=lambda name: weight[name])
    return label if weight[label] >= 0.9 * sum(weight.values()) else "mixed"


def clean_pages(directory: Path, count: int) -> list[tuple[str, np.ndarray, list[str], list[str]]]:
    """Articles as clean text (every block the article's): a page without chrome must keep all of itself. Only
    the training half of the written questions' articles (training/reader/data.py `held_out`); an article of one
    line is all body, one of several has its headline first. Each article's opening (two to four sentences, every
    other one with a subhead before its last) is a page too, named `ID#opening`: a brief ends at the page's edge,
    where a scraped page's footer would be."""
    from embeddings.ingest.plaintext import text_lines
    from training.reader.data import held_out

    found = []
    paths = [p for p in sorted(directory.glob("*.txt")) if not held_out(p.stem)]
    rng = random.Random(5)
    for path in rng.sample(paths, min(count, len(paths))):
        text = path.read_text(encoding="utf-8")
        # Its lines but the first (a headline is read as the title before blocks are judged).
        lines = text_lines(text)
        pieces = blocks(text, lines[1:] if len(lines) > 1 else lines)
        if not pieces:
            continue
        texts = [text[start:end] for (start, end), _ in pieces]
        found.append((path.stem, np.asarray([s.vector() for s in line_signals(texts)]), ["body"] * len(texts),
                      texts))
        opening = texts[:rng.randint(2, 4)]
        if len(opening) < len(texts):
            labels = ["body"] * len(opening)
            if rng.random() < 0.5:
                # A subhead before its last paragraph, as articles set them (the page's meta: not a row to fit).
                opening.insert(-1, " ".join(w.capitalize() for w in opening[-1].split()[:4]).rstrip(".,;:"))
                labels.insert(-1, "meta")
            found.append((f"{path.stem}#opening", np.asarray([s.vector() for s in line_signals(opening)]), labels,
                          opening))
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


def first_logits(model: Logistic, signals: np.ndarray) -> np.ndarray:
    """The first pass's log-odds for every block of a page."""
    return (signals - np.asarray(model.means)) / np.asarray(model.scales) @ np.asarray(model.weights) + model.bias


def with_context(page: Page, logits: np.ndarray) -> Page:
    """A page's rows for the second pass: its blocks' signals and their context from the first pass's log-odds."""
    name, signals, labels, text = page
    return name, np.hstack([signals, np.asarray(context_signals(list(logits))).reshape(len(text), len(CONTEXT))]), \
        labels, text


def fit_passes(train: list[Page], l2: float, folds: int) -> tuple[Logistic, Logistic]:
    """Both passes on some pages: the second on the first's out-of-fold log-odds (folds by page)."""
    first = fit(*_rows(train), l2)
    # An article and its opening (ID#opening) fall in one fold.
    order = {name: k for k, name in enumerate(dict.fromkeys(page_of(page[0]) for page in train))}
    fold_of = [order[page_of(page[0])] % folds for page in train]
    logits: list[np.ndarray] = [np.empty(0)] * len(train)
    for fold in range(folds):
        model = fit(*_rows([page for j, page in enumerate(train) if fold_of[j] != fold]), l2)
        for j, page in enumerate(train):
            if fold_of[j] == fold:
                logits[j] = first_logits(model, page[1])
    return first, fit(*_rows([with_context(page, z) for page, z in zip(train, logits, strict=True)]), l2)


def judged(model: ChromeModel, page: Page) -> tuple[list[float], list[float]]:
    """A page's blocks' probabilities as newsbot judges them: the first pass alone, and both."""
    first = [float(p) for p in 1.0 / (1.0 + np.exp(-first_logits(model.first, page[1])))]
    return first, [p for p, _ in model.judge([LineSignals(*row) for row in page[1]])]


def _payload(model: Logistic) -> dict:
    return {"weights": [round(w, 6) for w in model.weights], "bias": round(model.bias, 6),
            "means": [round(m, 6) for m in model.means], "scales": [round(s, 6) for s in model.scales]}


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
@click.option("--folds", type=int, default=7, show_default=True,
              help="Folds (by page) of the first pass's out-of-fold judgements the second is fit on.")
@click.option("--shapes", default=",".join(SHAPES[:2]), show_default=True,
              help="The scrape shapes (benchmarks.cleaning.SHAPES) each labelled page is fit and judged in.")
def main(corpus: Path, out: Path, min_kept: float, clean_dir: Path, clean_count: int, l2: float, folds: int,
         shapes: str) -> None:
    """Fit, cross-validate and write the chrome model."""
    chosen_shapes = [shape.strip() for shape in shapes.split(",") if shape.strip()]
    if unknown := set(chosen_shapes) - set(SHAPES):
        raise click.BadParameter(f"unknown shapes {sorted(unknown)}: one of {', '.join(SHAPES)}", param_hint="--shapes")
    data = pages(corpus, chosen_shapes)
    if not data:
        raise click.ClickException(f"no labelled scrapes under {corpus}: run `make newsroom`")
    files = list(dict.fromkeys(page_of(page[0]) for page in data))
    clean = clean_pages(clean_dir, clean_count) if clean_dir.is_dir() else []
    if not clean:
        raise click.ClickException(f"no clean articles under {clean_dir}: run `python -m training.reader.corpus`")
    # An article and its opening are held out together, as a page in all its shapes is.
    fold_of = {name: k % len(files) for k, name in enumerate(dict.fromkeys(page_of(c[0]) for c in clean))}
    clean_fold = [fold_of[page_of(c[0])] for c in clean]
    scored: dict[str, dict[str, list]] = {"first": {s: [] for s in chosen_shapes},
                                          "both": {s: [] for s in chosen_shapes}}
    clean_scored: list = []
    # Leave one scraped page out (and a share of the clean articles), fit on the rest, judge what was left out.
    for k, name in enumerate(files):
        held = [c for c, fold in zip(clean, clean_fold, strict=True) if fold == k]
        model = ChromeModel(*fit_passes([p for p in data if page_of(p[0]) != name]
                                        + [c for c, fold in zip(clean, clean_fold, strict=True) if fold != k], l2,
                                        folds), 0.5)
        for page in (p for p in data if page_of(p[0]) == name):
            first, both = judged(model, page)
            shape = page[0].split("#")[1]
            scored["first"][shape].append((page[2], page[3], first))
            scored["both"][shape].append((page[2], page[3], both))
        for one in held:
            clean_scored.append((one[2], one[3], judged(model, one)[1]))
    thresholds = [round(t, 3) for t in np.arange(0.05, 0.951, 0.025)]
    figures = {way: {shape: {t: sentences_kept(scored[way][shape], t) for t in thresholds}
                     for shape in chosen_shapes} for way in scored}

    def chosen(way: str) -> float:
        # The article kept in every shape.
        meeting = [t for t in thresholds if min(figures[way][shape][t][0] for shape in chosen_shapes) >= min_kept]
        return max(meeting) if meeting else min(thresholds)

    def at(way: str, t: float) -> dict:
        return {shape: {"article_sentences_kept": round(figures[way][shape][t][0], 4),
                        "chrome_sentences_kept": round(figures[way][shape][t][1], 4)} for shape in chosen_shapes}

    threshold = chosen("both")
    clean_kept = sentences_kept(clean_scored, threshold)[0] if clean_scored else None
    first, second = fit_passes(data + clean, l2, folds)
    alone = chosen("first")
    payload = {
        "format": CHROME_FORMAT, "signals": list(SIGNALS), "context": list(CONTEXT), "first": _payload(first),
        "second": _payload(second), "threshold": threshold,
        "fit_on": f"{len(files)} real scraped pages labelled line by line (tests/data/newsroom/chrome_labels.jsonl), "
                  f"each in the shapes {', '.join(chosen_shapes)}, and {len(fold_of)} articles as clean text, whole "
                  "and their openings (the training half of the written questions' articles)",
        "cross_validated": {"how": "leave one page out (all its shapes)", "by_shape": at("both", threshold),
                            "clean_articles_sentences_kept": round(clean_kept, 4) if clean_kept is not None else None,
                            "first_pass_alone": {"threshold": alone, "by_shape": at("first", alone)},
                            "by_threshold": {shape: {str(t): [round(v, 4) for v in figures["both"][shape][t]]
                                                     for t in thresholds} for shape in chosen_shapes}},
        "command": f"python -m training.cleaning --folds {folds} --l2 {l2} --shapes '{','.join(chosen_shapes)}'",
        "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    click.echo(json.dumps({k: v for k, v in payload.items() if k not in ("first", "second")}, indent=1))


if __name__ == "__main__":
    main()
