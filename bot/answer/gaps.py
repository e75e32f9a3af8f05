"""The questions the articles did not answer, grouped by subject: the same words asked again are one form, the most
asked forms are embedded with the project's encoder and grouped greedily on cosine, and each group is shown with its
size, examples and the closest passages the archive has."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.answer.conversation.state import reading_from_shown
from bot.answer.questionlog import LoggedQuestion
from embeddings.encoders import Embedder
from embeddings.errors import NewsbotError
from embeddings.records import Hit
from embeddings.terms import normalize, tokenize

log = logging.getLogger(__name__)

# Cosine at or above which a question joins a group's leading question (all-MiniLM-L6-v2 on sample questions:
# rewordings of one question 0.77-0.89, other questions on its subject 0.43-0.70, unrelated ones mostly under 0.3).
SIMILARITY = 0.55
# The most asked forms grouped; rarer ones are counted as not grouped: embedding is what a report spends its time on.
MAX_FORMS = 300
EXAMPLES = 3
PASSAGES = 3
PASSAGE_CHARS = 300

Search = Callable[[str, int], Sequence[Hit]]


@dataclass(frozen=True)
class Passage:
    """A passage of the archive close to a group's questions."""

    source_id: str
    title: str | None
    date: str | None
    text: str
    score: float


@dataclass(frozen=True)
class Gap:
    """A group of unanswered questions on one subject."""

    size: int
    examples: tuple[str, ...]
    last_asked: str
    # The rules that declined them, most frequent first.
    rules: tuple[tuple[str, int], ...] = ()
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Gaps:
    """The largest groups, largest first; how many groups there were; how many questions were too rare to group."""

    groups: tuple[Gap, ...] = ()
    group_count: int = 0
    ungrouped: int = 0


@dataclass
class _Form:
    """The questions asked with the same words: their texts, how often, when last, declined by which rules."""

    texts: Counter[str]
    rules: Counter[str]
    count: int = 0
    last: str = ""

    @property
    def text(self) -> str:
        return self.texts.most_common(1)[0][0]


def form_key(question: str) -> str:
    """Return what two questions asked with the same words share: their sorted keywords (else the folded text)."""
    words = sorted(set(tokenize(question)))
    return " ".join(words) if words else normalize(question)


def _forms(rows: Sequence[LoggedQuestion]) -> list[_Form]:
    forms: dict[str, _Form] = {}
    keys: dict[str, str] = {}
    for row in rows:
        # A follow-up counts as the self-contained question it was read as, without what it followed.
        text = reading_from_shown(row.question, row.reading, False).standalone if row.reading else row.question
        key = keys.get(text)
        if key is None:
            key = keys[text] = form_key(text)
        form = forms.get(key)
        if form is None:
            form = forms[key] = _Form(Counter(), Counter())
        form.texts[text] += 1
        form.rules[row.rule or "declined"] += 1
        form.count += 1
        form.last = max(form.last, row.asked_at)
    return sorted(forms.values(), key=lambda f: (f.count, f.last), reverse=True)


def cluster(vectors: np.ndarray, threshold: float = SIMILARITY) -> list[list[int]]:
    """Group rows greedily in order: each joins the first-made group whose leader is at cosine >= threshold (the
    most similar such), else leads a new one."""
    rows = np.asarray(vectors, dtype=np.float32)
    if not len(rows):
        return []
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    leaders = np.empty_like(rows)
    groups: list[list[int]] = []
    for i, vector in enumerate(rows):
        if groups:
            similarity = leaders[: len(groups)] @ vector
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                groups[best].append(i)
                continue
        leaders[len(groups)] = vector
        groups.append([i])
    return groups


def find_gaps(rows: Sequence[LoggedQuestion], embedder: Embedder, search: Search | None = None, *, top: int = 20,
              threshold: float = SIMILARITY, max_forms: int = MAX_FORMS) -> Gaps:
    """Group the declined questions among rows by subject; the `top` largest groups come with the closest passages."""
    forms = _forms([r for r in rows if not r.answered])
    kept, rest = forms[:max_forms], forms[max_forms:]
    ungrouped = sum(f.count for f in rest)
    if not kept:
        return Gaps(ungrouped=ungrouped)
    vectors = np.asarray(embedder.embed([f.text for f in kept]), dtype=np.float32)
    groups = []
    for members in cluster(vectors, threshold):
        chosen = [kept[i] for i in members]
        rules: Counter[str] = Counter()
        for form in chosen:
            rules.update(form.rules)
        groups.append(Gap(size=sum(f.count for f in chosen), examples=tuple(f.text for f in chosen[:EXAMPLES]),
                          last_asked=max(f.last for f in chosen), rules=tuple(rules.most_common())))
    groups.sort(key=lambda g: (g.size, g.last_asked), reverse=True)
    return Gaps(_with_passages(groups[:top], search), len(groups), ungrouped)


def _with_passages(groups: Sequence[Gap], search: Search | None) -> tuple[Gap, ...]:
    """The groups with the passages closest to their leading questions (none when the archive can't be searched)."""
    found = []
    for gap in groups:
        if search is not None:
            try:
                hits = search(gap.examples[0], PASSAGES)
            except NewsbotError as error:
                log.warning("the report's groups come without passages: %s", error)
                search = None
            else:
                gap = replace(gap, passages=tuple(
                    Passage(h.chunk.source_id, h.source.title, h.source.date, _cut(h.chunk.text), round(h.score, 4))
                    for h in hits))
        found.append(gap)
    return tuple(found)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PASSAGE_CHARS else text[: PASSAGE_CHARS - 1].rstrip() + "…"
