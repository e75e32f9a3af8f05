"""How much site chrome newsbot keeps from plain-text scrapes, against the article text trafilatura extracts from the
same pages' HTML (`make newsroom` downloads both): `python -m benchmarks.chrome [--corpus DIR] [--questions F...]`.

Prints, over every scraped page: the share of the body lines newsbot keeps that are not the article's (chrome kept)
and the share of the article's lines it drops (article lost); with --questions, the share of cited sentences on
scraped pages that are chrome (the target is 0).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from embeddings.ingest.plaintext import parse_article
from embeddings.terms import normalize

DEFAULT_CORPUS = Path(".newsbot/corpora/newsroom")


def article_text(html: bytes) -> str:
    """The article's text as trafilatura extracts it from the page (the reference)."""
    import trafilatura

    return normalize(trafilatura.extract(html.decode("utf-8", "replace"), include_comments=False,
                                         include_tables=False, favor_precision=False) or "")


def is_article(line: str, reference: str) -> bool:
    """True when a line (or its longest sentence-sized part) is in the reference text."""
    folded = normalize(line)
    if not folded:
        return True
    if folded in reference:
        return True
    parts = [p for p in re.split(r"(?<=[.!?”\"])\s+", folded) if len(p) >= 20]
    return bool(parts) and sum(len(p) for p in parts if p in reference) >= 0.6 * sum(len(p) for p in parts)


def page_figures(corpus: Path) -> dict[str, dict[str, float]]:
    """For each scraped page: lines kept, chrome kept and article lost."""
    figures = {}
    for scrape in sorted((corpus / "scrape").glob("*.txt")):
        html = corpus / "html" / f"{scrape.stem}.html"
        if not html.is_file():
            continue
        reference = article_text(html.read_bytes())
        text = scrape.read_text(encoding="utf-8")
        article = parse_article(scrape.stem, text)
        kept = [article.span_text(span) for span in article.body]
        dropped = [article.span_text(span) for _, span in article.noise]
        chrome = [line for line in kept if not is_article(line, reference)]
        lost = [line for line in dropped if len(line) >= 40 and is_article(line, reference)]
        article_lines = len(kept) - len(chrome) + len(lost)
        figures[scrape.stem] = {"kept": len(kept), "chrome_kept": len(chrome), "article_lines": article_lines,
                                "article_lost": len(lost), "chrome_examples": chrome[:3], "lost_examples": lost[:3]}
    return figures


def cited_chrome(corpus: Path, questions: list[Path], index_dir: Path, seeds_dir: Path) -> dict[str, float]:
    """Ask the questions; return the share of cited sentences on scraped pages that are not the article's."""
    from bot.answer.evaluation import read_questions
    from bot.answer.service import NewsService
    from bot.settings import Settings

    settings = Settings.from_env().with_overrides(index_dir=index_dir, seeds_dir=seeds_dir)
    service = NewsService(settings)
    references: dict[str, str] = {}
    cited = chrome = 0
    for path in questions:
        for question in read_questions(path):
            for citation in service.ask(question.question).citations:
                html = corpus / "html" / f"{citation.source_id}.html"
                if not html.is_file():
                    continue
                if citation.source_id not in references:
                    references[citation.source_id] = article_text(html.read_bytes())
                cited += 1
                chrome += not is_article(citation.quote, references[citation.source_id])
    return {"cited_on_scrapes": cited, "chrome_cited": chrome, "share": round(chrome / cited, 4) if cited else 0.0}


@click.command()
@click.option("--corpus", type=click.Path(path_type=Path), default=DEFAULT_CORPUS, show_default=True)
@click.option("--questions", multiple=True, type=click.Path(path_type=Path, exists=True))
@click.option("--index-dir", type=click.Path(path_type=Path), default=Path(".newsbot/newsroom-index"),
              show_default=True)
@click.option("--seeds", type=click.Path(path_type=Path), default=Path(".newsbot/corpora/newsroom-txt"),
              show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--verbose", is_flag=True, help="Show examples of chrome kept and article lost per page.")
def main(corpus: Path, questions: tuple[Path, ...], index_dir: Path, seeds: Path, as_json: bool, verbose: bool) -> None:
    """Measure the chrome newsbot keeps from scraped pages."""
    pages = page_figures(corpus)
    kept = sum(p["kept"] for p in pages.values())
    report = {
        "pages": len(pages),
        "chrome_kept_share": round(sum(p["chrome_kept"] for p in pages.values()) / max(kept, 1), 4),
        "article_lost_share": round(sum(p["article_lost"] for p in pages.values())
                                    / max(sum(p["article_lines"] for p in pages.values()), 1), 4),
    }
    if questions:
        report["cited"] = cited_chrome(corpus, list(questions), index_dir, seeds)
    if as_json:
        click.echo(json.dumps(report | {"per_page": pages}))
        return
    for name, page in pages.items():
        click.echo(f"{name:<34} kept {page['kept']:>4}  chrome kept {page['chrome_kept']:>3}  "
                   f"article lost {page['article_lost']:>3} of {page['article_lines']}")
        if verbose:
            for line in page["chrome_examples"]:
                click.echo(f"      chrome: {line[:110]}")
            for line in page["lost_examples"]:
                click.echo(f"      lost:   {line[:110]}")
    click.echo(json.dumps(report))


if __name__ == "__main__":
    main()
