"""Turn question writers' files (sentence numbers into numbered articles) into the committed training questions,
whose answers, supports and lures are sentence texts: independent of how a later splitter numbers sentences.

    python -m training.reader.collect --questions ../shared/train/questions --numbered ../shared/train/numbered
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

OUT = Path(__file__).resolve().parent.parent / "data"
_LINE = re.compile(r"\[(\d+)\] (.*)")


def numbered(path: Path) -> dict[int, str]:
    """An article's sentences by number."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


@click.command()
@click.option("--questions", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--numbered", "numbered_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=OUT, show_default=True)
def main(questions: Path, numbered_dir: Path, out: Path) -> None:
    """Write one JSON Lines file of questions per corpus (bbc, lee) with sentence texts."""
    articles = {p.stem: p for p in numbered_dir.glob("batch*/*.txt")}
    rows: dict[str, list[dict]] = {}
    skipped = 0
    for path in sorted(questions.glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                q = json.loads(line)
                sentences = numbered(articles[q["article"]])
                row = {"article": q["article"], "question": q["question"].strip(), "answerable": q["answerable"],
                       "type": q["type"]}
                for key in ("answers", "supports", "lures"):
                    row[key] = [sentences[n] for n in q.get(key, [])]
                if q.get("note"):
                    row["note"] = q["note"]
            except (KeyError, ValueError, TypeError):
                skipped += 1
                continue
            corpus = "bbc" if q["article"].startswith("bbc_") else "lee"
            rows.setdefault(corpus, []).append(row)
    out.mkdir(parents=True, exist_ok=True)
    for corpus, found in sorted(rows.items()):
        target = out / f"questions_{corpus}.jsonl"
        target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in found), encoding="utf-8")
        click.echo(f"{target}: {len(found)} questions, {len({r['article'] for r in found})} articles")
    if skipped:
        click.echo(f"skipped {skipped} malformed lines")


if __name__ == "__main__":
    main()
