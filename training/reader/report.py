"""Held-out figures of a reader: on the questions of the held-out articles (never trained on), each question's
candidates are every sentence of its article and the sentences of other held-out articles the bi-encoder puts
closest; the reader's best candidate against the bi-encoder's, and how well the best score tells answerable
questions from unanswerable ones (ROC AUC).

    python -m training.reader.report --reader embeddings/models/reader [--json out.json]
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import click
import numpy as np

from embeddings.encoders.reader import OnnxReader
from training.reader import data


def auc(positive: list[float], negative: list[float]) -> float | None:
    """The probability that a random answerable question scores above a random unanswerable one."""
    if not positive or not negative:
        return None
    neg = np.sort(np.asarray(negative))
    wins = sum(np.searchsorted(neg, p, side="left") + 0.5 * (np.searchsorted(neg, p, side="right")
                                                            - np.searchsorted(neg, p, side="left")) for p in positive)
    return round(float(wins) / (len(positive) * len(negative)), 4)


def held_out_figures(reader, sources: data.Sources, limit: int = 0) -> dict:
    """Lead and AUC of the reader and of the bi-encoder on the held-out articles' questions."""
    from sentence_transformers import SentenceTransformer

    from training.reader.base import base_model_path

    questions, articles = data.news_questions(sources)
    texts = {a: text for a in articles if (text := data.read_article(a, sources)) is not None}
    twice = data.seen_in_training(texts)
    held = [q for q in questions if data.held_out(q.article) and q.article not in twice]
    if limit:
        held = held[:limit]
    held_articles = {k: v for k, v in articles.items() if data.held_out(k)}
    encoder = SentenceTransformer(base_model_path(), device="cpu")

    seen: dict[str, np.ndarray] = {}

    def embed(texts):
        # Each article's sentences are every one of its questions' candidates: embedded once, not per question.
        texts = list(texts)
        if missing := [text for text in dict.fromkeys(texts) if text not in seen]:
            vectors = encoder.encode(missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            seen.update(zip(missing, vectors, strict=True))
        return np.stack([seen[text] for text in texts])

    others = data.cross_negatives(held, held_articles, embed, per_question=4)
    rows = []
    spent = 0.0
    for q in held:
        sentences = list(held_articles[q.article].sentences)
        candidates = sentences + others[q.qid]
        started = time.perf_counter()
        read = reader.read(q.text, candidates)
        spent += time.perf_counter() - started
        cosine = embed(candidates) @ embed([q.text])[0]
        answers = set(q.answers)
        rows.append({"kind": q.kind, "answerable": q.answerable,
                     "reader_lead": int(np.argmax(read)) in answers, "bi_lead": int(np.argmax(cosine)) in answers,
                     "reader_best": float(np.max(read)), "bi_best": float(np.max(cosine)),
                     "candidates": len(candidates)})

    def figures(subset: list[dict]) -> dict:
        answerable = [r for r in subset if r["answerable"]]
        unanswerable = [r for r in subset if not r["answerable"]]
        share = (lambda key: round(sum(r[key] for r in answerable) / len(answerable), 4)) if answerable else (
            lambda key: None)
        return {"questions": len(subset), "answerable": len(answerable),
                "lead_reader": share("reader_lead"), "lead_bi_encoder": share("bi_lead"),
                "auc_reader": auc([r["reader_best"] for r in answerable], [r["reader_best"] for r in unanswerable]),
                "auc_bi_encoder": auc([r["bi_best"] for r in answerable], [r["bi_best"] for r in unanswerable])}

    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    result = figures(rows)
    result["by_type"] = {k: figures(v) for k, v in sorted(by_kind.items())}
    result["articles"] = len({q.article for q in held})
    result["quoted_articles"] = sum(data.is_quoted(a, sources) for a in {q.article for q in held})
    result["reader_ms_per_question"] = round(1000 * spent / max(len(rows), 1), 1)
    result["candidates_per_question"] = round(sum(r["candidates"] for r in rows) / max(len(rows), 1), 1)
    return result


@click.command()
@click.option("--reader", "reader_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--bbc", type=click.Path(path_type=Path), default=Path("../shared/train/bbc"), show_default=True)
@click.option("--lee", type=click.Path(path_type=Path), default=Path(".newsbot/corpora/newsroom/text"),
              show_default=True)
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--limit", type=int, default=0)
def main(reader_dir: Path, bbc: Path, lee: Path, json_out: Path | None, limit: int) -> None:
    """Print the held-out figures (and write them as JSON)."""
    result = held_out_figures(OnnxReader(reader_dir), data.make_sources(bbc, lee, Path("-")), limit)
    text = json.dumps(result, indent=2)
    click.echo(text)
    if json_out:
        json_out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
