"""A usable endpoint made from a profile: its base URL, its key, and the built-in sandbox it
runs when the profile is the sandbox. The key is held privately; the repr never shows it.

The built-in sandbox runs in a child process that dies with this one (`app.sandbox.process`),
one per data folder: a window and a `takes submit` on the same folder share one server.
`start_sandbox` / `connect` block until it answers (a few hundred ms: the child imports the
server stack); `begin_sandbox` / `begin_connect` return at once with a `PendingConnection` to
await, so a window can paint "starting the sandbox…" meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.client.paths import data_dir
from app.client.profiles import SANDBOX, Profile, ProfileError, get_key
from app.client.secret import Secret

if TYPE_CHECKING:
    from app.client.provider import Provider


class Connection:
    """A usable endpoint: its base URL, a way to make clients, and the sandbox it runs (if
    any). Holds the key privately; the repr never shows it."""

    def __init__(self, profile: Profile, base_url: str, key: str | Secret,
                 server: Any = None) -> None:
        self.profile = profile
        self.base_url = base_url
        self._key = key if isinstance(key, Secret) else Secret(key)
        self.server = server

    def __repr__(self) -> str:
        return f"Connection({self.profile.name!r}, {self.base_url!r})"

    def client(self, **kw: Any) -> Provider:
        """A new client of this endpoint: `FalClient` for a fal profile, else `ApiClient`."""
        if self.profile.is_fal:
            from app.client.fal import FalClient

            return FalClient(self._key, self.profile.base_url,
                             endpoints=dict(self.profile.endpoints), **kw)
        from app.client.api import ApiClient  # httpx: loaded when a client is first made

        return ApiClient(self.base_url, self._key, **kw)

    @property
    def owns_server(self) -> bool:
        """Whether closing this connection stops its sandbox (False for none, or for one
        another process serves)."""
        return self.server is not None and bool(getattr(self.server, "owned", True))

    def close(self) -> None:
        """Stop the sandbox this connection started; leave one it merely joined."""
        if self.server is not None:
            close = getattr(self.server, "close", None)  # SandboxProcess; in-thread: stop
            (close or self.server.stop)()
            self.server = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_sandbox(data: Path | None = None, **kw: Any) -> Connection:
    """The data folder's built-in sandbox (default: the user's): a child process on a free
    loopback port with a random key only its users know, or the one already serving the
    folder. Options (`render_seconds`, `faults`, `credits`, `job_timeout_s`) apply to a new
    server only."""
    from app.sandbox.process import SandboxProcess

    sandbox = SandboxProcess.open(data or data_dir() / "sandbox", **kw)
    return Connection(SANDBOX, sandbox.url, sandbox.key, sandbox)


def connect(profile: Profile, *, key: str | None = None,
            sandbox_data: Path | None = None) -> Connection:
    """Open a profile: start the sandbox, or read the real API's key from the keyring."""
    if profile.is_sandbox:
        return start_sandbox(sandbox_data)
    if profile.is_fal:
        from app.client.fal import QUEUE_URL

        key = key or get_key(profile)
        if not key:
            raise ProfileError(f"No fal key is saved for profile {profile.name!r}: add it in "
                               "the profile settings")
        return Connection(profile, profile.base_url or QUEUE_URL, key)
    if not profile.base_url:
        raise ProfileError(f"Profile {profile.name!r} has no base URL")
    key = key or get_key(profile)
    if not key:
        raise ProfileError(f"No API key is saved for profile {profile.name!r}: add it in the "
                           "profile settings")
    return Connection(profile, profile.base_url, key)


class PendingConnection:
    """A connection being made on a short-lived thread of its own: ``await pending`` (any
    asyncio loop) or ``pending.result(timeout)``; `done()` says whether it is ready.
    ``close()`` closes the connection once it is made, also when nobody awaited it."""

    def __init__(self, make: Callable[[], Connection]) -> None:
        self.future: Future[Connection] = Future()
        self._closed = False
        self._thread = threading.Thread(target=self._run, args=(make,), name="sandbox-start",
                                        daemon=True)
        self._thread.start()

    def _run(self, make: Callable[[], Connection]) -> None:
        try:
            connection = make()
        except BaseException as e:
            if not self.future.cancelled():
                self.future.set_exception(e)
            return
        try:
            self.future.set_result(connection)
        except InvalidStateError:  # cancelled while it was being made: nobody will use it,
            connection.close()  # so the sandbox it may have started is stopped here

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> Connection:
        return self.future.result(timeout)

    def __await__(self) -> Generator[Any, None, Connection]:
        # shielded: an awaiter cancelled (a window closed while it connected) must not cancel
        # the connection that the studio, and every other awaiter, still waits for
        return asyncio.shield(asyncio.wrap_future(self.future)).__await__()

    def close(self) -> None:
        """Close the connection when it is made (at once if it is), without waiting."""
        if not self._closed:
            self._closed = True
            self.future.add_done_callback(_close_made)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the starting thread to end."""
        self._thread.join(timeout)


def _close_made(future: Future[Connection]) -> None:
    # a connection cancelled before it was made (the app quit while it started) has nothing
    # to close; asking a cancelled future for its exception raises CancelledError
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def begin_sandbox(data: Path | None = None, **kw: Any) -> PendingConnection:
    """`start_sandbox` without blocking: returns at once; the child starts meanwhile."""
    return PendingConnection(lambda: start_sandbox(data, **kw))


def begin_connect(profile: Profile, *, key: str | None = None,
                  sandbox_data: Path | None = None) -> PendingConnection:
    """`connect` without blocking (the sandbox's start, or the keyring's answer)."""
    return PendingConnection(lambda: connect(profile, key=key, sandbox_data=sandbox_data))
