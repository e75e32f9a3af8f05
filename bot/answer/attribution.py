"""Who speaks in a sentence: speech verbs, names and titles, read from the article's own text.

Nothing here knows a corpus: a capitalized word is a person only when the article names that person in full
("First Last", not after "the") or with a title ("President X", "Mr X"); places, outlets and organisations,
which an article never gives a first name, are nobody's voice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answer.types import AnswerConfig
from embeddings.records import Span

SPEECH_VERBS = (
    r"said|says|told|tells|noted|notes|added|adds|stressed|stresses|argued|argues|claimed|claims|explained|"
    r"explains|continued|replied|responded|stated|states|urged|urges|warned|warns|admitted|admits|cited|"
    r"suggested|emphasized|emphasised|insisted|reiterated|declared|believes|thinks|wrote|writes|asked|"
    r"expressed|dismissed|refused|called"
)
NAME_PATTERN = r"[A-Z][a-zA-Z’'-]+(?:\s+[A-Z][a-zA-Z’'-]+)*"
_NAME_VERB = re.compile(
    rf"(?P<name>{NAME_PATTERN})(?:,[^,]{{1,80}},)?\s+(?:(?:has|had|have|also|previously|recently|then|later|"
    rf"further|once|already|again|publicly)\s+)*(?:{SPEECH_VERBS})\b"
)
_VERB_NAME = re.compile(rf"[,”\"]\s*(?:{SPEECH_VERBS})\s+(?P<name>{NAME_PATTERN})")
_ROLE_VERB = re.compile(
    rf"\b(?:[Tt]he|[A-Z][a-z]+(?:'s|’s))\s+(?:[A-Z]?[a-z]+\s+){{0,3}}(?:minister|Minister|chief|official)\s+"
    rf"(?:also\s+)?(?:{SPEECH_VERBS})\b"
)
_PRONOUN_VERB = re.compile(rf"\b(?:[Hh]e|[Ss]he)\s+(?:also\s+|further\s+)?(?:{SPEECH_VERBS})\b")
# General English: words that start a clause or a name but are nobody's name.
_NOT_NAMES = frozenset(
    """He She It They We I You This That These Those His Her Their The A An In On At If But And Yet When
    While According Earlier Notably Nonetheless Last Prior Citing Today Without Western Eastern Northern
    Southern West East North South La Le Les Il El Los Las Der Die Das Al Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September October November
    December""".split()
)
# General English titles and honorifics that stand before a name ("Defence Minister X", "Mr X").
TITLES = frozenset(
    """President Prime Minister Defense Defence Foreign Interior Finance Secretary Secretary-General General
    Mr Mrs Ms Dr Sir Dame Lord Lady Pope Chancellor Leader King Queen Prince Princess Senator Governor Mayor
    Judge Justice Professor Prof Chief Commander Admiral Colonel Captain Lieutenant Sergeant Ambassador
    Speaker Deputy Vice Premier Minister-President Representative Rep Sen Gov""".split()
)
_TITLED = re.compile(
    r"\b(?:President|Minister|Secretary-General|Chancellor|Premier|leader|spokesperson|spokesman|"
    rf"ambassador|commander|general|journalist)\s+(?P<name>{NAME_PATTERN})"
)
_ACRONYM = re.compile(r"[A-Z]{2,}|[A-Z]\.(?:[A-Z]\.)+|[A-Z]+-\w+")
# A capitalized word that describes the next one: a nationality or an origin ("Kenyan", "French", "Polish").
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:an|ian|ese|ish|ch)")
_NAME_RUN = re.compile(rf"(?<![\w’'-]){NAME_PATTERN}")


def _describes(word: str) -> bool:
    """True for a word before a name that is not the name: a title, a nationality, an acronym."""
    return word in TITLES or word in _NOT_NAMES or bool(_DEMONYM.fullmatch(word)) or bool(_ACRONYM.fullmatch(word))


def person_name(raw: str, people: frozenset[str] | None = None) -> str | None:
    """Reduce 'French President Jane Doe' to 'Doe'; None for words that name nobody (and, given the people an
    article names, for anyone else)."""
    words = [w.strip("’'") for w in raw.split()]
    words = [w.removesuffix("’s").removesuffix("'s") for w in words]
    if not words or (words[0] in _NOT_NAMES and len(words) == 1):
        return None
    while len(words) > 1 and _describes(words[0]):
        words.pop(0)
    name = words[-1] if words else None
    if not name or name in _NOT_NAMES or name in TITLES or _ACRONYM.fullmatch(name):
        return None
    if people is not None and name not in people:
        return None
    return name


def named_people(text: str) -> frozenset[str]:
    """Return the surnames of the people an article names in full ('Defence Minister Jane Doe', not after 'the')
    or with a title ('President Doe')."""
    people = set()
    for match in _NAME_RUN.finditer(text):
        if re.search(r"\b[Tt]he\s+$", text[max(0, match.start() - 5) : match.start()]):
            continue
        words = [w.removesuffix("’s").removesuffix("'s") for w in match.group().split()]
        if words[0] == "The":
            continue
        titled = False
        while words and _describes(words[0]):
            titled = titled or words[0] in TITLES
            words.pop(0)
        last = words[-1] if words else ""
        if not last or last in TITLES or _ACRONYM.fullmatch(last) or _DEMONYM.fullmatch(last):
            continue
        if len(words) >= 2 or titled:
            people.add(last)
    return frozenset(people)


def known_people(text: str) -> set[str]:
    """Return the people an article names as speakers ('X said') or with a title ('President X')."""
    people = named_people(text)
    found = set()
    for pattern in (_NAME_VERB, _TITLED):
        for match in pattern.finditer(text):
            name = person_name(match.group("name"), people)
            if name:
                found.add(name)
    return found


def main_person(text: str, people: frozenset[str] | None = None) -> str | None:
    """Return the person an article quotes most: the target of 'he' and 'the minister'."""
    people = named_people(text) if people is None else people
    counts: dict[str, int] = {}
    for match in _NAME_VERB.finditer(text):
        name = person_name(match.group("name"), people)
        if name:
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda n: (counts[n], -text.find(n))) if counts else None


def speaker_of(
    sentence: str, previous_speaker: str | None, article_main: str | None, people: set[str] | None = None,
    named: frozenset[str] | None = None,
) -> str | None:
    """Say who is speaking in a sentence where the text makes it clear."""
    for pattern in (_VERB_NAME, _NAME_VERB):
        for match in pattern.finditer(sentence):
            name = person_name(match.group("name"), named)
            if name:
                return name
    if _ROLE_VERB.search(sentence):
        return article_main
    pronoun = _PRONOUN_VERB.search(sentence)
    if pronoun:
        # 'During X's visit ..., he said': the pronoun is the person named earlier in the sentence.
        unquoted = re.sub(r"[“\"][^”\"]*[”\"]", " ", sentence[: pronoun.start()])
        earlier = [person_name(m.group(), named) for m in re.finditer(NAME_PATTERN, unquoted)]
        earlier = [name for name in earlier if name and (people is None or name in people)]
        return earlier[-1] if earlier else previous_speaker or article_main
    return None


def speakers_by_sentence(text: str, spans: Sequence[Span]) -> dict[Span, str | None]:
    """Attribute every sentence of an article, carrying 'he said' back to the last named speaker."""
    named = named_people(text)
    article_main = main_person(text, named)
    people = known_people(text)
    result: dict[Span, str | None] = {}
    previous: str | None = None
    for span in sorted(spans):
        speaker = speaker_of(text[span[0] : span[1]], previous, article_main, people, named)
        result[span] = speaker
        previous = speaker or previous
    return result


def same_person(a: str | None, b: str | None) -> bool:
    """True for the same surname, allowing spelling variants (Tchaikovsky, Tchaikovskiy)."""
    if not a or not b:
        return False
    a, b = a.lower(), b.lower()
    return a == b or (min(len(a), len(b)) >= 5 and a[:6] == b[:6])


def speaker_bonus(speaker: str | None, text: str, asked: str, config: AnswerConfig) -> float:
    """Return how much a sentence's speaker adds to its score for a question about what `asked` said."""
    if same_person(speaker, asked):
        # A direct quote is the strongest evidence of what someone said.
        quoted = any(mark in text for mark in ('"', "“", "”"))
        return config.speaker_bonus + (config.quote_bonus if quoted else 0.0)
    if speaker is not None:
        return -config.speaker_bonus
    return 0.0
