"""The answering layer's frozen values: answers, their points and citations, scored sentences, sources."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answer.features import Features
from embeddings.records import Article, Chunk, Hit, SourceInfo, Span

NOT_FOUND = "The articles don't say."


@dataclass(frozen=True)
class AnswerConfig:
    """How one kind of answer is made: how many passages feed it, how many points it shows, in what order."""

    # Passages retrieved for the candidates; the user-facing `k` only limits what is shown.
    passages: int = 8
    # Points an answer shows at most: those that answer, three unless a timeline lists them.
    max_points: int = 3
    # Cosine between single words above which a word of the passage stands in for a missing topic word.
    synonym_similarity: float = 0.6
    # An answer leads with the statement that best answers; a timeline orders its statements by date.
    by_date: bool = False
    # A timeline's words are all its topic: each must be in the articles.
    whole_topic: bool = False


ANSWER_CONFIG = AnswerConfig()
# A timeline keeps every distinct statement near the topic, not just the best few, oldest first.
TIMELINE_CONFIG = AnswerConfig(passages=16, max_points=10, by_date=True, whole_topic=True)


@dataclass(frozen=True)
class Decline:
    """Why an answer declined: the rule that fired (abstain.py RULES) and what the user reads."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Citation:
    """One checkable source for a statement: a verbatim quote of an article."""

    n: int
    source_id: str
    chunk_id: str
    quote: str
    start: int
    end: int
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    speaker: str | None = None
    url: str | None = None
    author: str | None = None
    # The day a newer version of the article replaced the one quoted before, and other outlets' copies of the story.
    updated: str | None = None
    copies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Point:
    """One statement of an answer and the citations that carry it."""

    text: str
    citations: tuple[int, ...]
    speaker: str | None = None
    date: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Answer:
    """A cited answer, or an honest 'the articles don't say' with the closest passages as leads."""

    question: str
    answered: bool
    answer: str
    citations: tuple[Citation, ...] = ()
    points: tuple[Point, ...] = ()
    leads: tuple[Hit, ...] = field(default=(), compare=False)
    as_of: str | None = None
    notes: tuple[str, ...] = ()
    confidence: float = 0.0
    # About how the question was read (cut to the length limit, not in English), not about the sources.
    notices: tuple[str, ...] = ()
    # Set when the articles do not answer: the rule that declined and its reason.
    decline: Decline | None = None


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    source: SourceInfo
    chunk_id: str
    span: Span
    text: str
    relevance: float
    similarity: float
    speaker: str | None
    # The person the sentence opens with as its subject, who may act without speaking.
    subject: str | None = None
    # What the answer model reads about the sentence.
    features: Features | None = None
    # The reader's probability that it answers, and the first stage's (for the candidates the reader read).
    read: float = 0.0
    first: float = 0.0


@dataclass(frozen=True)
class SourceView:
    """An article as `source` shows it: metadata, clean text and its passages."""

    info: SourceInfo
    article: Article
    chunks: tuple[Chunk, ...]
