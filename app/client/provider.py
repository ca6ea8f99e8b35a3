"""The provider seam: what the job manager, the guard-rails, the studio and the window call on
a client. No Qt.

Two implementations: `app.client.api.ApiClient` (the contract of docs/api.md, which the
built-in sandbox implements: idempotency keys, held reads) and `app.client.fal.FalClient`
(fal's queue API: no idempotency key, so a POST is never resent once it may have arrived).

Jobs travel as plain dicts in the contract's job-object shape (`id`, `status` in
`app.catalog.status.API_STATUSES`, `progress`, `queue_position`, `credits_charged`,
`started_at`, `finished_at`, `error` {code, message}, `result` {url, content_type,
size_bytes, …}); a provider translates its own wire into that shape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from app.catalog.media import MediaRule


@runtime_checkable
class Provider(Protocol):
    """One provider's client, on the core loop."""

    #: whether a job POST may be resent safely (same key, same bytes: one job at most). A
    #: provider without it gets each take stored as `sending` before its POST, and a take
    #: whose POST may have arrived is marked `unknown`, never re-submitted by itself.
    idempotent: bool
    #: False since a request failed with a network error, True again on the next answer
    online: bool
    #: the longest held job read the server offers (seconds), None: it is polled
    wait_max: float | None
    base_url: str

    def subscribe_online(self, callback: Callable[[bool], None]) -> Callable[[], None]: ...

    def held_full(self) -> bool: ...

    async def account(self) -> dict[str, Any]:
        """`{"credits": <balance>, ...}`; raises `ApiError` when it cannot say."""
        ...

    async def models(self) -> Any:
        """A listing `{"models": [...]}` of the models beyond the curated catalog."""
        ...

    async def create_job(self, model_id: str, payload: Mapping[str, Any] | bytes,
                         idempotency_key: str) -> dict[str, Any]: ...

    async def get_job(self, job_id: str) -> dict[str, Any]: ...

    async def get_job_with_hint(self, job_id: str, wait: float | None = None
                                ) -> tuple[dict[str, Any], float | None]:
        """The job object (status, `queue_position`, `progress` where the provider says)
        and the server's polling hint in seconds, if any."""
        ...

    async def cancel_job(self, job_id: str) -> dict[str, Any]: ...

    async def upload(self, path: str | os.PathLike[str], *, rule: MediaRule | None = None,
                     label: str = "The file") -> str: ...

    async def download(self, url: str, dest: str | os.PathLike[str], *,
                       expected_size: int | None = None, overwrite: bool = False,
                       part_path: str | os.PathLike[str] | None = None,
                       progress: Callable[[int, int | None], None] | None = None) -> Path: ...

    def file_url(self, url: str) -> str: ...

    async def close(self) -> None: ...


def idempotent(client: Any) -> bool:
    """Whether `client` takes idempotency keys (a client that does not say: it does)."""
    return getattr(client, "idempotent", True) is not False
