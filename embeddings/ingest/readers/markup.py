"""Markup to blocks: an HTML fragment (a feed item's content, an export's HTML body) or trafilatura's XML output
becomes paragraph blocks; then the chrome that survives extraction (read-more links, bylines, captions, promos,
feed footers) is marked as noise."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from embeddings.ingest.chrome import PROSE_TESTS
from embeddings.ingest.readers.common import BODY_KINDS, Block, Found, is_sentence, normalize_space

# HTML and trafilatura's XML (head, item, quote, lb) side by side.
_KINDS = {
    "p": "paragraph", "div": "paragraph", "section": "paragraph", "article": "paragraph", "td": "paragraph",
    "th": "paragraph", "dd": "paragraph", "dt": "paragraph", "pre": "paragraph", "code": "paragraph",
    "address": "paragraph", "main": "paragraph", "body": "paragraph", "table": "paragraph", "tr": "paragraph",
    "h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading", "h5": "heading", "h6": "heading",
    "head": "heading", "li": "item", "item": "item", "blockquote": "quote", "quote": "quote",
    "figcaption": "caption", "caption": "caption",
}
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "form",
                   "button", "select", "textarea", "input", "nav", "aside", "footer", "header", "img", "video",
                   "audio", "picture", "source", "graphic"})
_BREAKS = frozenset({"br", "lb", "hr"})
_LINKS = frozenset({"a", "ref"})

_SHORT = 120
_READ_MORE = re.compile(
    r"^(?:read (?:more|also|next)|also read|see also|related(?: articles?| stories| content| coverage)?|"
    r"more on this(?: story| topic)?|recommended(?: reading)?|you may also like|watch|listen|explainer)\s*[:|»>–—-]",
    re.I,
)
_FEED_FOOTER = re.compile(r"^(?:the post .{1,300} appeared first on .{1,200}|continue reading\b.{0,200})$", re.I)
_CAPTION = re.compile(
    r"\b(?:photo(?:graph)?|picture|image|credit|illustration|video)s?\s*(?:by\b|:)|©|\((?:photo|picture)\b", re.I
)
_BYLINE = re.compile(r"^(?:by|words by|reporting by|written by)\s+\S", re.I)
_DATELINE = re.compile(r"^(?:published|updated|posted|last updated|first published)\b.{0,60}\d{4}", re.I)
_PROMO = re.compile(
    r"\b(?:subscribe (?:to|now|for|today)|sign up (?:for|to|here)|newsletter|download (?:our|the) (?:free )?app|"
    r"follow us on|share this (?:article|story|page)|support (?:local|our|independent|quality) journalism|"
    r"all rights reserved|cookie (?:policy|settings)|we use cookies|unlimited access|log in to (?:read|continue)|"
    r"already a subscriber)\b",
    re.I,
)
_EMBED = re.compile(r"—\s*[^—]{1,80}\(@\w{1,30}\)|\bpic\.(?:twitter|x)\.\w+/", re.I)
_TRAILING_MARK = re.compile(r"\s*(?:\[(?:…|\.\.\.|&#8230;)\]|\[\s*read more\s*\]|read more\s*»|»)\s*$", re.I)


def _tag(element: object) -> str | None:
    tag = getattr(element, "tag", None)
    if not isinstance(tag, str):
        return None  # a comment or processing instruction
    return tag.rsplit("}", 1)[-1].lower()


class _Collector:
    """Gathers text into blocks, one per block-level element (or line inside one)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.kinds: list[str] = []
        self.parts: list[str] = []
        self.link_parts: list[str] = []
        self.in_link = 0

    def add(self, text: str | None, line_break: bool = False) -> None:
        if text:
            # A line break in markup is a space; only <br> (trafilatura's <lb>) breaks a line.
            text = "\n" if line_break else text.replace("\n", " ")
            self.parts.append(text)
            if self.in_link:
                self.link_parts.append(text)

    def flush(self) -> None:
        text = normalize_space("".join(self.parts))
        linked = len(" ".join("".join(self.link_parts).split()))
        self.parts, self.link_parts = [], []
        kind = self.kinds[-1] if self.kinds else "paragraph"
        lines = [line for line in text.split("\n") if line]
        total = sum(len(line) for line in lines) or 1
        for line in lines:
            self.blocks.append(Block(kind, line, min(1.0, linked / total)))

    def walk(self, root: object) -> None:
        """Visit a tree in document order without recursion: hostile markup may nest thousands deep."""
        stack: list[tuple[object, bool]] = [(root, False)]
        while stack:
            element, leaving = stack.pop()
            tag = _tag(element)
            if leaving:
                self.in_link -= tag in _LINKS
                if _KINDS.get(tag or ""):
                    self.flush()
                    self.kinds.pop()
                self.add(getattr(element, "tail", None))
                continue
            if tag is None or tag in _SKIP:
                self.add(getattr(element, "tail", None))
                continue
            if kind := _KINDS.get(tag):
                self.flush()
                self.kinds.append(kind)
            if tag in _BREAKS:
                self.add("\n", line_break=True)
            self.in_link += tag in _LINKS
            self.add(element.text)  # type: ignore[attr-defined]
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(list(element)))  # type: ignore[call-overload]


def blocks_from_tree(root: object) -> list[Block]:
    """Return the blocks of an lxml element: block-level elements become blocks, scripts and media are dropped."""
    collector = _Collector()
    collector.walk(root)
    collector.flush()
    return collector.blocks


def blocks_from_html(fragment: str) -> list[Block]:
    """Return the blocks of an HTML fragment (a feed item's content, an export's HTML body)."""
    import lxml.html
    from lxml.etree import ParserError

    if not fragment.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return []
    return blocks_from_tree(root)


def looks_like_html(text: str) -> bool:
    """True when a text field holds markup rather than plain text."""
    return bool(re.search(r"</?(?:p|div|br|span|a|em|strong|h[1-6]|ul|li|blockquote|figure)\b[^>]*>", text, re.I))


def mark_noise(blocks: Sequence[Block], found: Found) -> list[Block]:
    """Mark the chrome left in extracted text as noise: the title again, bylines, datelines, read-more links,
    captions and credits, promos, social embeds, feed footers, link lists and short fragments."""
    title = (found.title or "").casefold()
    author = (found.author or "").casefold()
    marked = []
    for block in blocks:
        text = _TRAILING_MARK.sub("", block.text)
        if not text:
            continue
        marked.append(Block(_kind(block.kind, text, title, author, block.link_share), text, block.link_share))
    return marked


def _kind(kind: str, text: str, title: str, author: str, link_share: float) -> str:
    folded = text.casefold()
    short = len(text) <= _SHORT
    if folded == title or (kind == "heading" and title and folded in title):
        return "title"
    if kind not in ("paragraph", "quote", "item"):
        return kind
    rules = (
        ("read-more", bool(_READ_MORE.match(text))),
        ("boilerplate", bool(_FEED_FOOTER.match(text))),
        ("byline", short and (bool(_BYLINE.match(text)) or (bool(author) and folded == author))),
        ("dateline", short and bool(_DATELINE.match(text))),
        ("caption", len(text) <= 250 and bool(_CAPTION.search(text))),
        ("embed", bool(_EMBED.search(text))),
        ("boilerplate", len(text) <= 250 and bool(_PROMO.search(text))),
        ("links", len(text) <= 250 and link_share >= 0.8),
        ("fragment", short and not is_sentence(text)),
    )
    return next((name for name, hit in rules if hit), kind)


def keep_prose(blocks: Sequence[Block]) -> tuple[list[Block], bool]:
    """When cleaning left no article text, take back the longest block it rejected that reads as prose (else that is a
    whole sentence, not furniture): an item or a page with a body is never dropped. Returns the blocks and whether
    one was taken back."""
    blocks = list(blocks)
    if body_chars(blocks):
        return blocks, False
    prose = next((found for test in PROSE_TESTS
                  if (found := [i for i, b in enumerate(blocks) if b.kind != "title" and test(b.text)])), [])
    if not prose:
        return blocks, False
    best = max(prose, key=lambda i: len(blocks[i].text))
    blocks[best] = Block("paragraph", blocks[best].text, blocks[best].link_share)
    return blocks, True


KEPT_PROSE = "every block looked like chrome; kept its best prose"


def body_chars(blocks: Iterable[Block], sentences_only: bool = False) -> int:
    """Return how many characters of article text the blocks hold (only in blocks that end a sentence)."""
    return sum(len(b.text) for b in blocks if b.kind in BODY_KINDS and (not sentences_only or is_sentence(b.text)))
