"""Discord test values: synthetic passages and an answer far over every Discord limit."""

from __future__ import annotations

import pytest

from bot.answer.types import Answer, Citation
from embeddings.records import Chunk, Hit, SourceInfo


def _hit(rank: int, text: str, *, source_id: str = "004_347bbc5789c47b0a", title: str | None = "A title",
         date: str | None = "2024-03-10") -> Hit:
    chunk = Chunk(chunk_id=f"{source_id}#{rank}", source_id=source_id, start=0, end=len(text), text=text)
    return Hit(chunk=chunk, score=1.0 / (rank + 1), source=SourceInfo(source_id, title, date), rank=rank)


@pytest.fixture()
def make_hit():
    """Build a synthetic retrieved passage."""
    return _hit


@pytest.fixture()
def huge_answer() -> Answer:
    """A synthetic answer far over every Discord limit: 40 citations, huge quotes, titles, notes and leads."""
    quote = ("Quoted *words* " * 400)[:5000]
    citations = tuple(
        Citation(n=n, source_id=f"{n:03d}_{'ab' * 8}", chunk_id=f"{n:03d}#0", quote=quote, start=0, end=len(quote),
                 title="A very long headline " * 30, date="2024-03-10", speaker="Crosetto" if n % 2 else None)
        for n in range(1, 41)
    )
    return Answer(
        question="Why? " * 1000,
        answered=True,
        answer="\n".join(f"Statement number {n} of the answer, quite long indeed. [{n}]" * 10 for n in range(1, 41)),
        citations=citations,
        leads=tuple(_hit(rank, "passage text " * 500) for rank in range(1, 9)),
        as_of="2024-03-10",
        notes=("Sources differ on the year: 2023 [1]; 2024 [2]. " * 60,),
        confidence=0.9,
    )
