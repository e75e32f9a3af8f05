"""The reader's recipe in one command: build the pairs, train, export, report held-out figures (docs/reader.md).

    python -m training.reader [--out .newsbot/training/reader] [--layers 4] [--epochs 1] [--install]
    python -m training.reader --init embeddings/models/reader --lr 2e-5 --epochs 0.35   # the shipped reader, further

Needs the articles behind the written questions: the Lee corpus (`make newsroom`), the BBC News dataset under
../shared/train/bbc (where it is absent, each BBC article is the sentences its questions quote: data.py
`quoted_sentences`), and the SQuAD 2.0 training slice in ../shared/qa. It never reads an evaluation split: the held-out
figures are on the written questions of held-out articles (training/reader/data.py `held_out`). With --install the
exported reader replaces the shipped one (embeddings/models/reader); then refit the answer model
(`python -m benchmarks.fit_answer_model`), which reads the reader's judgements.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from embeddings.encoders.reader import MANIFEST, SHIPPED_READER, OnnxReader
from training.reader import data
from training.reader.export import write_reader
from training.reader.report import held_out_figures
from training.reader.train import train


@click.command()
@data.source_options
@click.option("--precision", type=click.Choice(["int8", "fp32"]), default="int8", show_default=True)
@click.option("--install", is_flag=True, help="Replace the shipped reader with the one trained.")
@click.option("--init", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Train further from a reader: a trained one's final directory or a shipped reader directory.")
@click.option("--lr", type=float, default=4e-5, show_default=True)
@click.option("--listwise", type=float, default=0.0, show_default=True,
              help="Weight of the listwise loss beside the pointwise one (training.reader.train).")
def main(out: Path, bbc: Path, lee: Path, squad: Path, layers: int, epochs: float, precision: str,
         install: bool, init: Path | None, lr: float, listwise: float) -> None:
    """Train, export and report a reader; with --install, ship it."""
    sources = data.make_sources(bbc, lee, squad)
    if not lee.is_dir():
        raise click.ClickException(f"the Lee articles are missing ({lee}): run `make newsroom` (docs/reader.md)")
    if not bbc.is_dir():
        click.echo(f"{bbc} is not here: each BBC article is the sentences its questions quote", err=True)
    final = train(out, sources, layers=layers, epochs=epochs, init=init, lr=lr, listwise=listwise)
    exported = write_reader(final, out / "export", precision)
    figures = held_out_figures(OnnxReader(exported), sources)
    # The figures go into the manifest; the files it checks are unchanged.
    manifest = json.loads((exported / MANIFEST).read_text(encoding="utf-8")) | {"held_out": figures}
    (exported / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    click.echo(json.dumps({k: v for k, v in figures.items() if k != "by_type"}, indent=2))
    if install:
        shutil.rmtree(SHIPPED_READER, ignore_errors=True)
        shutil.copytree(exported, SHIPPED_READER)
        click.echo(f"installed in {SHIPPED_READER}: now run `python -m benchmarks.fit_answer_model`")


if __name__ == "__main__":
    main()
