"""What the window works with: the job store, the job manager and its API connection.

`Studio.open_sandbox` starts the embedded sandbox (a private server on loopback) and wires a
client, a store and a manager to it; `Studio.open_profile` does the same for the active
profile. The window only ever talks to these objects.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Studio:
    store: Any
    manager: Any
    client: Any
    data_dir: Path
    download_dir: Path
    connection: Any = None
    _closed: bool = field(default=False, repr=False)

    @property
    def thumbs_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def server(self) -> Any:
        return getattr(self.connection, "server", None)

    @classmethod
    def from_connection(cls, connection: Any, data_dir: Path, *, poll: Any = None,
                        client_options: dict[str, Any] | None = None) -> Studio:
        from app.client.manager import JobManager
        from app.client.store import JobStore

        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        store = JobStore(data_dir / "jobs.sqlite3")
        client = connection.client(**(client_options or {}))
        download_dir = data_dir / "work"  # the work folder `out` paths are relative to
        download_dir.mkdir(parents=True, exist_ok=True)
        manager = JobManager(client, store, download_dir, poll=poll)
        return cls(store, manager, client, data_dir, download_dir, connection)

    @classmethod
    def open_sandbox(cls, data_dir: Path | str, *, poll: Any = None,
                     **server_options: Any) -> Studio:
        """A private sandbox under `data_dir`/sandbox (render_seconds, faults, credits…)."""
        from app.client.connection import start_sandbox

        data_dir = Path(data_dir)
        connection = start_sandbox(data_dir / "sandbox", **server_options)
        try:
            return cls.from_connection(connection, data_dir, poll=poll)
        except BaseException:
            connection.close()
            raise

    @classmethod
    def open_profile(cls, data_dir: Path | str | None = None) -> Studio:
        """The active profile (the sandbox unless the user chose a real API)."""
        from app.client.connection import connect
        from app.client.paths import data_dir as default_data_dir
        from app.client.profiles import Profiles

        root = Path(data_dir) if data_dir else default_data_dir()
        profile = Profiles(root / "profiles.json").active
        connection = connect(profile, sandbox_data=root / "sandbox")
        try:
            return cls.from_connection(connection, root)
        except BaseException:
            connection.close()
            raise

    async def balance(self) -> int | None:
        """The account's credits (None when the API cannot say)."""
        try:
            account = await self.client.account()
        except Exception:
            return None
        credits = account.get("credits") if isinstance(account, dict) else None
        return int(credits) if isinstance(credits, int | float) else None

    async def close(self, keep_connection: bool = False) -> None:
        """Stop following jobs (they stay resumable), then the client, store and server
        (`keep_connection`: leave the server running, e.g. for the next window)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.manager.close()
        with contextlib.suppress(Exception):
            await self.client.close()
        self.store.close()
        if self.connection is not None and not keep_connection:
            self.connection.close()
