"""The per-user cooldown and the cap on questions in flight, taken and given back with one `async with`."""

from __future__ import annotations

import time
from collections import OrderedDict
from types import TracebackType

from bot.discord_bot import embeds

_MAX_TRACKED_USERS = 10_000


class Gate:
    """Per-user cooldown plus a cap on questions in flight; a full gate refuses at once rather than queueing."""

    def __init__(self, cooldown_seconds: float, max_in_flight: int) -> None:
        self.cooldown_seconds = max(0.0, cooldown_seconds)
        self.max_in_flight = max(1, max_in_flight)
        self.in_flight = 0
        self._last: OrderedDict[int, float] = OrderedDict()
        # When each user was last told, in public, that they must wait or that the bot is busy.
        self._told: OrderedDict[int, float] = OrderedDict()

    def retry_after(self, user_id: int) -> float:
        """Return how many seconds the user must still wait (0 when free to ask)."""
        if not self.cooldown_seconds or user_id not in self._last:
            return 0.0
        return max(0.0, self._last[user_id] + self.cooldown_seconds - time.monotonic())

    def admit(self, user_id: int) -> str | None:
        """Take a slot for the user and start their cooldown, or return the note that says why not."""
        wait = self.retry_after(user_id)
        if wait > 0:
            return embeds.cooldown_text(wait)
        if self.in_flight >= self.max_in_flight:
            return embeds.BUSY
        self.in_flight += 1
        if self.cooldown_seconds:
            _stamp(self._last, user_id, time.monotonic())
            self._told.pop(user_id, None)
        return None

    def tell(self, user_id: int) -> bool:
        """True when a refused message should get its public note: once per user per cooldown window, so that a
        burst of messages gets one "Please wait", not one each (a slash command's private note is always sent)."""
        now = time.monotonic()
        told = self._told.get(user_id)
        if self.cooldown_seconds and told is not None and now - told < self.cooldown_seconds:
            return False
        if self.cooldown_seconds:
            _stamp(self._told, user_id, now)
        return True

    def release(self) -> None:
        """Give back a slot taken by admit()."""
        self.in_flight = max(0, self.in_flight - 1)

    def slot(self, user_id: int) -> Admission:
        """Return the context that takes a slot for the user on entry (giving the refusal, if any) and gives it back."""
        return Admission(self, user_id)


def _stamp(times: OrderedDict[int, float], user_id: int, now: float) -> None:
    """Record a time for a user, forgetting the users seen longest ago beyond _MAX_TRACKED_USERS."""
    times[user_id] = now
    times.move_to_end(user_id)
    while len(times) > _MAX_TRACKED_USERS:
        times.popitem(last=False)


class Admission:
    """`async with gate.slot(user) as refusal:` refusal is None when admitted; the slot is released on exit."""

    def __init__(self, gate: Gate, user_id: int) -> None:
        self.gate = gate
        self.user_id = user_id
        self.admitted = False

    async def __aenter__(self) -> str | None:
        refusal = self.gate.admit(self.user_id)
        self.admitted = refusal is None
        return refusal

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self.admitted:
            self.admitted = False
            self.gate.release()
