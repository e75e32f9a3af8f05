"""A conversation: its turns (how each question was read, its answer) and what is in play after each turn (the
people, places, names and dates mentioned, the last statement), bounded in turns; and a bounded store of
conversations by key, least recently used forgotten first. Pure functions over frozen values, except the store."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.answer.names import ADJECTIVE, PERSON, PLACE, CorpusNames
from bot.answer.types import Answer
from embeddings.calendar import MONTH_FORMS

MAX_TURNS = 8
MAX_CONVERSATIONS = 2000
# Entities remembered per kind: enough for "he" three turns back, not a growing list.
MAX_ENTITIES = 6
# Words of what a reading leans on that are shown with it.
SHOWN_WORDS = 14
# How a turn was read.
FIRST, STANDALONE, SHIFT, FOLLOW_UP, ABOUT = "first", "standalone", "shift", "follow_up", "about_answer"

_MONTHS = MONTH_FORMS
DATE_PATTERN = re.compile(
    rf"\b(?:(?:on\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b(?:\s+\d{{4}})?|(?:{_MONTHS})\.?\s+\d{{1,2}}"
    rf"(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?|(?:19|20)\d\d\b|\d{{4}}-\d\d-\d\d)",
    re.I,
)


@dataclass(frozen=True)
class Mention:
    """A name found in a text: where, as the corpus spells it, and its kind."""

    start: int
    end: int
    name: str
    kind: str


@dataclass(frozen=True)
class Focus:
    """What a follow-up may refer to after a turn, most salient first."""

    people: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    statement: str = ""
    # Names the last answer brought in that its question did not have: what "it" most often means next.
    introduced: tuple[str, ...] = ()
    # The things (not people) the last question named.
    asked: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnReading:
    """How a turn was read: the question as typed, the self-contained question answered, and why."""

    question: str
    standalone: str
    kind: str = FIRST
    about: str | None = None
    choices: tuple[str, ...] = ()
    by: str = "rules"
    # The question a later fragment is completed from.
    topic: str = ""
    # What the question leans on (the last statement or question): retrieval reads it too, the reading does not.
    context: str = ""
    # What its pronouns were read as, in order.
    resolved: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """Return the reading as the user sees it: the question answered and what it leans on."""
        if not self.context:
            return self.standalone
        if self.kind == ABOUT:
            return f"{self.standalone.rstrip(' ?!.')}? — about the last answer, to “{self.context.rstrip(' ?!.')}?”"
        words = self.context.split()
        context = " ".join(words[:SHOWN_WORDS]).rstrip(",;:.…") + ("…" if len(words) > SHOWN_WORDS else "")
        return f"{self.standalone.rstrip(' ?!.')}? — following “{context}”"

    @property
    def rewritten(self) -> bool:
        """True when the question answered is not the one typed (beyond case, spacing and punctuation)."""
        return _plain(self.shown) != _plain(self.question)


@dataclass(frozen=True)
class Turn:
    """One question and its answer, with what is in play after it."""

    reading: TurnReading
    answer: Answer
    focus: Focus = field(default_factory=Focus)


@dataclass(frozen=True)
class Conversation:
    """The last MAX_TURNS turns of a conversation, and how many turns it has had."""

    turns: tuple[Turn, ...] = ()
    count: int = 0

    @property
    def last(self) -> Turn | None:
        """Return the latest turn, if any."""
        return self.turns[-1] if self.turns else None

    def cited(self) -> tuple[dict[str, float], dict[str, float]]:
        """Return the chunks and the sources the conversation cited, weighted by recency (1.0 for the last turn)."""
        chunks: dict[str, float] = {}
        sources: dict[str, float] = {}
        for age, turn in enumerate(reversed(self.turns)):
            weight = 0.5 ** age
            for citation in turn.answer.citations:
                chunks[citation.chunk_id] = max(chunks.get(citation.chunk_id, 0.0), weight)
                sources[citation.source_id] = max(sources.get(citation.source_id, 0.0), weight)
        return chunks, sources


@dataclass(frozen=True)
class Preference:
    """What retrieval for a follow-up favours: the chunks and the sources the conversation cited, with weights."""

    chunks: Mapping[str, float] = field(default_factory=dict)
    sources: Mapping[str, float] = field(default_factory=dict)
    chunk_boost: float = 0.0
    source_boost: float = 0.0
    # Sentences not to give again ("what else ...?"), as (source id, start).
    avoid: frozenset[tuple[str, int]] = frozenset()
    # Added to the relevance of a sentence of a cited passage.
    sentence_boost: float = 0.0
    # Years the question names: articles of that date are favoured as the last cited ones are.
    years: frozenset[str] = frozenset()
    # The last answer's sentences, as (source id, start): a follow-up asks for something more, so they lose this.
    given: frozenset[tuple[str, int]] = frozenset()
    repeat_penalty: float = 0.0

    def bonus(self, chunk_id: str, source_id: str, date: str | None = None) -> float:
        """Return the share added to a passage's score: mild, so that a better passage still ranks first."""
        dated = self.source_boost if date and date[:4] in self.years else 0.0
        return (self.chunk_boost * self.chunks.get(chunk_id, 0.0)
                + self.source_boost * self.sources.get(source_id, 0.0) + dated)


@dataclass(frozen=True)
class Reply:
    """One turn answered: how it was read, the answer, and the conversation with this turn added."""

    reading: TurnReading
    answer: Answer
    conversation: Conversation

    @property
    def turn(self) -> int:
        """Return this turn's number in its conversation, from 1."""
        return self.conversation.count


_SHOWN = re.compile(r"^(?P<standalone>.*?)\??\s+—\s+(?:following “(?P<context>.*)”|"
                    r"about the last answer, to “(?P<about>.*)”)$", re.S)


def reading_from_shown(question: str, shown: str, first: bool) -> TurnReading:
    """Rebuild how a turn was read from how it was shown (an answer read back from a Discord thread)."""
    match = _SHOWN.match(shown.strip())
    kind = FIRST if first else FOLLOW_UP
    if not match:
        return TurnReading(question, shown or question, kind, topic=shown or question)
    standalone = match.group("standalone").strip() + "?"
    context = (match.group("context") or match.group("about") or "").rstrip("…").strip()
    return TurnReading(question, standalone, kind, topic=standalone, context=context)


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[\w%]+", text.lower()))


def find_names(text: str, known: CorpusNames, max_words: int = 4) -> list[Mention]:
    """Return the corpus's names in a text, longest match first, whatever the case they were typed in."""
    words = list(re.finditer(r"[\w’'.-]+", text))
    found: list[Mention] = []
    position = 0
    starts = known.first_words
    while position < len(words):
        head = words[position].group().lower().replace("’", "'").strip(" '\".,;:!?()").removesuffix("'s")
        if head not in starts and head.rstrip("s") not in starts:
            position += 1
            continue
        for size in range(min(max_words, len(words) - position), 0, -1):
            first, last = words[position], words[position + size - 1]
            raw = text[first.start():last.end()].rstrip(".")
            name = known.lookup(raw)
            if name is None:
                continue
            kind = known.kind(name)
            if kind == PERSON and " " in name:
                name = name.split()[-1]
            found.append(Mention(first.start(), first.start() + len(raw), name, kind))
            position += size
            break
        else:
            position += 1
    return found


def spell_names(text: str, mentions: Sequence[Mention]) -> str:
    """Write the names as the corpus spells them ('doe' -> 'Doe'), keeping a possessive, typed or implied."""
    out, at = [], 0
    for mention in mentions:
        typed = text[mention.start:mention.end].lower().replace("’", "'")
        name = mention.name
        possessive = typed.endswith("'s") or (typed.endswith("s") and typed[:-1] == name.lower())
        out.append(text[at:mention.start] + (name + "'s" if possessive else name))
        at = mention.end
    out.append(text[at:])
    return "".join(out)


def _merge(new: Iterable[str], old: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*new, *old]))[:MAX_ENTITIES]


def focus_after(standalone: str, answer: Answer, known: CorpusNames, previous: Focus | None = None) -> Focus:
    """Return what is in play after a turn: its question's names first, then its answer's, then older ones."""
    previous = previous or Focus()
    asked = find_names(standalone, known)
    lead = _lead(standalone, answer)
    told = find_names(lead, known) if answer.answered else []
    speakers = [c.speaker.split()[-1] for c in answer.citations[:2] if c.speaker]  # surnames, as questions use

    def of(kinds: tuple[str, ...], mentions: list[Mention]) -> list[str]:
        return [m.name for m in mentions if m.kind in kinds]

    people = [*of((PERSON,), asked), *speakers, *of((PERSON,), told)]
    places = [*of((PLACE,), asked), *of((PLACE,), told)]
    names = [*of((PLACE, "name"), asked), *of(("name", PLACE), told)]
    dates = [m.group() for m in DATE_PATTERN.finditer(standalone)] + (
        [m.group() for m in DATE_PATTERN.finditer(lead)] if answer.answered else [])
    asked_names = {m.name for m in asked}
    # What "it" may be next: a thing the answer's statements brought in (the lead's first).
    others = [m for c in answer.citations[:3] for m in find_names(c.quote, known)] if answer.answered else []
    introduced = [m.name for m in (*told, *others)
                  if m.kind != PERSON and m.kind != ADJECTIVE and m.name not in asked_names]
    statement = " ".join(dict.fromkeys([lead, *(c.quote for c in answer.citations)])) if lead else ""
    return Focus(_merge(people, previous.people), _merge(places, previous.places),
                 _merge([n for n in names if known.kind(n) != ADJECTIVE], previous.names),
                 _merge(dates, previous.dates), statement if answer.answered else previous.statement,
                 tuple(dict.fromkeys(introduced))[:MAX_ENTITIES],
                 tuple(dict.fromkeys(m.name for m in asked if m.kind not in (PERSON, ADJECTIVE))))


def _lead(question: str, answer: Answer) -> str:
    """The answer's lead statement: its first point leads with the best one (compose.py)."""
    if answer.points and answer.points[0].citations:
        first = answer.points[0].citations[0]
        return next((c.quote for c in answer.citations if c.n == first), answer.points[0].text)
    return answer.citations[0].quote if answer.citations else ""


def add_turn(conversation: Conversation, turn: Turn, limit: int = MAX_TURNS) -> Conversation:
    """Return the conversation with one more turn, keeping the last `limit`."""
    return replace(conversation, turns=(*conversation.turns, turn)[-limit:], count=conversation.count + 1)


class ConversationStore:
    """Conversations by key (a Discord thread or DM, a chat session), the least recently used forgotten first."""

    def __init__(self, limit: int = MAX_CONVERSATIONS) -> None:
        self.limit = limit
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Conversation | None:
        """Return a conversation, marking it recently used."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, conversation: Conversation) -> None:
        """Keep a conversation, forgetting the least recently used beyond the limit."""
        with self._lock:
            self._items[key] = conversation
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
