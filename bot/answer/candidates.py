"""The candidate quotes of a question: every sentence of the retrieved passages and every two consecutive ones,
each with what the ranker reads about it. Only quotes that are their article's text at their offsets are kept.
Pure functions over frozen values; ranking them is bot/answer/rank.py's."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from bot.answer.attribution import Voices, read_voices
from bot.answer.features import Asked, sentence_features
from bot.answer.types import Candidate
from embeddings.records import Hit, Span

# A two-sentence quote (a statement and the sentence that completes it) is at most this long.
MAX_PAIR_CHARS = 600


def candidate_quotes(asked: Asked, hits: Sequence[Hit], texts: Mapping[str, str],
                     voices: Mapping[str, Voices] | None = None) -> list[Candidate]:
    """Every candidate quote of the passages, unranked, in passage order; duplicates across overlapping passages
    are kept (the ranker keeps the best of each).

    `voices` says who speaks in each article's sentences; without it an article's voices are read from the
    sentences of its passages at hand.
    """
    found = []
    known = dict(voices or {})
    for hit in hits:
        source_id = hit.chunk.source_id
        text = texts.get(source_id, "")
        if text[hit.chunk.start : hit.chunk.end] != hit.chunk.text:
            # The passage is not its article's text at its offsets (the article changed under the index): none of
            # its sentences can be quoted.
            continue
        if source_id not in known:
            spans = sorted({s for h in hits if h.chunk.source_id == source_id for s in h.chunk.sentences})
            known[source_id] = read_voices(text, spans)
        voices_here = known[source_id]
        for span, similarity, sentence, unit in _units(hit, text):
            speakers = [voices_here.speaker(s) for s in unit]
            subjects = [voices_here.subject(s) for s in unit]
            speaker = next((p for p in speakers if p in asked.asked), None) or next((p for p in speakers if p), None)
            subject = next((p for p in subjects if p in asked.asked), None) or next((p for p in subjects if p), None)
            features = sentence_features(asked, sentence, similarity, hit, speaker, subject, len(unit) > 1)
            if verified(sentence, texts, source_id, span):
                found.append(Candidate(hit.source, hit.chunk.chunk_id, span, sentence, 0.0, similarity, speaker,
                                       subject, features))
    return found


def _units(hit: Hit, text: str) -> list[tuple[Span, float, str, tuple[Span, ...]]]:
    """A passage's candidate quotes: each sentence, and each two consecutive sentences (the answer often comes in
    the sentence after the one that names the topic), with the best sentence similarity of each."""
    sentences = list(hit.chunk.sentences)
    scores = list(hit.sentence_scores or (0.0,) * len(sentences))
    units = [(span, score, text[span[0] : span[1]], (span,)) for span, score in zip(sentences, scores, strict=False)]
    for (first, a), (second, b) in itertools.pairwise(zip(sentences, scores, strict=False)):
        if second[1] - first[0] <= MAX_PAIR_CHARS:
            units.append(((first[0], second[1]), max(a, b), text[first[0] : second[1]], (first, second)))
    return units


def verified(quote: str, texts: Mapping[str, str], source_id: str, span: Span) -> bool:
    """True when the quote is exactly the source text at its offsets."""
    text = texts.get(source_id)
    return text is not None and text[span[0] : span[1]] == quote
