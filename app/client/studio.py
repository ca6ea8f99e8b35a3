"""What the window works with: the job store, the job manager and its API connection, all on
one core loop (`app.client.core`) on a thread of their own.

`Studio.open_sandbox` starts the embedded sandbox (a private server on loopback) and wires a
client, a store and a manager to it; `Studio.open_profile` does the same for the active
profile. The window only ever talks to these objects, and only through the core: `await
studio.run(coro)` runs a coroutine (a manager call) there, `await studio.read(fn, …)` a store
call; what comes back is plain data. The store is opened, used and closed on the core thread.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app.client.core import Core

if TYPE_CHECKING:
    from app.client.api import ApiClient
    from app.client.connection import Connection, PendingConnection
    from app.client.guard import Gate
    from app.client.manager import JobManager, PollPolicy
    from app.client.models import ModelSet
    from app.client.profiles import Profile
    from app.client.store import JobStore

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Studio:
    store: JobStore
    manager: JobManager
    client: ApiClient
    data_dir: Path
    download_dir: Path
    connection: Connection | None = None
    core: Core = field(default_factory=lambda: Core().start())
    gate: Gate | None = None  # the profile's guard-rails, which the manager enforces
    #: the profile this studio renders for (known before its connection is made)
    profile: Profile | None = None
    #: why the last `load_models` could not read the server's list (None: it could)
    models_error: str | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def thumbs_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def server(self) -> Any:
        """The built-in sandbox this studio runs (None for a real API)."""
        return self.connection.server if self.connection is not None else None

    @classmethod
    def from_connection(cls, connection: Connection, data_dir: Path, *,
                        poll: PollPolicy | None = None,
                        client_options: dict[str, Any] | None = None,
                        work_dir: Path | None = None) -> Studio:
        """A store, a client and a manager made on a new core loop (the SQLite file is opened
        on the core thread, where it is used). Results land in `work_dir` (default
        `data_dir`/work; the app passes the user's work folder)."""
        core = Core().start()
        try:
            parts = core.call(_open_parts, connection, Path(data_dir), poll,
                              client_options or {}, work_dir).result()
        except BaseException:
            core.stop()
            raise
        store, client, manager, download_dir = parts
        return cls(store, manager, client, Path(data_dir), download_dir, connection, core,
                   gate=manager.gate, profile=connection.profile)

    @classmethod
    def open_sandbox(cls, data_dir: Path | str, *, poll: PollPolicy | None = None,
                     profile: Profile | None = None, **server_options: Any) -> Studio:
        """A private sandbox under `data_dir`/sandbox (render_seconds, faults, credits…).
        `profile`: the sandbox profile with its own limits (tests turn the guard-rails on)."""
        from app.client.connection import start_sandbox

        data_dir = Path(data_dir)
        connection = start_sandbox(data_dir / "sandbox", **server_options)
        if profile is not None:
            connection.profile = profile
        try:
            return cls.from_connection(connection, data_dir, poll=poll)
        except BaseException:
            connection.close()
            raise

    @classmethod
    def open_profile(cls, data_dir: Path | str | None = None, name: str | None = None, *,
                     work_dir: Path | None = None) -> Studio:
        """A profile (default: the active one, the sandbox unless the user chose a real
        API); results land in `work_dir` (default: the user's work folder, ~/Videos/Takes)."""
        from app.client.connection import connect
        from app.client.paths import data_dir as default_data_dir
        from app.client.profiles import Profiles
        from app.client.workfolder import default_work_dir

        root = Path(data_dir) if data_dir else default_data_dir()
        profiles = Profiles(root / "profiles.json")
        profile = profiles.get(name) if name else profiles.active
        connection = connect(profile, sandbox_data=root / "sandbox")
        try:
            return cls.from_connection(connection, root,
                                       work_dir=work_dir or default_work_dir())
        except BaseException:
            connection.close()
            raise

    @classmethod
    def begin_profile(cls, data_dir: Path | str | None = None, name: str | None = None, *,
                      work_dir: Path | None = None, early: EarlyConnection | None = None
                      ) -> Studio:
        """`open_profile` without waiting for the connection: the core, the store and the job
        manager at once (a few ms), the connection (the sandbox's child process, the key from
        the keyring) made meanwhile. Calls that need the API await it on the core
        (`app.client.deferred`); `connected` says whether it is made, `connection_failure`
        why it could not be. What the window opens with, so it paints first. `early`: a
        connection begun before (`EarlyConnection`, at the process's start), used when it is
        of the same folder and profile."""
        from app.client.deferred import DeferredClient
        from app.client.workfolder import default_work_dir

        root, profile, pending = (early.take(data_dir, name) if early is not None else None) \
            or begin_connection(data_dir, name)
        holder: dict[str, Studio] = {}

        def connected(connection: Connection) -> None:  # on the core thread, once
            studio = holder["studio"]
            connection.profile = studio.profile or connection.profile
            studio.connection = connection

        client = DeferredClient(pending, on_connected=connected)
        core = Core().start()
        try:
            store, _, manager, download_dir = core.call(
                _open_parts, _Deferred(profile, client), root, None, {},
                work_dir or default_work_dir()).result()
        except BaseException:
            core.stop()
            pending.close()
            raise
        studio = cls(store, manager, client, root, download_dir, None, core, gate=manager.gate,
                     profile=profile)
        holder["studio"] = studio
        return studio

    @property
    def connected(self) -> bool:
        """Whether the profile's connection is made (always, unless `begin_profile`)."""
        return self.connection is not None

    @property
    def connection_failure(self) -> str | None:
        """Why the connection could not be made (None while it is being made, or made)."""
        return getattr(self.client, "failure", None)

    async def wait_connected(self) -> bool:
        """Await the connection (from any loop): True once made, False if it cannot be."""
        from app.client.deferred import NotConnected

        ready = getattr(self.client, "ready", None)
        if self.connection is not None or ready is None:
            return self.connection is not None
        try:
            await self.run(ready())
        except NotConnected:
            return False
        return True

    @property
    def models(self) -> ModelSet:
        """The models this profile renders: the curated seven plus those its server lists
        (`load_models`); the job manager validates, prices and sends with the same set."""
        return self.manager.models

    async def load_models(self) -> ModelSet:
        """Read ``GET /v1/models`` on the core: first this profile's cached listing (the
        last one read, `<data>/models/<profile>.json`), then the server's, cached again.
        The manager renders the models it lists from then on. A server that does not answer
        (or answers nonsense) leaves the cached set and says why in `models_error`."""
        return await self.run(self._load_models())

    async def _load_models(self) -> ModelSet:
        import asyncio

        from app.client.errors import ApiError
        from app.client.models import CURATED, ModelSet, load_cached, save_cached

        name = self.profile_name or "sandbox"
        manager = self.manager
        if manager.models is CURATED:  # (the cached listing was read when the studio opened)
            cached = await asyncio.to_thread(load_cached, self.data_dir, name)
            if cached is not None:
                manager.models = await asyncio.to_thread(ModelSet.from_listing, cached)
        try:
            listing = await self.client.models()
        except ApiError as e:
            self.models_error = f"The model list could not be read: {e}"
            return manager.models
        if not isinstance(listing, dict) or not isinstance(listing.get("models"), list):
            self.models_error = "The model list is not {\"models\": [...]}"
            return manager.models
        manager.models = await asyncio.to_thread(ModelSet.from_listing, listing)
        self.models_error = None
        try:
            await asyncio.to_thread(save_cached, self.data_dir, name, listing)
        except OSError as e:  # the list is used all the same; the next start reads it again
            self.models_error = f"The model list could not be cached: {e.strerror or e}"
        return manager.models

    @property
    def profile_name(self) -> str | None:
        if self.connection is not None:
            return self.connection.profile.name
        return self.profile.name if self.profile is not None else None

    # ---- work on the core loop ---------------------------------------------------------------
    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` run on the core loop (manager and client calls), from any loop."""
        return await self.core.run(coro)

    async def read(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Await a plain call (a store read or write) made on the core thread."""
        return await self.core.run_sync(fn, *args, **kw)

    async def spent_today(self) -> int | None:
        """Credits spent or reserved today under the profile's daily cap (None: no cap)."""
        gate = self.gate
        if gate is None or gate.profile.day_cap is None:
            return None
        return await self.read(gate.spent_today)

    async def check(self, model_id: str, payload: dict[str, Any], est: Any = None, *,
                    confirmed: bool = False) -> Any:
        """The gate's `Verdict` for sending this take now (None without a gate)."""
        if self.gate is None:
            return None
        if est is None and self.models.get_imported(model_id) is not None:
            est = self.models.estimate(model_id, payload)  # the catalog does not know it
        return await self.run(self.gate.check(self.client, model_id, payload, est,
                                              confirmed=confirmed))

    async def balance(self) -> int | None:
        """The account's credits (None when the API cannot say)."""
        return await self.core.run(self._balance())

    async def _balance(self) -> int | None:
        try:
            account = await self.client.account()
        except Exception:
            return None
        credits = account.get("credits") if isinstance(account, dict) else None
        return int(credits) if isinstance(credits, int | float) else None

    async def close(self, keep_connection: bool = False) -> None:
        """Stop following jobs (they stay resumable), close the client, the store and the
        server (`keep_connection`: leave the server running, e.g. for the next window), all
        on the core thread; then stop the core loop with nothing left running."""
        if self._closed:
            return
        self._closed = True
        if self.core.running:
            with contextlib.suppress(Exception):
                await self.core.run(self._close_parts(keep_connection))
        else:
            await self._close_parts(keep_connection)
        await self.core.aclose()

    async def _close_parts(self, keep_connection: bool) -> None:
        with contextlib.suppress(Exception):
            await self.manager.close()
        with contextlib.suppress(Exception):
            await self.client.close()
        self.store.close()
        if self.connection is not None and not keep_connection:
            self.connection.close()


def begin_connection(data_dir: Path | str | None = None, name: str | None = None
                     ) -> tuple[Path, Profile, PendingConnection]:
    """The data folder, the profile (`name`, or the active one) and its connection begun (the
    sandbox's child process starting, or the keyring read, on a thread of its own)."""
    from app.client.connection import begin_connect
    from app.client.paths import data_dir as default_data_dir
    from app.client.profiles import Profiles

    root = Path(data_dir) if data_dir else default_data_dir()
    profiles = Profiles(root / "profiles.json")
    profile = profiles.get(name) if name else profiles.active
    return root, profile, begin_connect(profile, sandbox_data=root / "sandbox")


class EarlyConnection:
    """The active profile's connection begun first thing in the process (`takes` does it before
    it even imports Qt: the built-in sandbox's child then starts while the window is built),
    taken by the first `Studio.begin_profile` of the same folder and profile. `close()` drops
    it when nobody took it (a second start handing over to the first, an error)."""

    def __init__(self, data_dir: Path | str | None = None) -> None:
        self._data_dir = data_dir
        self._begun: tuple[Path, Profile, PendingConnection] | None = None
        try:
            self._begun = begin_connection(data_dir)
        except Exception as e:  # an unreadable profile file: begin_profile says so later
            log.info("no early connection: %s", e)

    def take(self, data_dir: Path | str | None, name: str | None
             ) -> tuple[Path, Profile, PendingConnection] | None:
        begun, self._begun = self._begun, None
        if begun is None:
            return None
        from app.client.paths import data_dir as default_data_dir

        root = Path(data_dir) if data_dir else default_data_dir()
        if root == begun[0] and (name is None or name == begun[1].name):
            return begun
        begun[2].close()
        return None

    def close(self) -> None:
        begun, self._begun = self._begun, None
        if begun is not None:
            begun[2].close()


def _open_parts(connection: Connection, data_dir: Path, poll: PollPolicy | None,
                client_options: dict[str, Any], work_dir: Path | None = None
                ) -> tuple[JobStore, ApiClient, JobManager, Path]:
    """Runs on the core thread: the data folders, the SQLite store, the client, the manager
    with the profile's guard-rails."""
    from app.client.guard import Gate
    from app.client.manager import JobManager
    from app.client.store import JobStore

    data_dir.mkdir(parents=True, exist_ok=True)
    store = JobStore(data_dir / "jobs.sqlite3")
    try:
        client = connection.client(**client_options)
        download_dir = _work_folder(data_dir, work_dir)  # `out` paths are relative to it
        manager = JobManager(client, store, download_dir, poll=poll,
                             profile=connection.profile.name,  # its takes, labelled, resumed
                             gate=Gate(store, connection.profile))
        # the models this profile's server listed last time: a take of one of them resumed
        # at start (or sent while the server does not answer) is sent as it was meant
        manager.models = _cached_models(data_dir, connection.profile.name)
    except BaseException:
        store.close()
        raise
    return store, client, manager, download_dir


@dataclass
class _Deferred:
    """What `_open_parts` asks of a connection, for one still being made."""

    profile: Profile
    deferred: Any

    def client(self, **kw: Any) -> Any:
        return self.deferred


def _cached_models(data_dir: Path, profile: str) -> ModelSet:
    """On the core thread: the ModelSet of the profile's cached listing (curated only when
    there is none)."""
    from app.client.models import CURATED, ModelSet, load_cached

    listing = load_cached(data_dir, profile)
    if listing is None:
        return CURATED
    models = ModelSet.from_listing(listing)
    return models if models.extra else CURATED


def _work_folder(data_dir: Path, chosen: Path | None) -> Path:
    """The chosen work folder, made if missing; one that cannot be made (a file in the way,
    no permission, a read-only disk) falls back to the data folder's `work/`, said in the
    log, rather than stopping the app."""
    fallback = data_dir / "work"
    if chosen is not None:
        try:
            Path(chosen).mkdir(parents=True, exist_ok=True)
            return Path(chosen)
        except OSError as e:
            log.warning("the work folder %s cannot be used (%s); results go to %s", chosen,
                        e.strerror or e, fallback)
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback
