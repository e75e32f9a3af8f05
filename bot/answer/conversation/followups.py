"""Read a turn of a conversation by rules: a self-contained question is read on its own (a topic shift starts
afresh); a follow-up is rewritten into a self-contained question. Pronouns become the person, place, name or date in
play; "that", "this" and an unresolved "it" point at the last answer's statement; a fragment ("and Atlantis?",
"until when?", "why?") is completed from the last question; a question about the last answer itself (its outlet,
its date, whether others said the same, "X or Y?") is marked as such, to be answered from its citations.

Pure functions: the reader returns its alternatives, best first, and the service picks the one the corpus supports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.conversation.state import (
    ABOUT,
    FIRST,
    FOLLOW_UP,
    SHIFT,
    STANDALONE,
    Conversation,
    Focus,
    Mention,
    TurnReading,
    find_names,
    spell_names,
)
from bot.answer.names import ADJECTIVE, NAME, PERSON, CorpusNames
from bot.answer.questions import FRAMING_WORDS, question_names
from embeddings.terms import STOPWORDS, tokenize

_SHIFT = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|so|right|alright|hm+|anyways?)[,!.]?\s+)?"
    r"(?:(?:a\s+|one\s+)?(?:totally\s+|completely\s+|something\s+)?(?:different|separate|other|another|new|"
    r"unrelated)(?:\s+(?:thing|q|question|topic|subject|one|note))?|(?:totally|completely|something)\s+"
    r"(?:different|else)|switching\s+(?:topics?|gears|subjects?)|chang(?:e|ing)\s+(?:of\s+)?(?:the\s+)?"
    r"(?:topic|subject)|on\s+another\s+note|unrelated(?:ly)?|btw|by\s+the\s+way|meanwhile|anyway)"
    r"\s*(?:[-:,–—;.!]+\s*|\s+)(?=\w)",
    re.I,
)
LEAD = re.compile(r"^\s*(?:and|but|also|or|so|plus|ok(?:ay)?|then)\b[,\s]*(?:(?:what|how)\s+about\b\s*)?|"
                   r"^\s*(?:what|how)\s+about\b\s*", re.I)
_WH = frozenset("what which who whom whose when where why how".split())
_AUX = frozenset("""is are was were am be been do does did done has have had will would can could shall should may
    might must""".split())
# Words that carry no topic: they never make a question self-contained.
_FILLERS = frozenset("""actually exactly really just even still tho though anyway anyways then so ok okay btw also too
    else instead now again ever yet like basically per q thing things stuff ones one guys right sure lol hmm""".split())
_ABOUT_ARTICLE = re.compile(
    r"\b(?:which|what)\s+(?:articles?|stor(?:y|ies)|pieces?|reports?)\b|\bwhere\s+(?:is|was|did)\s+(?:that|this|it)\s+"
    r"(?:from|come\s+from)\b", re.I)
_ABOUT_OUTLET = re.compile(
    r"\b(?:which|what)\s+(?:news\s+)?(?:outlets?|papers?|newspapers?|agenc(?:y|ies)|media|publications?|sites?|"
    r"sources?|channels?|networks?|wire)\b|\b(?:that|this|the)\s+(?:paper|newspaper|outlet|agency|site|"
    r"publication|magazine)\b|\bwho\s+(?:reported|published|ran|carried)\s+"
    r"(?:it|that|this|the\s+story)\b|\bwhere\s+was\s+(?:it|that|this)\s+(?:reported|published)\b", re.I)
_ABOUT_OTHERS = re.compile(
    r"\b(?:any\s*one|any\s*body|some\s*one|others?|other\s+\w+|any\s+other\s+\w+)\s+(?:else\s+)?(?:also\s+)?"
    r"(?:say|said|report|reported|carry|carried|write|wrote|mention|mentioned|confirm|confirmed|have|has|had)\b"
    r"|\b(?:who|anyone|anybody)\s+else\b|\bthe\s+same\s+(?:thing|story)\b|\b(?:say|report)\s+the\s+same\b", re.I)
_ABOUT_DATE = re.compile(
    r"^\s*(?:(?:so|and|but)\s+)?(?:(?:what|which)\s+(?:year|date|day|month)|when)\b(?:\s+(?:was|is|were|did)\b)?"
    r"(?:\s+(?:(?:this|that)(?:\s+\w+)?|it|all\s+that|tho|though|then))?(?:\s+(?:\w+\s+){0,2}(?:say|said|reported|"
    r"published|written|made|given|held))?(?:\s+(?:this|that|it|all\s+that|so))?\s*(?:,.*)?[?!.]*\s*$", re.I)
_ABOUT_VENUE = re.compile(
    r"^\s*(?:so\s+|and\s+)?(?:where\s+(?:did|does|was|has|had|is)\s+\w+\s+(?:say|said|saying|tell|told|make|made|"
    r"state|stated|claim|claimed|write|wrote)\b(?:\s+(?:it|this|that|so|all\s+that|these|those)(?:\s+\w+)?)?|"
    r"who\s+(?:was|is|were)\s+\w+\s+(?:talking|speaking)\s+to|who\s+did\s+\w+\s+(?:tell|talk\s+to|speak\s+to))"
    r"\s*[?!.]*$", re.I)
_ABOUT_CHOICE = re.compile(
    r"^\s*(?:so\s+)?(?:is|was|are|were)\s+(?:that|this|it|they|the\s+\w+)\s+(?:the\s+)?(?P<a>[\w’'-]+)\s+or\s+"
    r"(?:the\s+)?(?P<b>[\w’'-]+)\b", re.I)
_ABOUT_SPEAKER = re.compile(r"^\s*(?:says|said)\s+who\b|^\s*who\s+(?:said|says)\s+(?:that|this|it|so)\s*[?!.]*$",
                            re.I)
_ABOUT_PHOTO = re.compile(r"(?=.*\b(?:photo|picture|image|pic)s?\b)"
                          r"(?=.*\b(?:credit|credited|credits|took|taken|shot)\b)", re.I)
_SUBJECT = re.compile(
    rf"^(?P<head>\s*(?:(?:{'|'.join(_WH)})(?:\s+\w+)?\s+)?(?:{'|'.join(_AUX)})\s+)(?P<subject>.+?)"
    r"(?P<verb>\s+(?:\w+ly\s+)?(?:say|said|think|thinks|want|wants|believe|claim|suggest|suggested|tell|told|mean|"
    r"report|reported|do|plan|expect|see|feel|propose|argue|warn|set|sets|demand|offer|need|vote|voted|decide|"
    r"decided|agree|agreed|approve|approved|announce|announced|respond|responded|react|reacted|ask|asked|"
    r"support|supported|oppose|opposed|call|called|make|made|give|gave|send|sent)\b)", re.I)
# "what does Doe say", "what did Doe think": asks a view, and the topic is the last question's.
_BARE_SAY = re.compile(r"^(?:what|how)\s+(?:does|did|do|has|have)\s+.+?\s+(?:say|said|think|thought|make of it)\s*$",
                       re.I)
_TOPIC = re.compile(r"\babout\s+(?P<topic>[^?.!;(]+)", re.I)
_SAID = re.compile(rf"^(?P<head>\s*(?:(?:{'|'.join(_WH)})\s+)?(?:did|does|do|has|have|had)\s+)(?P<subject>.+?)"
                   r"(?P<verb>\s+(?:say|said|think|tell|told|claim|suggest|argue|react|respond|reply|announce)\b)",
                   re.I)
MAX_GIST_WORDS = 60
# The second word of "how long", "how many", "how much", "how old": part of the question word, not a topic.
_HOW = re.compile(r"\bhow\s+(?:long|many|much|old|often|far|big)\b", re.I)
_PREPOSITIONS = frozenset("until till since by from to for in on at after before".split())
MAX_ALTERNATIVES = 6


@dataclass(frozen=True)
class Reference:
    """A word of the question that refers back, and what it may stand for, most likely first."""

    start: int
    end: int
    options: tuple[str, ...]


_CHAT = ((re.compile(r"\b(?:what|who|when|where|how|that)s\b", re.I), lambda m: m.group()[:-1] + " is"),
         (re.compile(r"\bppl\b", re.I), lambda m: "people"), (re.compile(r"\btho\b", re.I), lambda m: "though"),
         (re.compile(r"\bu\b", re.I), lambda m: "you"), (re.compile(r"\bper\s+(?=[A-Z])"), lambda m: "according to "),
         (re.compile(r"(?<=\w)\s+(?:himself|herself|themselves|itself)\b(?=\s+\w)", re.I), lambda m: ""),
         (re.compile(r"\bits\s+(?=(?:time|been|not|a|an|the|going|over|true|just|still|all|because|so|too|very)\b)",
                     re.I), lambda m: "it is "))
# Words a follow-up types that name nothing to look for ("what else did she say exactly?"); "else" is kept as
# what retrieval leaves out (the sentences already given), not as a word to find.
_UNSEARCHED = re.compile(r"\s*\b(?:actually|exactly|really|anyway|else)\b", re.I)
# Words before a "that" that points back ("with that idea", "is that true", "say that?"), not a relative clause.
_DEICTIC_BEFORE = frozenset("""with about of on in for from to like by at is was are were be do does did say said says
    believe think mean know hear see report reported about all""".split())
# "it" after these verbs is what was said, not a thing: "who reported it", "did they approve it".
_SAID_IT = re.compile(r"\b(?:say|said|says|report|reported|pick|picked|approve|approved|vote|voted|confirm|confirmed|"
                      r"deny|denied|believe|mention|mentioned|publish|published|cover|covered|back|backed|support|"
                      r"oppose|announce|announced|write|wrote|on|about|for|take|think|know)\s+$", re.I)


def normalize_chat(text: str) -> str:
    """Spell out what chat typing shortens ('whats' -> 'what is', 'ppl', 'per Doe' -> 'according to Doe')."""
    for pattern, spelled in _CHAT:
        text = pattern.sub(spelled, text)
    return text


def strip_shift(text: str) -> tuple[str, bool]:
    """Remove a leading 'ok different thing -', 'btw', 'switching topics:' and say whether there was one."""
    match = _SHIFT.match(text)
    return (text[match.end():], True) if match else (text, False)


def _content(text: str, mentions: list[Mention]) -> list[str]:
    """The question's topic words: not names, question words, framing, fillers or pronouns."""
    for mention in reversed(mentions):
        text = text[:mention.start] + " " + text[mention.end:]
    skip = FRAMING_WORDS | _FILLERS | _AUX | _WH
    text = _HOW.sub(" ", text)
    return [t for t in tokenize(" ".join(w for w in re.findall(r"[\w’'%-]+", text.lower()) if w not in skip))]


def about_answer(text: str) -> tuple[str | None, tuple[str, ...]]:
    """Say whether a question asks about the last answer itself, and what: its outlet, speaker, date, photo, whether
    others said the same, or which of two values."""
    choice = _ABOUT_CHOICE.search(text)
    if choice:
        return "choice", (choice.group("a"), choice.group("b"))
    for kind, pattern in (("photo", _ABOUT_PHOTO), ("speaker", _ABOUT_SPEAKER), ("venue", _ABOUT_VENUE),
                          ("article", _ABOUT_ARTICLE),
                          ("outlet", _ABOUT_OUTLET),
                          ("others", _ABOUT_OTHERS), ("date", _ABOUT_DATE)):
        if pattern.search(text):
            return kind, ()
    return None, ()


def _statement_gist(focus: Focus) -> str:
    """The last answer's statements, shortened: what 'that' points at, and what retrieval reads with it."""
    words = focus.statement.split()
    gist = " ".join(words[:MAX_GIST_WORDS]).rstrip(",;:")
    return gist + ("…" if len(words) > MAX_GIST_WORDS else "")


def _slots(text: str, focus: Focus, mentions: list[Mention]) -> list[Reference]:
    """Find the pronouns and references of a follow-up and what each may stand for."""
    named = {m.name for m in mentions}
    groups = [n for n in (*focus.names, *focus.places) if n not in named]
    slots = []
    for match in re.finditer(r"\b(?:he|she|him|his|her|hers|they|them|their|there|it|its|then)\b", text, re.I):
        word = match.group().lower()
        before = [m for m in mentions if m.end <= match.start()]
        # "What did Jane Doe say about her role?": the question's own name comes first.
        if (word in ("he", "she", "him", "his", "her", "hers") and any(m.kind in (PERSON, NAME) for m in before)) or (
                word in ("it", "its", "they", "them", "their") and any(m.kind != PERSON for m in before)):
            continue
        if word in ("he", "she", "him", "his", "her", "hers"):
            # The most salient person only: the subject of the last question, else the last answer's speaker.
            options = [p for p in focus.people if p not in named][:1]
            possessive = word in ("his", "hers") or (word == "her" and _next_is_noun(text, match.end()))
        elif word in ("they", "them", "their"):
            options, possessive = groups, word == "their"
        elif word == "there":
            if re.match(r"\s+(?:is|are|was|were|been|be)\b", text[match.end():], re.I):
                continue
            options, possessive = [p for p in (*focus.places, *focus.names) if p not in named][:1], False
            options = [f"in {p}" for p in options]
        elif word == "then":
            if not re.search(r"\b(?:since|until|till|by|back|before)\s+$", text[:match.start()], re.I):
                continue
            options, possessive = list(focus.dates[:2]), False
        else:  # it / its: a thing (the last question's one name, or one the answer brought in), or what was said
            if word == "it" and _SAID_IT.search(text[:match.start()]):
                continue
            asked = [n for n in focus.asked if n not in named]
            things = [*(asked if len(asked) == 1 else []), *(n for n in focus.introduced[:2] if n not in named)]
            things = list(dict.fromkeys(things)) or [n for n in focus.names[:1] if n not in named]
            options, possessive = things, word == "its"
        options = [f"{o}'s" if possessive else o for o in options[:3]]
        if options:
            slots.append(Reference(match.start(), match.end(), tuple(options)))
    return slots


def _next_is_noun(text: str, at: int) -> bool:
    following = re.match(r"\s+([\w’'-]+)", text[at:])
    return bool(following) and following.group(1).lower() not in STOPWORDS | _AUX


def refers_to_statement(text: str) -> bool:
    """True when 'that', 'this', 'it', 'so' or 'the same' point back at what was said, not forward at a clause."""
    for match in re.finditer(r"\b(?:that|this|it|so|the same|all that)\b", text, re.I):
        word = match.group().lower()
        after = text[match.end():]
        if word == "so" and not re.search(r"\b(?:think|say|said|believe|hope)\s+$", text[:match.start()], re.I):
            continue
        if word in ("that", "this") and re.match(r"\s+(?:the|a|an|he|she|they|it|we|there|[A-Z]\w*)\s+\w", after):
            continue  # "said that the ..." opens a clause
        before = re.findall(r"[\w’']+", text[:match.start()].lower())[-1:]
        if word == "that" and before and before[0] not in _DEICTIC_BEFORE and re.match(r"\s+[a-z]", after):
            continue  # "the riots that brought ...": a relative clause
        return True
    return False


def _is_fragment(text: str, mentions: list[Mention], resolved: bool = False) -> bool:
    """True for a question that leans on the last one: 'and X?', 'what about X', 'why?', 'until when', or one too
    short to say what it is about (a resolved pronoun says what it is about)."""
    if LEAD.match(text):
        return True
    if resolved:
        return False
    words = re.findall(r"[\w’'%-]+", text.lower())
    content = _content(text, mentions)
    if not mentions and (len(words) <= 4 or len(content) <= 1):
        return True
    return bool(mentions) and not content


def _subject_swap(previous: str, new: str) -> str | None:
    """'What did Doe say about X?' + 'Roe' -> 'What did Roe say about X?'."""
    match = _SUBJECT.match(previous)
    if not match:
        return None
    return previous[:match.start("subject")] + new + previous[match.end("subject"):]


def _name_swap(previous: str, previous_names: list[Mention], new: list[Mention]) -> str | None:
    """Put the new name in place of the last question's first name of the same kind (a person for a person)."""
    for mention in new[:1]:
        same = [m for m in previous_names if (m.kind == PERSON) == (mention.kind == PERSON) and m.kind != ADJECTIVE]
        if same:
            return previous[:same[0].start] + mention.name + previous[same[0].end:]
    return None


def _complete(fragment: str, base: str, known: CorpusNames, gist: str, root: str = "") -> tuple[str, str]:
    """Complete a fragment ('and Roe?', 'until when', 'why not', 'even with help?') from the last question: return
    the question to answer and what retrieval reads besides it."""
    lead = LEAD.match(fragment)
    rest = (fragment[lead.end():] if lead else fragment).strip(" ?!.,")
    rest = re.sub(r"^about\s+", "", rest, flags=re.I) if lead else rest
    base = base.strip().rstrip("?!. ")
    if not rest:
        return base + "?", ""
    words = [w.lower() for w in rest.split()]
    upper = rest[0].upper() + rest[1:]
    asks = words[0] in _WH or (len(words) > 1 and words[0] in _PREPOSITIONS and words[1] in _WH)
    if asks and not set(words) & _AUX and len(words) <= 3:
        if "not" in words and gist:
            return f"{upper}?", gist
        if base.split()[0].lower() in _AUX:
            return f"{upper} {base[0].lower()}{base[1:]}?", ""
        return f"{upper}?", base
    names = find_names(rest, known)
    if lead and words[0] not in _WH | _AUX:
        if names and not _content(rest, names):
            swapped = _subject_swap(base, rest) or _name_swap(base, find_names(base, known), names)
            if swapped:
                return swapped + "?", ""
            topic = _TOPIC.search(base)
            if topic:
                return f"What did {rest} say about {topic.group('topic').strip()}?", ""
        elif words[0] in ("the", "a", "an", "his", "her", "their") and len(words) <= 4 and not (
                set(words) & _PREPOSITIONS):
            # "and the local official?" after "What did the minister say about X?": the same, of someone else.
            said = _SAID.match(base)
            if said:
                return base[:said.start("subject")] + rest + base[said.end("subject"):] + "?", ""
        if words[0] in _PREPOSITIONS:
            return f"{base}, {rest}?", root if root != base else ""
        return f"What about {rest}?", base
    said = _BARE_SAY.match(rest)
    topic = _TOPIC.search(base)
    if lead and said and topic:
        return f"{upper} about {topic.group('topic').strip()}?", ""
    return f"{upper}?", base


def _substitute(text: str, slots: list[Reference], choice: tuple[int, ...]) -> str:
    out, at, used = [], 0, set()
    for slot, pick in zip(slots, choice, strict=True):
        option = slot.options[pick] if pick >= 0 else None
        # "when did they lose them": two pronouns are two things, and the second stays a pronoun.
        keep = option is None or option.removesuffix("'s").removeprefix("in ") in used
        out.append(text[at:slot.start] + (text[slot.start:slot.end] if keep else option))
        if option:
            used.add(option.removesuffix("'s").removeprefix("in "))
        at = slot.end
    out.append(text[at:])
    return "".join(out)


def _choices(slots: list[Reference]) -> list[tuple[int, ...]]:
    """The ways to resolve the slots, the most salient first: the first option of each, then one change at a time."""
    first = tuple(0 for _ in slots)
    found = [first]
    for position, slot in enumerate(slots):
        for option in range(1, len(slot.options)):
            found.append(tuple(option if i == position else 0 for i in range(len(slots))))
    return found[:MAX_ALTERNATIVES]


def read_turn(question: str, conversation: Conversation | None, known: CorpusNames) -> tuple[TurnReading, ...]:
    """Read a turn; return the possible readings, the most likely first (one, unless a pronoun is ambiguous)."""
    text, shifted = strip_shift(question)
    text = normalize_chat(spell_names(text, find_names(text, known)))
    mentions = find_names(text, known)
    last = conversation.last if conversation else None
    if last is None:
        return (TurnReading(question, text, FIRST, topic=text),)
    focus = last.focus
    base = last.reading.topic or last.reading.standalone
    about, choices = about_answer(text)
    if about and not shifted and last.answer.citations and (about != "date" or not mentions):
        return (TurnReading(question, text, ABOUT, about=about, choices=choices, topic=base, context=base),)
    slots = _slots(text, focus, mentions)
    gist = _statement_gist(focus)
    unresolved = text
    for slot in reversed(slots):
        unresolved = unresolved[:slot.start] + " X " + unresolved[slot.end:]
    statement = refers_to_statement(unresolved) and bool(gist)
    fragment = not shifted and not statement and _is_fragment(text, mentions, bool(slots))
    if not slots and not statement and not fragment:
        if shifted or mentions or question_names(text):
            return (TurnReading(question, text, SHIFT if shifted else STANDALONE, topic=text),)
        # No name at all ("who is leading the union side?"): read in the conversation's topic.
        return (TurnReading(question, text, FOLLOW_UP, topic=base, context=base),)
    readings = []
    for choice in _choices(slots) if slots else [()]:
        core = _substitute(text, slots, choice)
        # A resolved pronoun makes the question self-contained; one too short to say its topic, or with a pronoun
        # left, leans on the last question.
        pronoun = re.search(r"\b(?:he|she|him|his|her|they|them|their|it|its)\b", core, re.I)
        content = _content(core, find_names(core, known))
        context = "" if len(content) >= 2 and not pronoun else base
        topic = core if content else base
        if fragment:
            core, context = _complete(core, base, known, gist, conversation.turns[0].reading.topic)
            topic = core if not context else base
        elif statement or (re.search(r"\bit\b", core, re.I) and gist):
            context, topic = gist, base
        core = _UNSEARCHED.sub("", core)
        resolved = tuple(slot.options[pick].removesuffix("'s").removeprefix("in ")
                         for slot, pick in zip(slots, choice, strict=True))
        readings.append(TurnReading(question, _capitalize(core), FOLLOW_UP, topic=_capitalize(topic),
                                    context=context, resolved=resolved))
    return tuple(dict.fromkeys(readings))


def _capitalize(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text
