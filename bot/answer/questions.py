"""Read a question once: its content terms, the names it uses, its explicit topic, the event it asks about, the
speaker it asks for and the kind of answer it expects. Pure functions over text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.calendar import MONTH_NAMES, MONTHS, WEEKDAYS
from embeddings.terms import STOPWORDS, stem, tokenize

# Words that frame a question rather than name its subject.
FRAMING_WORDS = frozenset(
    """what which who whom whose when where why how many much does did do doing done think thinks believe
    believes view views say said says tell told mention mentioned report reported reports according give
    gave might may must can could would should shall will article articles outlet outlets source sources
    quote quotes cite cites cited coverage behalf regard regarding concerning position stance opinion
    opinions way ways""".split()
)
# Dates are answered from article metadata, not from words in the text.
_CALENDAR = frozenset(w.lower() for w in (*MONTHS, *WEEKDAYS, "today", "yesterday", "tomorrow"))
NOT_NAMES = STOPWORDS | FRAMING_WORDS | _CALENDAR
_QUESTION_WORDS = frozenset(stem(w) for w in FRAMING_WORDS)
_NAME = re.compile(r"[A-Z][\w’'/-]*(?:\s+(?:of\s+|de\s+|la\s+)?[A-Z][\w’'/-]*)*")
_TOPIC = re.compile(
    r"\b(?:about|regarding|concerning|re|on the (?:subject|topic|issue|question) of|(?:position|stance|views?|"
    r"opinions?|thoughts) on)\s+(?P<topic>[^?.!;]+)", re.I
)
# The claim a yes/no question asks about ("Has X warned that <claim>?"), and "What is the <thing>?".
_CLAIM = re.compile(
    r"\b(?:warn|warned|say|said|claim|claimed|believe|believes|think|thinks|suggest|suggested|argue|argued|"
    r"insist|insisted|admit|admitted|deny|denied|fear|feared)\s+that\s+(?P<topic>[^?.!;]+)", re.I
)
_THING = re.compile(r"^\s*what (?:is|are|was|were) the\s+(?P<topic>[^?.!;]+)", re.I)
# In a claim, a verb may be a paraphrase ("bribed" for "corrupted"); a missing noun means another subject.
_AUXILIARY = frozenset("be been being is are was were has have had do does did get got".split())
# What a 'how many' question counts: "How many tanks has the country sent?" -> tanks.
_COUNTED = re.compile(
    r"^\s*how (?:many|much)\s+(?P<topic>(?:(?!(?:has|have|had|did|does|do|is|are|was|were|will|would|can|could)\b)"
    r"[\w’'/-]+\s*)+)", re.I
)
# Questions that ask for the date or size of an event: "When was X appointed ...?", "How many ... has X lost?".
_ASKS_FOR_EVENT = re.compile(
    r"^\s*(?:until |since |by |from |on |in )?(?:when|(?:what|which) (?:year|date|day|month)|how (?:many|much|long))\b",
    re.I,
)
_PASSIVE_WHEN = re.compile(r"^\s*when (?:was|were|is|are)\s+\S.*?\s(?P<verb>[a-z]+)\s*\??\s*$", re.IGNORECASE)
# Words after which the next one is the verb: auxiliaries, modals, "to" and "not".
_BEFORE_VERB = _AUXILIARY | frozenset("will would can could shall should may might must to not never".split())
# Light verbs take their meaning from their object ("take the city" is "capture the city"): they name no event.
_LIGHT_VERBS = frozenset(
    """take takes took taken taking make makes made making give gives gave given giving get gets getting go goes
    went gone going come comes came coming put puts putting keep keeps kept keeping hold holds held holding set
    sets setting let lets""".split()
)
# "What did X say ...", "How did X react ...", "according to X": X may be typed in lower case ("what did downer say").
_NAME_WORDS = r"[A-Za-z][\w’'.-]*(?:\s+[A-Za-z][\w’'.-]*){0,3}?"
_SAY_QUESTION = re.compile(
    rf"\b(?:did|does|do|has|have|had|is|was|will|would)\s+(?P<name>{_NAME_WORDS})\s+(?:\w+ly\s+)?"
    r"(?P<verb>say|said|see|saw|think|feel|expect|tell|told|state|stated|claim|claimed|believe|argue|argued|mean|"
    r"want|warn|warned|propose|proposed|suggest|suggested|call|called|reply|replied|respond|responded|add|added|"
    r"react|reacted|describe|described|explain|explained|reveal|revealed|announce|announced|promise|promised|"
    r"predict|predicted|admit|admitted|deny|denied|accuse|accused|comment|commented|make of|think of)\b"
    rf"|\baccording to\s+(?P<source>{_NAME_WORDS})\s*[?,.]|\b(?P<who>{_NAME_WORDS})['’]s\s+(?:view|views|"
    r"opinion|position|stance|take|comments?|remarks?|reaction|response|words|statement)\b",
    re.IGNORECASE,
)
# Words that start the phrase but are not part of a name ("did the minister", "does he").
_PHRASE_NOISE = frozenset("the a an his her their its he she they it you we i".split())
_REACTION = re.compile(r"\b(?:react|reacted|respond|responded|reaction|response)\b", re.IGNORECASE)
_LEADING = frozenset("what which who how why when where is are was were does did do has have had in".split())

_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                 r"thousands?|millions?|billions?|half|quarter")
# The kinds of answer a question may expect: what asks for it, and the shape an answer sentence must have.
ANSWER_SHAPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "age": (re.compile(r"\bhow old\b|\bwhat age\b", re.I),
            re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d|\bborn\b", re.I)),
    "number": (re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|amount)\b", re.I),
               re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)),
    "duration": (re.compile(r"\bhow long\b", re.I),
                 re.compile(rf"\b(?:years?|months?|weeks?|days?|hours?|until|since|through)\b|\d|"
                            rf"\b(?:{_NUMBER_WORDS})\b", re.I)),
    "date": (re.compile(r"^\s*(?:until |since |by |from |on |in )?(?:when|(?:what|which) (?:year|date|day|month))\b",
                        re.I),
             re.compile(rf"\b(?:19|20)\d\d\b|\b(?:{MONTH_NAMES})\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|"
                        r"\b(?:yesterday|today|last (?:week|month|year)|next (?:week|month|year)|earlier|end-\d{4})\b",
                        re.I)),
}


@dataclass(frozen=True)
class Reading:
    """What a question asks, as far as its words tell."""

    text: str
    terms: tuple[str, ...]
    names: tuple[str, ...]
    topic: tuple[str, ...]
    event_verbs: tuple[str, ...]
    speaker: str | None
    expects: str | None
    # The question's content terms typed in lower case: what it asks of its names ('born', 'soldiers').
    predicate: tuple[str, ...] = ()
    # True when the question asks how someone reacted, which the text may tell with them in a compound subject.
    reaction: bool = False


def read_question(question: str) -> Reading:
    """Read a question: content terms, names, explicit topic, asked event, asked speaker, expected answer kind."""
    return Reading(question, tuple(question_terms(question)), tuple(question_names(question)),
                   tuple(topic_terms(question)), tuple(event_verbs(question)), asked_speaker(question),
                   expected_kind(question), predicate_terms(question), bool(_REACTION.search(question)))


def predicate_terms(question: str) -> tuple[str, ...]:
    """The question's content terms typed in lower case: what it asks about its names ('born', 'soldiers')."""
    terms = question_terms(question)
    lowered = {stem for word in re.findall(r"\b[a-z][\w’'-]*", question) for stem in tokenize(word)}
    return tuple(t for t in dict.fromkeys(terms) if t in lowered)


def question_terms(question: str) -> list[str]:
    """Return the question's content terms, stemmed, without question words."""
    return [t for t in tokenize(question) if t not in _QUESTION_WORDS]


def question_names(question: str) -> list[str]:
    """Return the capitalized names in a question, leaving out a sentence's capitalized first word."""
    names = []
    for match in _NAME.finditer(question):
        words = match.group().split()
        starts_sentence = match.start() == 0 or question[: match.start()].rstrip().endswith((".", "?", "!", ":"))
        if starts_sentence:
            words = words[1:]
        words = [w for w in words if w.lower().strip("’'") not in NOT_NAMES]
        if words:
            names.append(" ".join(words))
    return names


def topic_terms(question: str) -> list[str]:
    """Return the content words of what a question is explicitly about ('... say about X?', '... warned that X?',
    'how many X ...?')."""
    match = _TOPIC.search(question) or _THING.search(question) or _COUNTED.search(question)
    if match:
        words = re.findall(r"[\w’'/-]+", match.group("topic"))
        return [w for w in words if tokenize(w) and w.lower() not in FRAMING_WORDS]
    claim = _CLAIM.search(question)
    if not claim:
        return []
    words = re.findall(r"[\w’'/-]+", claim.group("topic"))
    kept = []
    for previous, word in zip(["", *words], words, strict=False):
        verb_like = previous.lower() in _AUXILIARY or word.lower().endswith(("ed", "ing"))
        if tokenize(word) and word.lower() not in FRAMING_WORDS and not verb_like:
            kept.append(word)
    return kept


def topic_words(text: str) -> tuple[str, ...]:
    """Every content word of a topic phrase ('X on the budget talks' -> X, budget, talks)."""
    return tuple(w for w in re.findall(r"[\w’'/-]+", text) if tokenize(w) and w.lower() not in FRAMING_WORDS)


def event_verbs(question: str) -> list[str]:
    """Return the verbs of the event a 'when' or 'how many' question asks about ('appointed', 'lost', 'rule')."""
    if not _ASKS_FOR_EVENT.search(question):
        return []
    words = re.findall(r"[\w’'-]+", question)
    verbs = []
    for previous, word in zip(["", *words], words, strict=False):
        if previous.lower() in _BEFORE_VERB or (len(word) > 4 and word.lower().endswith(("ed", "ing"))):
            verbs.append(word)
    # "When was X born?": the word after the subject that ends the question is the event's participle.
    final = _PASSIVE_WHEN.match(question)
    if final and not any(w.lower().endswith(("ed", "ing")) for w in verbs):
        verbs.append(final.group("verb"))
    # A verb after a named subject ("When did the army plan ...") is left out: unmarked, it cannot be told from a
    # noun.
    return list(dict.fromkeys(
        w.lower() for w in verbs
        if not w[:1].isupper() and w.lower() not in NOT_NAMES and w.lower() not in _LIGHT_VERBS and tokenize(w)
    ))


def asked_speaker(question: str) -> str | None:
    """Return who a 'what did X say', 'how did X react' or 'according to X' question asks about, as typed
    ('Steve Waugh', 'downer'); None for a pronoun, and for a role ('the minister'), which is not a name."""
    match = _SAY_QUESTION.search(question)
    if not match:
        return None
    # "Which agencies reported X's comments?" asks for the agencies, not for what X said.
    if match.group("who") and not re.match(r"\s*(?:what|how|why|in)\b", question, re.IGNORECASE):
        return None
    phrase = (match.group("name") or match.group("source") or match.group("who") or "").strip(" ,.?")
    words = phrase.split()
    while words and words[0].lower() in _LEADING:
        words.pop(0)
    phrase = " ".join(words)
    if not words or words[0].lower() in _PHRASE_NOISE or all(w.lower() in NOT_NAMES for w in words):
        return None
    return phrase


def expected_kind(question: str) -> str | None:
    """For 'how many', 'how old', 'how long' and 'when' questions, the kind of answer they expect."""
    for kind, (asks, _) in ANSWER_SHAPES.items():
        if asks.search(question):
            return kind
    return None


def has_expected_shape(kind: str | None, sentence: str) -> bool:
    """True when a sentence has the shape an answer of that kind needs (always, for no kind)."""
    return kind is None or bool(ANSWER_SHAPES[kind][1].search(sentence))
