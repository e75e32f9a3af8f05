"""The written questions as a newsbot corpus and question files: their articles as a seeds directory (the BBC
headline as the title line) and the questions in `newsbot eval`'s format (evidence = the answering sentences), split
by article into train and held-out, so that the answer model is fit, and newsbot measured, through its own pipeline.

    python -m training.reader.corpus --out .newsbot/corpora/written
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from training.reader import data


def write_corpus(sources: data.Sources, out: Path) -> dict[str, int]:
    """Write the seeds directory and questions_{train,heldout}.jsonl; return counts."""
    seeds = out / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict]] = {"train": [], "heldout": []}
    written: set[str] = set()
    ids = {json.loads(line)["article"] for path in data.DATA.glob("questions_*.jsonl")
           for line in path.read_text(encoding="utf-8").splitlines()}
    twice = data.seen_in_training({a: text for a in ids if (text := data.read_article(a, sources)) is not None})
    for path in sorted(data.DATA.glob("questions_*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            article = row["article"]
            if article not in written:
                text = data.read_article(article, sources)
                if text is None:
                    continue
                if data.is_quoted(article, sources):
                    # The title line newsbot reads first; the quoted sentences are all body.
                    text = f"{article} (the sentences its questions quote)\n\n{text}"
                (seeds / f"{article}.txt").write_text(text, encoding="utf-8")
                written.add(article)
            question = {"id": f"{path.stem}:{number}", "question": row["question"], "answerable": row["answerable"],
                        "type": row["type"]}
            if row["answerable"]:
                question |= {"sources": [article], "evidence": row["answers"]}
            else:
                question["about"] = [article]
            if article in twice:
                continue  # held out, but its text is a training article's too: measured on by neither half
            rows["heldout" if data.held_out(article) else "train"].append(question)
    for split, found in rows.items():
        (out / f"questions_{split}.jsonl").write_text(
            "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in found), encoding="utf-8")
    return {"articles": len(written), **{split: len(found) for split, found in rows.items()}}


@click.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path(".newsbot/corpora/written"),
              show_default=True)
@click.option("--bbc", type=click.Path(path_type=Path), default=Path("../shared/train/bbc"), show_default=True)
@click.option("--lee", type=click.Path(path_type=Path), default=Path(".newsbot/corpora/newsroom/text"),
              show_default=True)
def main(out: Path, bbc: Path, lee: Path) -> None:
    """Write the written questions' corpus and question files."""
    click.echo(json.dumps(write_corpus(data.make_sources(bbc, lee, Path("-")), out)))


if __name__ == "__main__":
    main()
