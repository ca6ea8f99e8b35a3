"""A usable endpoint made from a profile: its base URL, its key, and the built-in sandbox it
runs when the profile is the sandbox. The key is held privately; the repr never shows it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from app.client.api import ApiClient, Secret
from app.client.paths import data_dir
from app.client.profiles import SANDBOX, Profile, ProfileError, get_key


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

    def client(self, **kw: Any) -> ApiClient:
        return ApiClient(self.base_url, self._key, **kw)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_sandbox(data: Path | None = None, **kw: Any) -> Connection:
    """The embedded sandbox on a free loopback port with a random key only this app knows."""
    from app.sandbox.server import SandboxServer

    key = secrets.token_urlsafe(24)
    server = SandboxServer(data or data_dir() / "sandbox", key=key, port=0, **kw)
    url = server.start()
    return Connection(SANDBOX, url, key, server)


def connect(profile: Profile, *, key: str | None = None,
            sandbox_data: Path | None = None) -> Connection:
    """Open a profile: start the sandbox, or read the real API's key from the keyring."""
    if profile.is_sandbox:
        return start_sandbox(sandbox_data)
    if not profile.base_url:
        raise ProfileError(f"Profile {profile.name!r} has no base URL")
    key = key or get_key(profile)
    if not key:
        raise ProfileError(f"No API key is saved for profile {profile.name!r}: add it in the "
                           "profile settings")
    return Connection(profile, profile.base_url, key)
