"""How long a conversation turn takes, warm: reading it against the last turns and answering it, per kind of turn,
beside a question asked on its own. A command that prints figures, never pass/fail:

    python -m benchmarks.conversation [--conversations tests/data/conversations_train.jsonl] [--rounds 5] [--json]
    python -m benchmarks.conversation --before [--conversations FILE]   # the figures of the chat before issue 12

It reads the index the settings name (NEWSBOT_INDEX_DIR, NEWSBOT_SEEDS_DIR, NEWSBOT_BACKEND), as `newsbot` does.
`--before` replays the conversations as `newsbot chat` read them before conversations existed (a line was a
follow-up only when it started with "and" / "what about"... and had at most six words; it was then asked with the
last other line as context) and prints `newsbot eval --conversations`'s figures for it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import load_average, say, summarize
from bot.answer.conversation.state import FIRST, Conversation, Reply, Turn, TurnReading, add_turn
from bot.answer.evaluation import evaluate_conversations, read_conversations, render_conversation_evaluation
from bot.answer.service import NewsService
from bot.settings import Settings

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "conversations_train.jsonl"


def measure(service: NewsService, path: Path, rounds: int) -> dict[str, object]:
    """Replay every conversation `rounds` times; time each turn, and each gold standalone question alone."""
    conversations = read_conversations(path)
    by_kind: dict[str, list[float]] = {}
    alone: list[float] = []
    for conversation_id, turns in conversations[:1]:  # warm: the model, the index, the word and name caches
        state: Conversation | None = None
        for turn in turns:
            state = service.converse(turn.gold.question, state).conversation
        say(f"warmed on {conversation_id}")
    for _ in range(rounds):
        for _, turns in conversations:
            state = None
            for position, turn in enumerate(turns):
                start = time.perf_counter()
                reply = service.converse(turn.gold.question, state)
                elapsed = time.perf_counter() - start
                state = reply.conversation
                kind = "first" if position == 0 else reply.reading.kind
                by_kind.setdefault(kind, []).append(elapsed)
                by_kind.setdefault("all_turns", []).append(elapsed)
                start = time.perf_counter()
                service.ask(turn.standalone)
                alone.append(time.perf_counter() - start)
    figures = {kind: summarize(values) for kind, values in sorted(by_kind.items())}
    figures["standalone_ask"] = summarize(alone)
    return {"conversations": str(path), "rounds": rounds, "backend": service.settings.backend,
            "load_average": load_average(), "turns": figures}


def _old_follow_up(line: str) -> bool:
    lowered = line.lower()
    return len(line.split()) <= 6 and lowered.startswith(("and ", "what about", "how about", "also ", "and?"))


def before(service: NewsService):
    """Return a `converse` that reads turns as the chat did before issue 12."""

    def converse(question: str, state: Conversation | None) -> Reply:
        previous = state.last.reading.topic if state and state.last else None
        follow = _old_follow_up(question)
        answer = service.ask(question, context=previous if follow else None)
        reading = TurnReading(question, question, FIRST, topic=previous if follow and previous else question)
        return Reply(reading, answer, add_turn(state or Conversation(), Turn(reading, answer)))

    return converse


def main(argv: list[str] | None = None) -> None:
    """Print the turn latencies as a table, or as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--before", action="store_true", help="accuracy of the chat before conversations")
    args = parser.parse_args(argv)
    service = NewsService(Settings.from_env())
    service.warm_up()
    if args.before:
        result = evaluate_conversations(read_conversations(args.conversations), before(service), service.ask)
        print(json.dumps(result) if args.json else render_conversation_evaluation(result))
        return
    result = measure(service, args.conversations, max(1, args.rounds))
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['conversations']}, backend {result['backend']}, {result['rounds']} rounds, "
          f"load {result['load_average']}")
    print(f"{'turn':<16}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for kind, figure in result["turns"].items():
        print(f"{kind:<16}{figure['n']:>6}{figure['p50_ms']:>10}{figure['p95_ms']:>10}{figure['mean_ms']:>10}")


if __name__ == "__main__":
    main()
