"""A client whose connection is still being made: what lets the window paint first.

At start the built-in sandbox's child process takes a second or more to answer (it imports the
server stack), and a real profile's key is read from the keyring, which may be slow. The studio
does not wait for either: it opens its store at once and gives the job manager a
`DeferredClient` around the `PendingConnection` (`app.client.connection.begin_connect`). Each
call awaits the connection first (on the core loop, never the GUI thread), then goes to the real
client made from it; the sync questions the manager asks before then get the answers of a
client that has sent nothing yet. A connection that could not be made fails every call with
`NotConnected` (a `NetworkError`: a take stays stored and unsent, never lost), and says why.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from app.client.errors import NetworkError

log = logging.getLogger(__name__)


class NotConnected(NetworkError):
    """The profile's connection could not be made (the sandbox did not start, no key)."""


class DeferredClient:
    """The client of a connection being made; `ready()` awaits it (on the core loop)."""

    def __init__(self, pending: Any, options: dict[str, Any] | None = None,
                 on_connected: Callable[[Any], None] | None = None) -> None:
        self._pending = pending
        self._options = dict(options or {})
        self._on_connected = on_connected
        self._client: Any = None
        self._failure: str | None = None
        self._online: list[tuple[Callable[[bool], None], list[Callable[[], None]]]] = []
        self._closed = False

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else (
            "failed" if self._failure is not None else "connecting")
        return f"DeferredClient({state}, {self._client!r})"

    # ---- the connection ----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def failure(self) -> str | None:
        """Why the connection could not be made (None while it is being made, or made)."""
        return self._failure

    async def ready(self) -> Any:
        """The real client, once the connection is made; `NotConnected` if it cannot be."""
        if self._client is not None:
            return self._client
        if self._closed:
            raise NotConnected("the studio is closing")
        if self._failure is None:
            try:
                connection = await self._pending
            except Exception as e:  # SandboxStartError, ProfileError, keyring errors
                if self._failure is None:
                    self._failure = str(e) or type(e).__name__
                    log.warning("the connection could not be made: %s", self._failure)
            else:
                if self._client is None:  # the first awaiter to wake makes the client
                    self._connect(connection)
        if self._client is None:
            raise NotConnected(f"Could not connect: {self._failure}")
        return self._client

    def _connect(self, connection: Any) -> None:
        if self._closed:
            connection.close()
            raise NotConnected("the studio is closing")
        self._client = connection.client(**self._options)
        for callback, unsubscribe in self._online:
            unsubscribe.append(self._client.subscribe_online(callback))
        if self._on_connected is not None:
            self._on_connected(connection)

    # ---- what the manager asks before anything was sent ----------------------------------------
    @property
    def online(self) -> bool:
        if self._client is not None:
            return bool(self._client.online)
        return self._failure is None

    def subscribe_online(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        inner: list[Callable[[], None]] = []
        entry = (callback, inner)
        self._online.append(entry)
        if self._client is not None:
            inner.append(self._client.subscribe_online(callback))

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._online.remove(entry)
            for undo in inner:
                undo()
            inner.clear()

        return unsubscribe

    @property
    def wait_max(self) -> float | None:
        return self._client.wait_max if self._client is not None else None

    def held_full(self) -> bool:
        return bool(self._client.held_full()) if self._client is not None else False

    def file_url(self, url: str) -> str:
        if self._client is None:
            raise NotConnected("not connected yet")
        return str(self._client.file_url(url))

    def __getattr__(self, name: str) -> Any:
        """Anything else the real client has (once connected)."""
        if name.startswith("_"):
            raise AttributeError(name)
        client = self.__dict__.get("_client")
        if client is None:
            raise AttributeError(f"{name!r}: the client is not connected yet")
        return getattr(client, name)

    # ---- calls: each awaits the connection first ---------------------------------------------
    async def account(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).account(*args, **kw)

    async def models(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).models(*args, **kw)

    async def get_job(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).get_job(*args, **kw)

    async def get_job_with_hint(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).get_job_with_hint(*args, **kw)

    async def list_jobs(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).list_jobs(*args, **kw)

    async def create_job(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).create_job(*args, **kw)

    async def cancel_job(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).cancel_job(*args, **kw)

    async def upload(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).upload(*args, **kw)

    async def download(self, *args: Any, **kw: Any) -> Any:
        return await (await self.ready()).download(*args, **kw)

    async def close(self) -> None:
        """Close the real client; a connection still being made is closed once made."""
        self._closed = True
        if self._client is not None:
            await self._client.close()
        else:
            self._pending.close()
