"""Score retrieval and answers against questions with gold sources and evidence phrases."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.answer.conversation.state import Conversation, Reply
from bot.answer.inputs import QuestionLine, bounded_lines, open_question_file, read_question_lines
from bot.answer.types import Answer
from embeddings.errors import NewsbotError
from embeddings.records import Hit
from embeddings.terms import normalize


@dataclass(frozen=True)
class Question:
    """One evaluation question."""

    qid: str
    question: str
    answerable: bool
    sources: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    evidence_all: tuple[tuple[str, str], ...] = ()
    kind: str = ""


def read_questions(path: Path) -> list[Question]:
    """Read evaluation questions from JSON Lines, refusing a malformed line with its number."""
    if not path.is_file():
        raise NewsbotError(f"no questions file at {path}")
    with open_question_file(path, sys.stdin) as handle:
        return [_question(line, path) for line in read_question_lines(handle, str(path))]


def _strings(row: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, ())
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise NewsbotError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _question(line: QuestionLine, path: Path) -> Question:
    where = f"{path}:{line.number}"
    row = line.fields
    if not row:
        raise NewsbotError(f"{where}: expected a JSON object with a 'question' field")
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise NewsbotError(f"{where}: 'answerable' must be true or false")
    pairs = row.get("evidence_all", ())
    if not isinstance(pairs, list | tuple) or not all(
            isinstance(p, dict) and isinstance(p.get("source"), str) and isinstance(p.get("phrase"), str)
            for p in pairs):
        raise NewsbotError(f"{where}: 'evidence_all' must be a list of {{source, phrase}} objects")
    return Question(
        qid=str(row.get("id", line.number)),
        question=line.question,
        answerable=answerable,
        sources=_strings(row, "sources", where),
        evidence=_strings(row, "evidence", where),
        evidence_all=tuple((p["source"], p["phrase"]) for p in pairs),
        kind=str(row.get("type", "answerable" if answerable else "unanswerable")),
    )


def is_hit(question: Question, source_id: str, text: str) -> bool:
    """True when a passage comes from a gold source and contains a gold evidence phrase."""
    folded = normalize(text)
    return source_id in question.sources and any(normalize(p) in folded for p in question.evidence)


def first_hit_rank(question: Question, hits: Sequence[Hit]) -> int | None:
    """Return the 1-based rank of the first hit, if any."""
    for position, hit in enumerate(hits, start=1):
        if is_hit(question, hit.chunk.source_id, hit.chunk.text):
            return position
    return None


def evidence_all_found(question: Question, hits: Sequence[Hit]) -> tuple[int, int]:
    """Return (found, required) for the (source, phrase) pairs that must all be retrieved."""
    found = sum(
        1 for source, phrase in question.evidence_all
        if any(h.chunk.source_id == source and normalize(phrase) in normalize(h.chunk.text) for h in hits)
    )
    return found, len(question.evidence_all)


def answer_correct(question: Question, answer: Answer) -> bool:
    """Answered with a gold source quoting an evidence phrase, or rightly abstained."""
    if not question.answerable:
        return not answer.answered
    return answer.answered and any(
        c.source_id in question.sources and any(normalize(p) in normalize(c.quote) for p in question.evidence)
        for c in answer.citations
    )


def lead_answers(question: Question, answer: Answer) -> bool:
    """True when the answer's first point is carried by a gold source quoting an evidence phrase."""
    if not question.answerable or not answer.answered or not answer.points:
        return False
    first = {n for n in answer.points[0].citations}
    return any(
        c.n in first and c.source_id in question.sources
        and any(normalize(p) in normalize(c.quote) for p in question.evidence)
        for c in answer.citations
    )


def evaluate(
    questions: Iterable[Question],
    search: Callable[[str, int], Sequence[Hit]],
    ask: Callable[[str], Answer],
    source_texts: Mapping[str, str],
) -> dict[str, object]:
    """Run every question and return the figures overall, per question type, and per question."""
    rows = []
    spent = 0.0
    for question in questions:
        hits = search(question.question, 10)
        started = time.perf_counter()
        answer = ask(question.question)
        spent += time.perf_counter() - started
        rank = first_hit_rank(question, hits) if question.answerable else None
        found, required = evidence_all_found(question, hits)
        quotes_ok = sum(1 for c in answer.citations if c.quote and c.quote in source_texts.get(c.source_id, ""))
        rows.append({
            "id": question.qid, "type": question.kind, "question": question.question,
            "answerable": question.answerable, "rank": rank, "answered": answer.answered,
            "correct": answer_correct(question, answer), "lead": lead_answers(question, answer),
            "evidence_all": [found, required],
            "quotes": len(answer.citations), "quotes_verbatim": quotes_ok,
            "cited": sorted({c.source_id for c in answer.citations}), "confidence": round(answer.confidence, 4),
            "rule": answer.decline.rule if answer.decline else None,
        })
    summary = _summarize(rows)
    summary["ms_per_question"] = round(1000 * spent / max(len(rows), 1), 1)
    kinds = sorted({row["type"] for row in rows})
    summary["by_type"] = {kind: _summarize([r for r in rows if r["type"] == kind]) for kind in kinds}
    summary["per_question"] = rows
    return summary


def ablation(reader: Mapping[str, Any], without: Mapping[str, Any]) -> dict[str, Any]:
    """The same questions answered with the reader and without it, and what the reader costs per question."""
    cost = float(reader.get("ms_per_question", 0.0)) - float(without.get("ms_per_question", 0.0))
    return {"reader": reader, "without_reader": without, "reader_ms_per_question": round(cost, 1)}


def render_ablation(result: Mapping[str, Any]) -> str:
    """Render an ablation: the figures without the reader, then with it, per question type, and its cost."""
    reader, without = result["reader"], result["without_reader"]
    columns = ("answer_accuracy", "lead", "unanswerable_declined", "false_decline_rate")
    lines = [f"{'':<26}" + "".join(f"{_SHORT.get(c, c):>12}{'+reader':>9}" for c in columns)]
    rows = [("all", without, reader)] + [(f"  {kind}", without["by_type"][kind], figures)
                                          for kind, figures in reader["by_type"].items()]
    for name, before, after in rows:
        cells = "".join(f"{('-' if before.get(c) is None else before.get(c))!s:>12}"
                        f"{('-' if after.get(c) is None else after.get(c))!s:>9}" for c in columns)
        lines.append(f"{name:<26}{cells}")
    lines.append(f"The reader's cost: {result['reader_ms_per_question']} ms a question "
                 f"({without['ms_per_question']} ms without it, {reader['ms_per_question']} ms with it).")
    return "\n".join(lines)


def _summarize(rows: list[dict]) -> dict[str, object]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    with_all = [r for r in rows if r["evidence_all"][1]]
    quotes = sum(r["quotes"] for r in rows)

    def share(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "hit@5": share([r["rank"] is not None and r["rank"] <= 5 for r in answerable]),
        "mrr@10": round(sum(1 / r["rank"] for r in answerable if r["rank"]) / len(answerable), 4)
        if answerable else None,
        "evidence_all_coverage": round(
            sum(r["evidence_all"][0] for r in with_all) / sum(r["evidence_all"][1] for r in with_all), 4
        ) if with_all else None,
        "answer_accuracy": share([r["correct"] for r in rows]),
        # The first point answers, among answerable questions.
        "lead": share([r["lead"] for r in answerable]),
        "answered_unanswerable": sum(1 for r in unanswerable if r["answered"]),
        "unanswerable_declined": share([not r["answered"] for r in unanswerable]),
        "abstained_answerable": sum(1 for r in answerable if not r["answered"]),
        "false_decline_rate": share([not r["answered"] for r in answerable]),
        "quotes_verbatim": round(sum(r["quotes_verbatim"] for r in rows) / quotes, 4) if quotes else None,
        # Which rule declined, for the answerable questions declined and the unanswerable ones.
        "declines_by_rule": {
            "answerable": dict(sorted(Counter(r["rule"] for r in answerable if r["rule"]).items())),
            "unanswerable": dict(sorted(Counter(r["rule"] for r in unanswerable if r["rule"]).items())),
        },
    }


_SHORT = {"evidence_all_coverage": "ev_all", "answer_accuracy": "accuracy", "unanswerable_declined": "unans_decl",
          "false_decline_rate": "false_decl", "quotes_verbatim": "verbatim"}


def render_evaluation(result: Mapping[str, object]) -> str:
    """Render evaluation figures as a table, overall and per question type."""
    columns = ("questions", "hit@5", "mrr@10", "evidence_all_coverage", "answer_accuracy", "lead",
               "unanswerable_declined", "false_decline_rate", "quotes_verbatim")
    header = f"{'':<26}" + "".join(f"{_SHORT.get(c, c):>11}" for c in columns)
    lines = [header]

    def line(name: str, figures: Mapping[str, object]) -> str:
        cells = "".join(f"{('-' if figures.get(c) is None else figures.get(c))!s:>11}" for c in columns)
        return f"{name:<26}{cells}"

    lines.append(line("all", result))
    for kind, figures in dict(result.get("by_type", {})).items():
        lines.append(line(f"  {kind}", figures))
    rules = dict(result.get("declines_by_rule", {}))
    for side in ("answerable", "unanswerable"):
        counted = rules.get(side) or {}
        if counted:
            lines.append(f"Declines of {side} questions by rule: "
                         + ", ".join(f"{rule} {count}" for rule, count in counted.items()))
    misses = [r for r in result.get("per_question", []) if not r["correct"] or (r["answerable"] and not r["rank"])]
    if misses:
        lines.append("")
        lines.append("Misses:")
        for row in misses:
            rule = f" rule={row['rule']}" if row.get("rule") else ""
            lines.append(f"  {row['id']} [{row['type']}] rank={row['rank']} answered={row['answered']}{rule} "
                         f"conf={row['confidence']} cited={','.join(row['cited'])}: {row['question']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- conversations


@dataclass(frozen=True)
class ConversationTurn:
    """One turn of an evaluation conversation: as typed, the self-contained question meant, and its gold."""

    gold: Question
    standalone: str
    metadata: bool = False


def read_conversations(path: Path) -> list[tuple[str, list[ConversationTurn]]]:
    """Read conversations from JSON Lines: {"id", "turns": [{question, standalone, answerable, type, sources,
    evidence, evidence_in}]}, refusing a malformed line with its number."""
    if not path.is_file():
        raise NewsbotError(f"no conversations file at {path}")
    conversations = []
    with open_question_file(path, sys.stdin) as handle:
        for number, raw in bounded_lines(handle, str(path), "a conversation"):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(raw)
            except (ValueError, RecursionError):
                raise NewsbotError(f"{where}: not a JSON object") from None
            turns = row.get("turns") if isinstance(row, dict) else None
            if not isinstance(turns, list) or not turns or not all(isinstance(t, dict) for t in turns):
                raise NewsbotError(f"{where}: expected an object with a non-empty 'turns' list of objects")
            read = []
            for position, turn in enumerate(turns, start=1):
                if not isinstance(turn.get("question"), str) or not isinstance(turn.get("standalone"), str):
                    raise NewsbotError(f"{where}: turn {position} needs 'question' and 'standalone' strings")
                line = QuestionLine(number, turn["question"], turn)
                gold = _question(line, path)
                read.append(ConversationTurn(replace(gold, qid=f"{row.get('id', number)}.{position}"),
                                             turn["standalone"], turn.get("evidence_in") == "metadata"))
            conversations.append((str(row.get("id", number)), read))
    return conversations


def turn_correct(turn: ConversationTurn, answer: Answer) -> bool:
    """Right as a question is (a quote from a gold source with an evidence phrase, or declined when unanswerable);
    a metadata turn is also right when the answer's text or a gold citation's metadata carries the phrase."""
    if answer_correct(turn.gold, answer) or not turn.metadata or not answer.answered:
        return answer_correct(turn.gold, answer)
    phrases = [normalize(p) for p in turn.gold.evidence]
    carried = [normalize(answer.answer)] + [
        normalize(" ".join(v for v in (c.title, c.date, c.outlet, c.speaker) if v))
        for c in answer.citations if c.source_id in turn.gold.sources]
    return any(p in text for p in phrases for text in carried)


def _cited(answer: Answer) -> frozenset[tuple[str, int, int]]:
    return frozenset((c.source_id, c.start, c.end) for c in answer.citations) if answer.answered else frozenset()


def evaluate_conversations(
    conversations: Iterable[tuple[str, Sequence[ConversationTurn]]],
    converse: Callable[[str, Conversation | None], Reply],
    ask: Callable[[str], Answer],
) -> dict[str, object]:
    """Run every conversation turn by turn; compare each follow-up with its gold standalone question asked alone:
    the same cited sentences (agreement), or at least one in common (overlap; both declined counts for both)."""
    rows = []
    for cid, turns in conversations:
        state: Conversation | None = None
        for position, turn in enumerate(turns):
            reply = converse(turn.gold.question, state)
            state = reply.conversation
            gold = ask(turn.standalone)
            rows.append({
                "id": turn.gold.qid, "conversation": cid, "type": turn.gold.kind, "first": position == 0,
                "question": turn.gold.question, "standalone": reply.reading.shown, "gold": turn.standalone,
                "answerable": turn.gold.answerable, "answered": reply.answer.answered,
                "correct": turn_correct(turn, reply.answer), "gold_correct": turn_correct(turn, gold),
                "same_as_gold": _cited(reply.answer) == _cited(gold),
                "overlaps_gold": _cited(reply.answer) == _cited(gold) or bool(_cited(reply.answer) & _cited(gold)),
                "cited": sorted({c.source_id for c in reply.answer.citations}),
            })
    summary = _conversation_figures(rows)
    summary["by_type"] = {kind: _conversation_figures([r for r in rows if r["type"] == kind])
                          for kind in sorted({r["type"] for r in rows})}
    summary["per_turn"] = rows
    return summary


def _conversation_figures(rows: list[dict]) -> dict[str, object]:
    def share(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    follow = [r for r in rows if not r["first"]]
    unanswerable = [r for r in follow if not r["answerable"]]
    return {
        "turns": len(rows), "follow_ups": len(follow),
        "first_accuracy": share([r["correct"] for r in rows if r["first"]]),
        "follow_up_accuracy": share([r["correct"] for r in follow]),
        "gold_standalone_accuracy": share([r["gold_correct"] for r in follow]),
        "rewrite_agreement": share([r["same_as_gold"] for r in follow]),
        "rewrite_overlap": share([r["overlaps_gold"] for r in follow]),
        "unanswerable_declined": f"{sum(not r['answered'] for r in unanswerable)} of {len(unanswerable)}",
    }


def render_conversation_evaluation(result: Mapping[str, object]) -> str:
    """Render conversation figures as a table, overall and per turn type, then the missed turns."""
    columns = ("turns", "follow_ups", "first_accuracy", "follow_up_accuracy", "gold_standalone_accuracy",
               "rewrite_agreement", "rewrite_overlap", "unanswerable_declined")
    lines = [f"{'':<18}" + "".join(f"{c[:16]:>17}" for c in columns)]
    for name, figures in [("all", result), *dict(result.get("by_type", {})).items()]:
        lines.append(f"{name:<18}" + "".join(f"{('-' if figures.get(c) is None else figures.get(c))!s:>17}"
                                             for c in columns))
    misses = [r for r in result.get("per_turn", []) if not r["correct"]]
    if misses:
        lines += ["", "Missed turns:"]
        for row in misses:
            lines.append(f"  {row['id']} [{row['type']}] {row['question']!r} read as {row['standalone']!r} "
                         f"answered={row['answered']} cited={','.join(row['cited'])}")
    return "\n".join(lines)
