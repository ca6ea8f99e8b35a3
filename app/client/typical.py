"""How long each model's takes typically run, learned from the job store (Qt-free).

The queue shows an ETA from it: the median render time (started → finished) of the model's
last `SAMPLE` successful takes. `read_run_times(store)` reads those from the store (a store
call: run it where the store lives, the core loop); `TypicalTimes` holds them for the window
and learns from every take that succeeds while it is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from app.client.present import run_seconds, typical_duration_of

if TYPE_CHECKING:
    from app.client.store import JobRecord, JobStore

SAMPLE = 20  # the last this many successes of a model make its typical time


def read_run_times(store: JobStore, model_ids: Iterable[str] | None = None,
                   sample: int = SAMPLE) -> dict[str, list[float]]:
    """Each model's recent run times, newest first (from its last `sample` successes)."""
    if model_ids is None:
        from app.catalog import MODELS

        model_ids = list(MODELS)
    out: dict[str, list[float]] = {}
    for mid in model_ids:
        jobs = store.query(model_id=mid, status="succeeded", limit=sample)
        out[mid] = [t for j in jobs if (t := run_seconds(j)) is not None]
    return out


class TypicalTimes:
    """Typical run time per model: `get(model_id)` is the median, or None without history."""

    def __init__(self, sample: int = SAMPLE) -> None:
        self.sample = sample
        self._times: dict[str, list[float]] = {}
        self._typical: dict[str, float | None] = {}
        self._learned: set[str] = set()

    def load(self, times: Mapping[str, list[float]]) -> None:
        """Replace what is known with run times read from the store (newest first)."""
        self._times = {mid: list(ts[:self.sample]) for mid, ts in times.items()}
        self._typical = {mid: typical_duration_of(ts) for mid, ts in self._times.items()}

    def learn(self, job: JobRecord) -> bool:
        """A take succeeded: count its run time once (True if it was counted now)."""
        if job.status != "succeeded" or job.id in self._learned:
            return False
        t = run_seconds(job)
        if t is None:
            return False
        self._learned.add(job.id)
        times = self._times.setdefault(job.model_id, [])
        times.insert(0, t)
        del times[self.sample:]
        self._typical[job.model_id] = typical_duration_of(times)
        return True

    def get(self, model_id: str) -> float | None:
        return self._typical.get(model_id)

    def times(self, model_id: str) -> list[float]:
        return list(self._times.get(model_id, ()))
