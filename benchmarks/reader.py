"""`python -m benchmarks.reader` (`make bench-reader`): a whole `ask`, warm, with the reader and without it.

Every question of the files is asked of one index (the seeds by default; NEWSBOT_SEEDS_DIR / NEWSBOT_INDEX_DIR pick
another), `--rounds` times, through the same answering code as the CLI and the cogs; printed: p50, p95 and mean of a
whole `ask` with the shipped reader and with the answer model fit without it, and the reader's own share (one
`read` of the candidates it is given), with the machine's load beside them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from benchmarks.common import summarize, timed
from bot.answer.evaluation import read_questions
from bot.answer.service import NewsService
from bot.settings import Settings
from embeddings.encoders.reader import OnnxReader


class TimedReader:
    """The reader, with the time of each `read` recorded."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds: list[float] = []
        self.sizes: list[int] = []

    def read(self, question, quotes):
        """Read through the inner reader, timing it."""
        found = []
        self.seconds.extend(timed(lambda: found.append(self.inner.read(question, quotes))))
        self.sizes.append(len(quotes))
        return found[0]


@click.command()
@click.option("--questions", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=("../shared/eval/dev_questions.jsonl", "tests/data/questions.jsonl"), show_default=True)
@click.option("--rounds", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def main(files: tuple[Path, ...], rounds: int, as_json: bool) -> None:
    """Print a whole ask's latency with and without the reader."""
    settings = Settings.from_env()
    reader = TimedReader(OnnxReader(settings.reader, settings.reader_threads))
    service = NewsService(settings, reader=reader)
    service.warm_up()
    questions = [q.question for f in files for q in read_questions(f)]
    report: dict[str, object] = {"questions": len(questions), "rounds": rounds, "reader": reader.name,
                                 "reader_threads": settings.reader_threads, "load_before": os.getloadavg()[0]}
    for name, answering in (("with_reader", service.answering()), ("without_reader", service.answering(True))):
        answering.ask(questions[0])
        reader.seconds.clear()
        reader.sizes.clear()
        seconds = [s for _ in range(rounds) for q in questions for s in timed(lambda q=q, a=answering: a.ask(q))]
        report[name] = {"ask": summarize(seconds)}
        if reader.seconds:
            report[name] |= {"read": summarize(reader.seconds),
                             "candidates_read_mean": round(sum(reader.sizes) / len(reader.sizes), 1)}
    report["load_after"] = os.getloadavg()[0]
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['questions']} questions x {rounds} rounds, reader {reader.name} "
               f"({settings.reader_threads} threads), load {report['load_before']:.2f} -> {report['load_after']:.2f}")
    for name in ("with_reader", "without_reader"):
        figures = report[name]
        line = f"  {name:15} ask p50 {figures['ask']['p50_ms']:.1f} ms  p95 {figures['ask']['p95_ms']:.1f} ms"
        if "read" in figures:
            line += (f"  (reader p50 {figures['read']['p50_ms']:.1f} ms for {figures['candidates_read_mean']} "
                     "candidates)")
        click.echo(line)


if __name__ == "__main__":
    main()
