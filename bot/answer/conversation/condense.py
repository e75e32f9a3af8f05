"""Optional, off by default: an OpenAI-compatible chat endpoint (Ollama, llama.cpp server, vLLM) rewrites a
follow-up into a self-contained question ("condense question"). Any error, timeout or unusable reply returns None,
and the rule-based reader's reading stands. Standard library HTTP only."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 400
MAX_TURN_CHARS = 600
HISTORY_TURNS = 4
PROMPT = (
    "You rewrite the user's last message in a conversation about news articles into one self-contained question. "
    "Replace pronouns and references (he, she, they, it, that, there, then) with what they refer to in the "
    "conversation, and complete fragments such as 'and the minister?' or 'why?' from the previous question. If "
    "the message is already self-contained, return it unchanged. Answer with the question only, on one line, "
    "without quotes or explanations."
)


def endpoint(url: str) -> str:
    """Return the chat completions URL for a base URL ('http://host:11434/v1' or the full path)."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


class Condenser:
    """Asks the configured model for a self-contained question; None when it cannot say."""

    def __init__(self, url: str, model: str, timeout: float = 5.0) -> None:
        self.url = endpoint(url)
        self.model = model
        self.timeout = timeout

    def messages(self, history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
        """Return the chat messages: the instruction, the last turns, and the message to rewrite."""
        lines = []
        for asked, answered in history[-HISTORY_TURNS:]:
            lines.append(f"User: {asked[:MAX_TURN_CHARS]}")
            lines.append(f"Assistant: {answered[:MAX_TURN_CHARS]}")
        lines.append(f"User's last message: {question[:MAX_TURN_CHARS]}")
        return [{"role": "system", "content": PROMPT}, {"role": "user", "content": "\n".join(lines)}]

    def __call__(self, history: Sequence[tuple[str, str]], question: str) -> str | None:
        """Return the model's self-contained question, or None on any failure (the rules then read the turn)."""
        body = json.dumps({"model": self.model, "messages": self.messages(history, question), "temperature": 0,
                           "max_tokens": 120, "stream": False}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read(64_000).decode("utf-8"))
            text = payload["choices"][0]["message"]["content"]
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("the condense-question model did not answer (%s): reading the turn by rules",
                        type(error).__name__)
            return None
        if not isinstance(text, str):
            return None
        line = " ".join(text.strip().strip('"“”').split())
        if not line or len(line) > MAX_REPLY_CHARS or not any(ch.isalnum() for ch in line):
            return None
        return line
