"""Train the reader: a cross-encoder initialised from the bundled MiniLM weights (its first --layers layers), on CPU
(or an accelerator when one is there), checkpointed so that a stopped run resumes where it was.

    python -m training.reader.train --out .newsbot/training/reader [--layers 4] [--epochs 1]
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import click
import torch

from embeddings.encoders.reader import MANIFEST, encode_pairs, plain_tokenizer
from training.reader import data
from training.reader.base import base_model_path, load_base

MAX_TOKENS = 128
QUESTION_TOKENS = 40
_PLAIN: dict[int, object] = {}


def encode(tokenizer, questions: list[str], quotes: list[str]) -> dict[str, torch.Tensor]:
    """Tokenize (question, quote) pairs exactly as newsbot's reader does (embeddings.encoders.reader.encode_pairs)."""
    plain = _PLAIN.setdefault(id(tokenizer), plain_tokenizer(tokenizer.backend_tokenizer))
    pairs = [encode_pairs(plain, q, [quote], MAX_TOKENS, QUESTION_TOKENS)[0]
             for q, quote in zip(questions, quotes, strict=True)]
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.zeros((len(pairs), width), dtype=torch.long)
    types = torch.zeros((len(pairs), width), dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (tokens, segments) in enumerate(pairs):
        ids[row, :len(tokens)] = torch.tensor(tokens)
        types[row, :len(tokens)] = torch.tensor(segments)
        mask[row, :len(tokens)] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def build_pairs(sources: data.Sources, seed: int, cross: int) -> tuple[list[data.Pair], dict]:
    """Every training pair (held-out articles left out), shuffled, with counts."""
    rng = random.Random(seed)
    news, news_articles = data.news_questions(sources)
    squad, squad_articles = data.squad_questions(sources.squad) if sources.squad.is_file() else ([], {})
    train_news = [q for q in news if not data.held_out(q.article)]
    pairs: list[data.Pair] = []
    for q in train_news:
        pairs += data.article_pairs(q, news_articles[q.article], rng)
    for q in squad:
        pairs += data.article_pairs(q, squad_articles[q.article], rng, in_article=5)
    if cross:
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(base_model_path(), device="cpu")

        def embed(texts):
            return encoder.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

        train_articles = {k: v for k, v in news_articles.items() if not data.held_out(k)}
        by_id = {q.qid: q for q in train_news}
        for qid, quotes in data.cross_negatives(train_news, train_articles, embed, cross).items():
            q = by_id[qid]
            pairs += [data.Pair(q.text, quote, 0.0, 1.0, "other", q.kind) for quote in quotes]
    rng.shuffle(pairs)
    counts = {"pairs": len(pairs), "positives": sum(p.label > 0 for p in pairs), "news_questions": len(train_news),
              "news_articles": len({q.article for q in train_news}), "squad_questions": len(squad),
              "held_out_news_questions": len(news) - len(train_news),
              "quoted_articles": sum(data.is_quoted(a, sources) for a in {q.article for q in train_news})}
    return pairs, counts


def batches(pairs: list[data.Pair], size: int, rng: random.Random) -> list[list[data.Pair]]:
    """Batches of similar lengths (little padding), in random order."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].question) + len(pairs[i].quote) + rng.random() * 40)
    grouped = [[pairs[i] for i in order[at:at + size]] for at in range(0, len(order), size)]
    rng.shuffle(grouped)
    return grouped


def question_batches(pairs: list[data.Pair], size: int, rng: random.Random) -> list[list[data.Pair]]:
    """Batches of whole questions (all of a question's pairs in one batch, as the listwise loss compares them), the
    questions of similar lengths together, in random order; a batch has at most `size` pairs, unless one question
    alone has more."""
    groups: dict[str, list[data.Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.question, []).append(pair)
    order = sorted(groups.values(), key=lambda group: len(group[0].question) + sum(len(p.quote) for p in group)
                   / len(group) + rng.random() * 40)
    grouped: list[list[data.Pair]] = []
    for group in order:
        if grouped and len(grouped[-1]) + len(group) <= size:
            grouped[-1] += group
        else:
            grouped.append(list(group))
    rng.shuffle(grouped)
    return grouped


def listwise_loss(logits: torch.Tensor, batch: list[data.Pair]) -> torch.Tensor:
    """Each question's candidates compete with "none of them" (a log-odds of 0, where the reader's probability
    crosses one half): an answerable question's answers should win over its lures and over none, an unanswerable
    question's none over its best lure. The pointwise loss judges each sentence alone; this one judges the best
    sentence of a question against the rest, as ranking and declining use the reader."""
    rows_of: dict[str, list[int]] = {}
    for row, pair in enumerate(batch):
        rows_of.setdefault(pair.question, []).append(row)
    none = logits.new_zeros(1)
    losses = []
    for rows in rows_of.values():
        scores = torch.cat([none, logits[rows]])
        answers = [at + 1 for at, row in enumerate(rows) if batch[row].label > 0]
        wanted = scores[answers] if answers else scores[:1]
        losses.append(torch.logsumexp(scores, 0) - torch.logsumexp(wanted, 0))
    return torch.stack(losses).mean()


def train(out: Path, sources: data.Sources, layers: int = 4, epochs: float = 1.0, batch_size: int = 32,
          lr: float = 4e-5, cross: int = 4, threads: int = 2, seed: int = 13, checkpoint_every: int = 200,
          limit: int = 0, init: Path | None = None, listwise: float = 0.0) -> Path:
    """Train (or resume) the reader and write its weights to OUT/final; return that directory."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cache = out / "pairs.jsonl"
    if cache.is_file():
        pairs = [data.Pair(**json.loads(line)) for line in cache.read_text(encoding="utf-8").splitlines()]
        counts = json.loads((out / "pairs.json").read_text())
    else:
        pairs, counts = build_pairs(sources, seed, cross)
        cache.write_text("".join(json.dumps(p.__dict__, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
        (out / "pairs.json").write_text(json.dumps(counts, indent=2))
    if limit:
        pairs = pairs[:limit]
    click.echo(f"{counts} (training on {len(pairs)})")
    if init is not None and (init / MANIFEST).is_file():
        from training.reader.unpack import unpack_reader

        init = unpack_reader(init, out / "unpacked")
    tokenizer, model = load_base(layers, init)
    model.to(device)
    # With the listwise loss a batch holds whole questions; an epoch is as many batches as the first epoch's plan.
    plan_of = question_batches if listwise else batches
    per_epoch = len(plan_of(pairs, batch_size, random.Random(seed)))
    total = int(per_epoch * epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / max(1, total - warmup)))
    step = 0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        click.echo(f"resumed at step {step} of {total}")
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    started, seen, running = time.time(), 0, 0.0
    while step < total:
        epoch = step // per_epoch
        plan = plan_of(pairs, batch_size, random.Random(seed + epoch))
        plan = (plan * 2)[:per_epoch]  # every epoch as long as the first, so a resumed run finds its place
        for batch in plan[step % per_epoch:]:
            inputs = {k: v.to(device) for k, v in encode(tokenizer, [p.question for p in batch],
                                                         [p.quote for p in batch]).items()}
            labels = torch.tensor([p.label for p in batch], device=device)
            weights = torch.tensor([p.weight for p in batch], device=device)
            logits = model(**inputs).logits.squeeze(-1)
            loss = (loss_fn(logits, labels) * weights).sum() / weights.sum()
            if listwise:
                loss = loss + listwise * listwise_loss(logits, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            seen += len(batch)
            running = 0.98 * running + 0.02 * float(loss.detach()) if step > 1 else float(loss.detach())
            if step % 20 == 0:
                # Two threads that must meet at every operator crawl when another process takes a core: on a
                # shared machine one thread goes faster than two.
                torch.set_num_threads(1 if os.getloadavg()[0] > threads + 0.5 else threads)
                rate = seen / (time.time() - started)
                click.echo(f"step {step}/{total} epoch {epoch} loss {running:.4f} {rate:.1f} pairs/s "
                           f"eta {(total - step) * batch_size / rate / 60:.0f} min", err=True)
            if step % checkpoint_every == 0 or step == total:
                # Written beside and renamed: a run killed while saving leaves the last good checkpoint.
                tmp = checkpoint.with_suffix(".tmp")
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(), "step": step}, tmp)
                tmp.replace(checkpoint)
            if step >= total:
                break
    final = out / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    (final / "training.json").write_text(json.dumps({
        "counts": counts, "layers": layers, "epochs": epochs, "batch_size": batch_size, "lr": lr, "cross": cross,
        "listwise": listwise, "seed": seed, "steps": total, "max_tokens": MAX_TOKENS,
        "question_tokens": QUESTION_TOKENS,
        "init": str(init) if init else "all-MiniLM-L6-v2", "before": json.loads((init / "training.json").read_text())
        if init is not None and (init / "training.json").is_file() else None}, indent=2))
    click.echo(f"wrote {final}")
    return final


@click.command()
@data.source_options
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=4e-5, show_default=True)
@click.option("--cross", type=int, default=4, show_default=True,
              help="Hard negatives from other articles per question.")
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--checkpoint-every", type=int, default=200, show_default=True)
@click.option("--limit", type=int, default=0, help="Train on at most this many pairs (a smoke test).")
@click.option("--listwise", type=float, default=0.0, show_default=True,
              help="Weight of the listwise loss (a question's sentences and 'none of them' compete); 0: pointwise "
                   "only.")
@click.option("--init", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Start from a reader trained before (its final directory, or a shipped reader directory, "
                   "unpacked) instead of the bundled weights.")
def main(out: Path, bbc: Path, lee: Path, squad: Path, **options) -> None:
    """Train (or resume) the reader and write its weights to OUT/final."""
    train(out, data.make_sources(bbc, lee, squad), **options)


if __name__ == "__main__":
    main()
