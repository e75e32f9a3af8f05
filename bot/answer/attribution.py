"""Who speaks in a sentence, read from the article's own text: names, titles and speech verbs of general English.

A capitalized run of words is a person when the article names them in full ("Alexander Downer", not after "the",
not ending in an organisation word such as Bank or Board) or with a title ("Mr Downer", "national selector Wright").
A surname or a first name alone is the person the article named in full with it, the most recent one first, so two
people who share a surname stay two people. Organisations, places and outlets, which an article never gives a first
name, are nobody's voice. A quote without an attribution of its own is carried from the sentence before it, or taken
from the sentence after it ("'...' 'It's nice for the family,' he said.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.answer.lexicon import (
    HONORIFICS,
    NAME_PARTICLES,
    NOT_NAMES,
    ORGANISATION_WORDS,
    PRONOUNS,
    PROXY_ROLES,
    ROLE_NOUNS,
    SPEECH_ADVERBS,
    SPEECH_VERBS,
    TITLES,
    WEAK_SPEECH_VERBS,
)
from bot.answer.types import AnswerConfig
from embeddings.records import Span

# A capitalized word ("O'Brien", a possessive "Downer's" ends a run), or an initial ("J.", "U.S."): a full stop
# ends a run unless it closes an initial.
_CAPITAL = r"(?:[A-Z]\.(?:[A-Z]\.)*|[A-Z][\w-]*(?:['’][A-Z][\w-]*)?(?:['’]s\b)?)"
# A run of capitalized words, with the particles names carry inside ("de", "van", "bin").
NAME_PATTERN = (rf"{_CAPITAL}(?:(?<!['’]s)[ \t\u00a0]+(?:(?:{'|'.join(sorted(NAME_PARTICLES))})[ \t\u00a0]+)?"
                rf"{_CAPITAL})*")
_RUN = re.compile(rf"(?<![\w’'-]){NAME_PATTERN}")
_WORD = re.compile(r"[\w’'-]+|[“”\"‘’]|[,:;]")
_ACRONYM = re.compile(r"[A-Z]{2,}s?|[A-Z]\.(?:[A-Z]\.)+|[A-Z]+-\w+")
# A capitalized word that describes the next one: a nationality or an origin ("Kenyan", "French", "Polish").
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:an|ian|ese|ish|ch|i)s?")
_OPENS_QUOTE = re.compile(r"^\W*[“\"‘]")
_UNNAMED = "\x00unnamed"


@dataclass(frozen=True)
class Person:
    """A person an article names: in full when it does, with the role words it gives them."""

    name: str
    surname: str
    first: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Voices:
    """The people an article names and, sentence by sentence, which of them speaks."""

    people: tuple[Person, ...] = ()
    speakers: dict[Span, str] = field(default_factory=dict, compare=False)
    # The person a sentence is about as its subject ("X had already called for talks"), whether or not they speak.
    subjects: dict[Span, str] = field(default_factory=dict, compare=False)

    def speaker(self, span: Span) -> str | None:
        """Return the full name of the person who speaks in a sentence, if the text says."""
        return self.speakers.get(span)

    def subject(self, span: Span) -> str | None:
        """Return the full name of the person a sentence opens with as its subject, if any."""
        return self.subjects.get(span)

    def person(self, name: str) -> Person | None:
        """Return the person of that full name."""
        return next((p for p in self.people if p.name == name), None)


def _strip_describers(words: list[str]) -> tuple[list[str], bool]:
    """Drop what comes before a name: titles ('Foreign Affairs Minister'), nationalities, acronyms, clause words;
    say whether a title was among them."""
    titles = [i for i, w in enumerate(words[:-1]) if w.lower() in TITLES and w not in NOT_NAMES]
    titled = bool(titles) and words[titles[-1]].lower() in HONORIFICS
    if titles:
        words = words[titles[-1] + 1 :]
    while len(words) > 1 or (words and (words[0] in NOT_NAMES or words[0].lower() in TITLES)):
        head = words[0]
        if head.lower() in TITLES or head in NOT_NAMES or _ACRONYM.fullmatch(head) or _DEMONYM.fullmatch(head):
            titled = titled or (head.lower() in HONORIFICS and head not in NOT_NAMES)
            words = words[1:]
            continue
        break
    return list(words), titled


def _clean(word: str) -> str:
    return word.removesuffix("’s").removesuffix("'s").rstrip(".’'")


def _is_organisation(words: Sequence[str]) -> bool:
    return any(w.lower() in ORGANISATION_WORDS for w in words[1:]) or (
        len(words) > 0 and words[-1].lower() in ORGANISATION_WORDS)


def _role_before(text: str, start: int) -> str | None:
    """Return the lower-case role words just before a position ('hospital spokeswoman', 'national selector')."""
    words = re.findall(r"[a-z][a-z-]*", text[max(0, start - 60) : start].split(".")[-1])
    role = []
    for word in reversed(words[-3:]):
        if word in TITLES or word in ROLE_NOUNS:
            role.insert(0, word)
        else:
            break
    return " ".join(role) or None


def find_people(text: str, sentences: Sequence[Span]) -> tuple[Person, ...]:
    """Return the people an article's sentences name, each once, with every role word the article gives them."""
    people: dict[str, Person] = {}
    for match in (m for start, end in sentences for m in _RUN.finditer(text, start, end)):
        raw = [_clean(w) for w in match.group().split()]
        after_the = raw[0] == "The" or bool(re.search(r"\b[Tt]he\s+$", text[max(0, match.start() - 5) : match.start()]))
        words, titled = _strip_describers(list(raw))
        # "the Bank", "The New York Times": a name after "the" is an organisation's, unless a title stood between.
        if after_the and not titled:
            continue
        words = [w for w in words if w]
        role = _role_before(text, match.start())
        if not words or _is_organisation(words) or _ACRONYM.fullmatch(words[-1]) or words[-1] in NOT_NAMES:
            continue
        if _DEMONYM.fullmatch(words[-1]) and len(words) == 1:
            continue
        if len(words) >= 2:
            name, first = " ".join(words), words[0]
        elif titled or (role and role.split()[-1] in HONORIFICS):
            name, first = words[0], None
        else:
            continue
        described = " ".join(w.lower() for w in raw[: len(raw) - len(words)]).removeprefix("the ")
        roles = tuple(r for r in ([described] if titled else []) + ([role] if role else []) if r)
        known = people.get(name)
        people[name] = Person(name, words[-1], first, tuple(dict.fromkeys((known.roles if known else ()) + roles)))
    # A surname alone that some full name carries is that person, not a second one.
    full = [p for p in people.values() if p.first]
    return tuple(p for p in people.values() if p.first or not any(f.surname == p.surname for f in full))


def _resolve(words: list[str], people: Sequence[Person], recent: list[str]) -> str | None:
    """Return the full name a run of words refers to among the article's people, if any."""
    words, _ = _strip_describers([_clean(w) for w in words])
    words = [w for w in words if w]
    if not words or _is_organisation(words):
        return None
    name = " ".join(words)
    exact = [p for p in people if p.name == name]
    if exact:
        return exact[0].name
    if len(words) == 1:
        token = words[0]
        matches = [p for p in people if token in (p.surname, p.first)]
        for candidate in reversed(recent):
            if any(p.name == candidate for p in matches):
                return candidate
        if matches:
            return matches[0].name
    return None


def _unquoted(sentence: str) -> str:
    """The sentence with quoted words blanked out (same length): names inside a quote are not speakers.

    A straight quote mark opens after a space or at the start and closes after anything else, so that an
    unbalanced quote (a paragraph's quote that runs on) does not swallow the attribution after it.
    """
    out = list(sentence)
    inside = False
    for i, ch in enumerate(sentence):
        opening = ch == "“" or (ch == '"' and (i == 0 or sentence[i - 1] in " \t\n([—–-"))
        closing = ch == "”" or (ch == '"' and not opening)
        if not inside and opening:
            inside = True
        elif inside and closing:
            inside = False
            out[i] = " "
            continue
        if inside:
            out[i] = " "
    return "".join(out)


def _verbs(plain: str, sentence: str) -> list[re.Match[str]]:
    """Speech verbs outside quotes; weak ones only when a quote, a comma or a colon sets them off."""
    found = []
    for match in re.finditer(r"[A-Za-z]+", plain):
        word = match.group().lower()
        if word not in SPEECH_VERBS and word not in WEAK_SPEECH_VERBS:
            continue
        if word in WEAK_SPEECH_VERBS:
            before = sentence[max(0, match.start() - 25) : match.start()]
            after = sentence[match.end() : match.end() + 2]
            if not (re.search(r"[,”\"’]\s*(?:\w+\s+){0,3}$", before) or after[:1] in (":", ",")):
                continue
        found.append(match)
    return found


def _subject(plain: str, verb: re.Match[str]) -> tuple[str, str] | None:
    """What stands before a speech verb: ('pronoun', he), ('name', run), ('role', words) or ('proxy', words)."""
    left = plain[: verb.start()].rstrip()
    words = left.split()
    while words and words[-1].lower().strip(",") in SPEECH_ADVERBS:
        words.pop()
    left = " ".join(words)
    if words and words[-1].lower().removesuffix("'s").removesuffix("’s") in PRONOUNS:
        return ("pronoun", words[-1])
    # "X, the UCU general secretary, said": the appositive between the name and the verb is skipped.
    appositive = re.search(rf"({NAME_PATTERN}),\s+[^,]{{1,160}},$", left)
    if appositive and not re.search(r"\bby$", left[: appositive.start()].rstrip()):
        return ("name", appositive.group(1))
    run = re.search(rf"({NAME_PATTERN})$", left)
    if run:
        before = left[: run.start()].rstrip().split()
        # "coached by X continued", "a letter to X said": X is not the subject.
        if before and before[-1].lower() in ("by", "to", "with", "from", "for", "of", "against"):
            return None
        return ("name", run.group(1))
    role = re.search(r"\b(?:the|a|an|his|her|their)\s+((?:[\w-]+\s+){0,3}[\w-]+)(?:\s+(?:for|of)\s+.+)?$", left,
                     re.IGNORECASE)
    if role:
        last = role.group(1).split()[-1].lower()
        proxy = re.search(r"\s(?:for|of)\s", role.group(0))
        if last in PROXY_ROLES or (last in ROLE_NOUNS and proxy):
            return ("proxy", role.group(1))
        if last in ROLE_NOUNS:
            return ("role", role.group(1).lower())
    return None


def _inverted(plain: str, sentence: str, verb: re.Match[str]) -> str | None:
    """The name after a speech verb set off by a quote or a comma: '"...," said national selector X'."""
    if verb.group().lower() in ("tell", "tells", "told", "telling"):
        return None
    before = sentence[: verb.start()].rstrip()
    if not before or before[-1] not in ",”\"’:;–—-":
        return None
    after = plain[verb.end() :]
    runs = list(re.finditer(rf"\s*((?:[a-z][\w-]*\s+){{0,3}})({NAME_PATTERN})", after))
    if not runs or runs[0].start() != 0:
        return None
    first = runs[0]
    # "said Cricket Australia chair Mike Baird": the person is the name after the organisation's role word.
    chained = re.match(rf"\s+((?:[a-z][\w-]*\s+){{1,3}})({NAME_PATTERN})", after[first.end() :])
    if chained and chained.group(1).split()[-1] in TITLES | ROLE_NOUNS:
        return chained.group(2)
    return first.group(2)


def _speaker_of(sentence: str, people: Sequence[Person], recent: list[str], previous: str | None) -> str | None:
    """The full name of who speaks in one sentence, _UNNAMED for a spokesperson, or None when the text won't say."""
    plain = _unquoted(sentence)
    according = re.search(rf"\b[Aa]ccording to\s+({NAME_PATTERN})", plain)
    if according and (name := _resolve(according.group(1).split(), people, recent)):
        return name
    for verb in _verbs(plain, sentence):
        # "X has dismissed the idea, telling reporters ...": the participle speaks with the clause's subject.
        if verb.group().lower().endswith("ing") and plain[: verb.start()].rstrip().endswith(","):
            named = [n for m in _RUN.finditer(plain, 0, verb.start()) if (n := _resolve(m.group().split(), people,
                                                                                         recent))]
            if named:
                return named[0]
            continue
        inverted = _inverted(plain, sentence, verb)
        if inverted:
            name = _resolve(inverted.split(), people, recent)
            if name:
                return name
        subject = _subject(plain, verb)
        if subject is None:
            continue
        kind, words = subject
        if kind == "name":
            name = _resolve(words.split(), people, recent)
            if name:
                return name
        elif kind == "pronoun":
            # "During X's visit ..., he said": the pronoun is the person named earlier in the sentence.
            named = [n for m in _RUN.finditer(plain, 0, verb.start()) if (n := _resolve(m.group().split(), people, []))]
            return named[-1] if named else previous or (recent[-1] if recent else None)
        elif kind == "proxy":
            return _UNNAMED
        elif kind == "role":
            role = words.split()[-1]
            holders = [p.name for p in people if any(role in r.split() for r in p.roles)]
            for candidate in reversed(recent):
                if candidate in holders:
                    return candidate
            return holders[0] if holders else (previous if previous and role in ROLE_NOUNS else None)
    return None


def read_voices(text: str, sentences: Sequence[Span]) -> Voices:
    """Read who speaks in each sentence of an article."""
    spans = sorted(sentences)
    people = find_people(text, spans)
    found: list[str | None] = []
    recent: list[str] = []
    previous: str | None = None
    for start, end in spans:
        sentence = text[start:end]
        speaker = _speaker_of(sentence, people, recent, previous)
        quoted = bool(_OPENS_QUOTE.match(sentence))
        if speaker is None and quoted and previous is not None and found and found[-1] is not None:
            speaker = previous
        found.append(speaker)
        for match in _RUN.finditer(_unquoted(sentence)):
            name = _resolve(match.group().split(), people, recent)
            if name:
                recent.append(name)
        if speaker and speaker != _UNNAMED:
            recent.append(speaker)
        previous = speaker if speaker is not None else (previous if quoted else None)
    # A quote whose attribution is in the next sentence ('"..." "...," he said.').
    for i in range(len(spans) - 2, -1, -1):
        if found[i] is None and found[i + 1] and _OPENS_QUOTE.match(text[spans[i][0] : spans[i][1]]) \
                and _OPENS_QUOTE.match(text[spans[i + 1][0] : spans[i + 1][1]]):
            found[i] = found[i + 1]
    speakers = {span: name for span, name in zip(spans, found, strict=True) if name and name != _UNNAMED}
    subjects = {span: name for span in spans if (name := _subject_of(text[span[0] : span[1]], people))}
    return Voices(people, speakers, subjects)


def _subject_of(sentence: str, people: Sequence[Person]) -> str | None:
    """The person whose name opens a sentence's main clause ("Earlier, X had ...", "Defence Minister X has")."""
    plain = _unquoted(sentence)
    clause = re.sub(r"^\W*(?:[A-Z]?[a-z]+(?:\s+[a-z]+){0,3},\s*)?", "", plain)
    run = re.match(NAME_PATTERN, clause)
    if not run:
        return None
    rest = clause[run.end() :].lstrip()
    # A name followed by a verb, an auxiliary or an appositive: the subject, not "X's plan" or "X and Y".
    if run.group().endswith(("'s", "’s")) or rest[:1] in ("'", "’") or rest.startswith(("and ", "or ")):
        return None
    return _resolve(run.group().split(), people, [])


def matching_people(asked: str, people: Sequence[Person]) -> list[Person]:
    """Return the people an asked name means: the full name exactly, or everyone a surname or first name fits."""
    words = [_clean(w) for w in asked.split()]
    words, _ = _strip_describers([w[:1].upper() + w[1:] for w in words if w])
    if not words:
        return []
    name = " ".join(words).casefold()
    exact = [p for p in people if p.name.casefold() == name]
    if exact or len(words) > 1:
        return exact
    token = words[0].casefold()
    return [p for p in people if token in (p.surname.casefold(), (p.first or "").casefold())]


def same_person(speaker: str | None, asked: Sequence[str]) -> bool:
    """True when a sentence's speaker (or subject) is one of the people a question asks about."""
    return speaker is not None and speaker in asked


def speaker_bonus(speaker: str | None, text: str, asked: Sequence[str], config: AnswerConfig) -> float:
    """Return how much a sentence's speaker adds to its score for a question about what someone said."""
    if same_person(speaker, asked):
        # A direct quote is the strongest evidence of what someone said.
        quoted = any(mark in text for mark in ('"', "“", "”"))
        return config.speaker_bonus + (config.quote_bonus if quoted else 0.0)
    if speaker is not None:
        return -config.speaker_bonus
    return 0.0
