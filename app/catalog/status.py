"""Job statuses and the times jobs carry: the one list both sides of the API use.

The API's statuses are `API_STATUSES`; the client adds `pending` for a take stored before the
API confirmed it, `sending` for a take whose POST is going out to a provider without
idempotency keys (fal), and `unknown` for such a take whose POST may have been accepted
(and charged) without its id being stored: it is final, never re-sent by itself.
`ACTIVE` takes can still change; `TERMINAL` ones are final.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

PENDING = "pending"  # client side only: stored, not yet confirmed by the API
SENDING = "sending"  # client side only: its POST is out, on a provider without idempotency keys
UNKNOWN = "unknown"  # client side only: sent, maybe accepted and charged, its id never stored
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
TIMED_OUT = "timed_out"

UNFINISHED = (QUEUED, RUNNING)  # what the API still works on
API_TERMINAL = (SUCCEEDED, FAILED, CANCELED, TIMED_OUT)
TERMINAL = (*API_TERMINAL, UNKNOWN)
FAILURES = (FAILED, TIMED_OUT)
API_STATUSES = UNFINISHED + API_TERMINAL
ACTIVE = (PENDING, SENDING, *UNFINISHED)  # what the client still follows
STATUSES = ACTIVE + TERMINAL


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch from a number, a datetime or an ISO-8601 string (None else)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
