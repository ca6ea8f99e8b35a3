"""One user intent = one submission: presses are gated per target before anything is sent.

A target is what a press would submit (the form on screen, a take to render again). From
the first press until its submission is stored and sent or refused the target is busy and
further presses do nothing; presses closer together than the platform's double-click
interval are one intent, even once the first submission returned. Each accepted intent
carries one idempotency key down to the job manager. Qt-free: the window passes the interval.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

RENDER = "render"
# Retry (queue) and Re-run (history), whatever take: the queue selects the new take as soon
# as the API confirms it, so a double-click's second press would retry that one otherwise.
RETRY = "retry"


class IntentGate:
    """`begin(target)` gives an idempotency key for a new intent, or None for a repeat press."""

    def __init__(self, interval_s: Callable[[], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last_press: dict[str, float] = {}
        self._busy: set[str] = set()

    def begin(self, target: str) -> str | None:
        now = self._clock()
        last = self._last_press.get(target)
        self._last_press[target] = now  # a burst of presses is one intent, however long
        if target in self._busy or (last is not None and now - last < self._interval_s()):
            return None
        self._busy.add(target)
        return uuid.uuid4().hex

    def end(self, target: str) -> None:
        """The intent's submission was stored and sent, or refused."""
        self._busy.discard(target)

    def busy(self, target: str) -> bool:
        return target in self._busy
