"""Held job reads: `GET /v1/jobs/<id>?wait=S` waits for the job to change, not polls for it.

The engine's worker threads call `JobSignals.changed(job_id)` after every status change they
commit (queued → running, and the finish, cancel and time-out); each waiting request holds an
`asyncio.Event` on the server's loop that the signal sets with `call_soon_threadsafe`. A
request waits on its event with a timeout (the end of its wait, or the moment the job's
time-derived progress reaches its next `PROGRESS_STEP` but not before `PROGRESS_HOLD_S`),
so nothing spins.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Iterator

#: the longest wait the server holds a request (`Job-Wait-Max` advertises it)
WAIT_MAX_S = 30.0
#: the response header that says the server takes `?wait=` (its value: WAIT_MAX_S)
WAIT_HEADER = "Job-Wait-Max"
#: a held read also returns when the job's progress reaches the next multiple of this…
PROGRESS_STEP = 0.05
#: …once it has been held this long (a status change answers at once): a short job's
#: steps would otherwise come ten a second, each a request
PROGRESS_HOLD_S = 1.0

_Entry = tuple[asyncio.AbstractEventLoop, asyncio.Event]


class JobSignals:
    """Per job, the events of the requests waiting on it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[_Entry]] = {}
        self._closed = False

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set when `job_id` changes (or the server stops) while inside."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._closed:
                event.set()
            self._waiters.setdefault(job_id, set()).add(entry)
        try:
            yield event
        finally:
            with self._lock:
                waiting = self._waiters.get(job_id)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiters[job_id]

    def changed(self, job_id: str) -> None:
        """Wake every request waiting on `job_id` (called from any thread)."""
        with self._lock:
            entries = list(self._waiters.get(job_id, ()))
        _wake(entries)

    def close(self) -> None:
        """The server is stopping: every held request answers now, later ones do not wait."""
        with self._lock:
            self._closed = True
            entries = [e for waiting in self._waiters.values() for e in waiting]
        _wake(entries)

    @property
    def closed(self) -> bool:
        return self._closed

    def waiting(self, job_id: str | None = None) -> int:
        """How many requests wait (on `job_id`, or on any job)."""
        with self._lock:
            if job_id is not None:
                return len(self._waiters.get(job_id, ()))
            return sum(len(w) for w in self._waiters.values())


def _wake(entries: list[_Entry]) -> None:
    for loop, event in entries:
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there
            loop.call_soon_threadsafe(event.set)


def step_of(progress: float) -> int:
    """Which `PROGRESS_STEP` the progress is in (0.049 → 0, 0.05 → 1)."""
    return math.floor(progress / PROGRESS_STEP + 1e-9)
