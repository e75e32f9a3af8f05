"""`python -m benchmarks.extraction`: how well each way of reading a saved page keeps the article and leaves the chrome.

On the hand-written fixture pages (tests/data/ingest/gold.json holds their article paragraphs and metadata): word
precision, recall and F1 of the text each extractor keeps. On real pages (`--pages`, by default the 28 of
`make newsroom`): pages with an article, metadata found, dates that agree with a date in the URL, the newsroom
questions' evidence phrases still in the text, and lines of site chrome left in it. Figures only, never pass/fail.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import click

from embeddings.ingest.plaintext import parse_article
from embeddings.ingest.readers.common import ReadLimits
from embeddings.ingest.readers.html import decode_page, read_html

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "ingest"
NEWSROOM = ROOT / ".newsbot" / "corpora" / "newsroom"
QUESTIONS = (ROOT / "tests" / "data" / "newsroom" / "questions_train.jsonl",
             ROOT / "tests" / "data" / "newsroom" / "questions_heldout.jsonl")
_WORD = re.compile(r"\w+", re.UNICODE)
_URL_DATE = re.compile(r"/(20\d\d|19\d\d)[/-](\d\d)[/-](\d\d)(?:/|\b)")
# Lines that are site chrome on any news site (a proxy for precision where there is no gold text).
_CHROME = re.compile(
    r"cookie|subscribe|sign up|newsletter|advertis|all rights reserved|privacy policy|terms of (?:use|service)|"
    r"share (?:this|on)|follow us|read more|related (?:articles|stories|content)|most (?:read|popular)|"
    r"sign in|log in|comments?\b|\bmenu\b|skip to", re.I)

Extractor = Callable[[str, bytes], str | None]


def _tree_text(raw: bytes, name: str):
    import lxml.html

    text, _ = decode_page(name, raw)
    if text is None:
        return None
    tree = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return tree


def naive(name: str, raw: bytes) -> str | None:
    """All the page's text, block by block, scripts and styles dropped (how tests/data/newsroom scrapes pages)."""
    tree = _tree_text(raw, name)
    if tree is None:
        return None
    body = tree.find("body") if tree.find("body") is not None else tree
    lines = [" ".join(e.text_content().split()) for e in body.iter("p", "h1", "h2", "h3", "li", "div", "td", "span",
                                                                    "a", "figcaption", "small", "button")
             if not any(c.tag in ("p", "div", "li", "td") for c in e)]
    return "\n".join(dict.fromkeys(line for line in lines if line))


def naive_with_rules(name: str, raw: bytes) -> str | None:
    """The naive text read as a `.txt` seed: newsbot's plain-text rules (title, captions, read-more, boilerplate)."""
    text = naive(name, raw)
    return parse_article("page", text).clean_text if text else None


def paragraphs_only(name: str, raw: bytes) -> str | None:
    """Only the text of <p> elements: the classic simple extractor."""
    tree = _tree_text(raw, name)
    if tree is None:
        return None
    return "\n".join(t for t in (" ".join(p.text_content().split()) for p in tree.iter("p")) if t)


def justext_paragraphs(name: str, raw: bytes) -> str | None:
    """jusText's non-boilerplate paragraphs (English stop words)."""
    import justext

    text, _ = decode_page(name, raw)
    if text is None:
        return None
    paragraphs = justext.justext(text.encode("utf-8"), justext.get_stoplist("English"), encoding="utf-8")
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def trafilatura_default(name: str, raw: bytes) -> str | None:
    """trafilatura.extract with its defaults."""
    import trafilatura

    text, _ = decode_page(name, raw)
    return trafilatura.extract(text) if text else None


def newsbot_reader(name: str, raw: bytes) -> str | None:
    """newsbot's HTML reader: trafilatura, pruned page parts, noise marks; the text that gets chunked."""
    reading = read_html(name, raw, ReadLimits())
    return reading.articles[0].clean_text if reading.articles else None


EXTRACTORS: dict[str, Extractor] = {
    "naive text": naive, "naive + .txt rules": naive_with_rules, "<p> only": paragraphs_only,
    "jusText": justext_paragraphs, "trafilatura defaults": trafilatura_default, "newsbot reader": newsbot_reader,
}


def _words(text: str) -> Counter:
    return Counter(w.lower() for w in _WORD.findall(text))


def word_scores(extracted: str | None, gold: str) -> tuple[int, int, int]:
    """Return (common words, extracted words, gold words) over bags of words."""
    got, want = _words(extracted or ""), _words(gold)
    return sum((got & want).values()), sum(got.values()), sum(want.values())


def fixture_figures(fixtures: Path = FIXTURES) -> dict[str, dict[str, float]]:
    """Word precision, recall and F1 (micro-averaged) of every extractor on the fixture pages."""
    gold = json.loads((fixtures / "gold.json").read_text(encoding="utf-8"))["pages"]
    figures = {}
    for label, extract in EXTRACTORS.items():
        common = got = want = 0
        for name, expected in gold.items():
            c, g, w = word_scores(extract(name, (fixtures / "pages" / name).read_bytes()), "\n".join(expected["body"]))
            common, got, want = common + c, got + g, want + w
        precision, recall = common / max(got, 1), common / max(want, 1)
        figures[label] = {"precision": round(precision, 3), "recall": round(recall, 3),
                          "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 3)}
    return figures


def fixture_metadata(fixtures: Path = FIXTURES) -> dict[str, float]:
    """Share of fixture pages whose title, date, outlet, url and author the reader gets exactly right."""
    gold = json.loads((fixtures / "gold.json").read_text(encoding="utf-8"))["pages"]
    right = Counter()
    for name, expected in gold.items():
        articles = read_html(name, (fixtures / "pages" / name).read_bytes(), ReadLimits()).articles
        for key in ("title", "date", "outlet", "url", "author"):
            right[key] += bool(articles) and getattr(articles[0], key) == expected[key]
    return {key: round(right[key] / len(gold), 3) for key in ("title", "date", "outlet", "url", "author")}


def _evidence(pages: Path) -> dict[str, list[list[str]]]:
    """Each page's questions' evidence phrases (from the newsroom question sets)."""
    found: dict[str, list[list[str]]] = {}
    for path in QUESTIONS:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for source in item.get("sources", []):
                if (pages / f"{source}.html").is_file() and item.get("evidence"):
                    found.setdefault(source, []).append(item["evidence"])
    return found


def _squash(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).casefold()


def real_page_figures(pages: Path) -> dict[str, dict[str, float]]:
    """Per extractor: pages with text, evidence found, chrome lines and characters kept, and seconds per page."""
    evidence = _evidence(pages)
    paths = sorted(pages.glob("*.html"))
    figures = {}
    for label, extract in EXTRACTORS.items():
        texts, started = {}, time.perf_counter()
        for path in paths:
            texts[path.stem] = extract(path.name, path.read_bytes()) or ""
        seconds = (time.perf_counter() - started) / max(len(paths), 1)
        asked = [(stem, phrases) for stem, items in evidence.items() for phrases in items]
        answered = sum(any(_squash(p) in _squash(texts[stem]) for p in phrases) for stem, phrases in asked)
        lines = [line for text in texts.values() for line in text.splitlines() if line.strip()]
        chrome = sum(bool(_CHROME.search(line)) and len(line) < 200 for line in lines)
        figures[label] = {"pages_with_text": sum(bool(t.strip()) for t in texts.values()),
                          "questions_with_evidence": answered, "questions": len(asked),
                          "chrome_lines": chrome, "lines": len(lines),
                          "chars": sum(len(t) for t in texts.values()), "ms_per_page": round(seconds * 1000, 1)}
    return figures


def real_page_metadata(pages: Path) -> dict[str, object]:
    """The reader's metadata on real pages: how many have each field, and dates against a date in the URL."""
    articles = [a for path in sorted(pages.glob("*.html"))
                for a in read_html(path.name, path.read_bytes(), ReadLimits()).articles]
    counts = {key: sum(bool(getattr(a, key)) for a in articles) for key in ("title", "date", "outlet", "url", "author")}
    with_url_date = [(a, m) for a in articles if a.url and (m := _URL_DATE.search(a.url))]
    agree = sum(a.date == f"{m.group(1)}-{m.group(2)}-{m.group(3)}" for a, m in with_url_date)
    return {"pages": len(list(pages.glob("*.html"))), "articles": len(articles), **counts,
            "url_dated": len(with_url_date), "date_agrees_with_url": agree}


@click.command()
@click.option("--pages", type=click.Path(path_type=Path), default=NEWSROOM / "html", show_default=True,
              help="A directory of real saved pages (`make newsroom` downloads 28); skipped when missing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def main(pages: Path, as_json: bool) -> None:
    """Print extraction figures: fixtures against their gold text, then real pages."""
    result: dict[str, object] = {"fixtures": fixture_figures(), "fixture_metadata": fixture_metadata()}
    if pages.is_dir():
        result["real_pages"] = real_page_figures(pages)
        result["real_page_metadata"] = real_page_metadata(pages)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    click.echo("fixture pages (word precision / recall / F1 against the hand-written article text):")
    for label, row in result["fixtures"].items():  # type: ignore[union-attr]
        click.echo(f"  {label:<22} {row['precision']:.3f} / {row['recall']:.3f} / {row['f1']:.3f}")
    click.echo(f"  reader metadata exactly right: {result['fixture_metadata']}")
    if "real_pages" in result:
        click.echo(f"real pages in {pages} (questions: newsroom questions whose evidence is still in the text):")
        for label, row in result["real_pages"].items():  # type: ignore[union-attr]
            click.echo(f"  {label:<22} pages {row['pages_with_text']:>2}  questions {row['questions_with_evidence']}"
                       f"/{row['questions']}  chrome lines {row['chrome_lines']:>4} of {row['lines']:>5}  "
                       f"chars {row['chars']:>7}  {row['ms_per_page']:>6} ms/page")
        click.echo(f"  reader metadata: {result['real_page_metadata']}")


if __name__ == "__main__":
    main()
