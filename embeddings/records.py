"""Frozen value types that flow through the pipeline: article -> chunks -> hits."""

from __future__ import annotations

from dataclasses import dataclass, field

Span = tuple[int, int]

# Bump when article cleaning or sentence splitting changes: indexes built by older rules are then rebuilt.
CHUNKING_VERSION = 4
# Provenance fields that say what happened to an article rather than where a value came from: the day a newer version
# replaced its text, and each other outlet's copy of the same story ("outlet<TAB>url"). Kept in provenance, which
# both stores already hold, so that no index format changes for them.
UPDATED = "updated"
COPY = "copy"


@dataclass(frozen=True)
class Article:
    """One article: its text of record (a file's text, or what a reader extracted), what was found in it, and the
    spans worth indexing."""

    source_id: str
    text: str
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    body: tuple[Span, ...] = ()
    segments: tuple[Span, ...] = ()
    noise: tuple[tuple[str, Span], ...] = ()
    provenance: tuple[tuple[str, str], ...] = ()
    content_hash: str = ""
    url: str | None = None
    author: str | None = None
    # For an article of a feed or an export: (file name, the file's digest, the ids of every article the file holds,
    # a digest of their ids and hashes), recorded in the index manifest so that an unchanged file is checked by its
    # hash, not parsed again.
    origin: tuple[str, str, tuple[str, ...], str] | None = field(default=None, compare=False, repr=False)

    @property
    def is_stub(self) -> bool:
        """True for an article read only for its hash (an unchanged file, not parsed again)."""
        return not self.text and not self.body

    @property
    def info(self) -> SourceInfo:
        """Return what a citation shows about this article."""
        return SourceInfo(self.source_id, self.title, self.date, self.outlet, self.url, self.author,
                          *history(self.provenance))

    def span_text(self, span: Span) -> str:
        """Return the exact text of a span of the source file."""
        return self.text[span[0] : span[1]]

    @property
    def clean_text(self) -> str:
        """Return the article body with noise left out, paragraphs separated by blank lines."""
        return "\n\n".join(self.span_text(span) for span in self.body)


@dataclass(frozen=True)
class ChunkerConfig:
    """Sentence-window chunking parameters; they are part of the index manifest."""

    max_chars: int = 480
    overlap_sentences: int = 1

    def as_dict(self) -> dict[str, int]:
        """Return the parameters as a JSON-friendly dict, with the version of the cleaning and splitting rules."""
        return {"max_chars": self.max_chars, "overlap_sentences": self.overlap_sentences, "version": CHUNKING_VERSION}


@dataclass(frozen=True)
class Chunk:
    """A window of whole sentences; `text` is exactly `article.text[start:end]`."""

    chunk_id: str
    source_id: str
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...] = ()

    def sentence_texts(self) -> tuple[str, ...]:
        """Return the text of every sentence of the chunk."""
        return tuple(self.text[s - self.start : e - self.start] for s, e in self.sentences)


@dataclass(frozen=True)
class SourceInfo:
    """What a citation shows about an article."""

    source_id: str
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    url: str | None = None
    author: str | None = None
    # The day a newer version replaced the text (None: never updated), and the same story at other outlets.
    updated: str | None = None
    copies: tuple[tuple[str, str], ...] = ()


def history(provenance: tuple[tuple[str, str], ...]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """Return (updated, copies) from an article's provenance: the last update's day and each (outlet, url) copy."""
    updated = None
    copies: list[tuple[str, str]] = []
    for name, value in provenance:
        if name == UPDATED:
            updated = value
        elif name == COPY:
            outlet, _, url = value.partition("\t")
            copies.append((outlet, url))
    return updated, tuple(copies)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores and source, plus per-sentence similarity."""

    chunk: Chunk
    score: float
    source: SourceInfo
    rank: int = 0
    dense_score: float = 0.0
    lexical_score: float = 0.0
    sentence_scores: tuple[float, ...] = field(default=())


# Noise that tells something about the article (used for its title and date), not page chrome.
_TOLD = ("title", "dateline", "metadata")
# A run that skips more than this share of its files says so first, in capitals.
SKIPPED_ALARM = 0.05


@dataclass(frozen=True)
class CleaningReport:
    """What reading the seeds kept and left out: files skipped and why, and the text removed as page chrome."""

    files: int = 0
    articles: int = 0
    # One line per file (or feed item, export row) left out, saying why.
    skipped: tuple[str, ...] = ()
    # Over the articles parsed this run (unchanged ones are not read again): their text, and what was removed.
    parsed: int = 0
    text_chars: int = 0
    chrome_chars: int = 0
    # Articles kept by their best prose: every block of their file looked like chrome.
    rescued: tuple[str, ...] = ()

    @staticmethod
    def removed_chars(article: Article) -> int:
        """Characters of an article's text removed as page chrome (menus, prompts, captions, other headlines)."""
        return sum(end - start for kind, (start, end) in article.noise if kind not in _TOLD)

    def lines(self) -> list[str]:
        """The summary an operator reads at the end of `newsbot index`."""
        found = [f"read {self.files} files: {self.articles} articles, {len(self.skipped)} skipped"]
        if self.parsed and self.text_chars:
            found.append(f"cleaned {self.parsed} articles: {self.chrome_chars:,} of {self.text_chars:,} characters "
                         f"removed as page chrome ({self.chrome_chars / self.text_chars:.1%}); `newsbot source ID` "
                         "shows what and by which signal")
        if self.rescued:
            found.append(f"{len(self.rescued)} kept by their best prose only (every block looked like chrome): "
                         + ", ".join(self.rescued[:5]) + ("..." if len(self.rescued) > 5 else ""))
        if self.files and len(self.skipped) / self.files > SKIPPED_ALARM:
            found.insert(0, f"WARNING: {len(self.skipped)} of {self.files} files ({len(self.skipped) / self.files:.0%})"
                            " were skipped and are not searchable; the reasons are listed above")
        return found


@dataclass(frozen=True)
class BuildReport:
    """What an index run found and did."""

    path: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    chunks: int = 0
    embedded: int = 0
    up_to_date: bool = False
    warnings: tuple[str, ...] = ()
    cleaning: CleaningReport | None = None

    def summary(self, with_path: bool = True) -> str:
        """Return one line that says what changed."""
        where = f" ({self.path})" if with_path else ""
        if self.up_to_date:
            return f"index up to date: {len(self.unchanged)} articles, {self.chunks} passages{where}"
        parts = [f"{len(v)} {k}" for k, v in (("added", self.added), ("changed", self.changed),
                                                ("removed", self.removed)) if v]
        changed = ", ".join(parts) or "rebuilt"
        return f"index written: {changed}; {self.chunks} passages, {self.embedded} texts embedded{where}"
