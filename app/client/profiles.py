"""Connection profiles: the local sandbox (default) or a real API whose key is in the OS keyring.

Profiles themselves (name, kind, base URL) are plain JSON in the data folder; keys never are.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from app.client.paths import data_dir

KEYRING_SERVICE = "takes"
SANDBOX_NAME = "Sandbox"


class ProfileError(Exception):
    """A profile that cannot be used as it is; the message says what to do."""


class KeyringUnavailable(ProfileError):
    pass


@dataclass
class Profile:
    name: str
    kind: Literal["sandbox", "api"] = "sandbox"
    base_url: str | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.kind == "sandbox"


SANDBOX = Profile(SANDBOX_NAME, "sandbox")


class Profiles:
    """The saved profiles and which one is active (the sandbox unless chosen otherwise)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "profiles.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(self.path)

    def all(self) -> list[Profile]:
        saved = [Profile(**p) for p in self._load().get("profiles", [])
                 if isinstance(p, dict) and p.get("name") != SANDBOX_NAME]
        return [SANDBOX, *saved]

    def get(self, name: str) -> Profile:
        for p in self.all():
            if p.name == name:
                return p
        raise ProfileError(f"No profile named {name!r}")

    def save(self, profile: Profile) -> None:
        if profile.name == SANDBOX_NAME:
            raise ProfileError("The sandbox profile is built in")
        if profile.kind == "api" and not (profile.base_url or "").startswith(("http://",
                                                                                "https://")):
            raise ProfileError("An API profile needs a base URL starting with https://")
        data = self._load()
        others = [p for p in data.get("profiles", []) if p.get("name") != profile.name]
        data["profiles"] = [*others, asdict(profile)]
        self._save(data)

    def remove(self, name: str) -> None:
        data = self._load()
        data["profiles"] = [p for p in data.get("profiles", []) if p.get("name") != name]
        if data.get("active") == name:
            data.pop("active")
        self._save(data)
        if name != SANDBOX_NAME:
            delete_key(Profile(name, "api"))

    @property
    def active(self) -> Profile:
        name = self._load().get("active")
        try:
            return self.get(name) if name else SANDBOX
        except ProfileError:
            return SANDBOX

    def set_active(self, name: str) -> None:
        self.get(name)
        data = self._load()
        data["active"] = name
        self._save(data)


# ---- keys in the OS keyring ------------------------------------------------------------


def _keyring_call(action: str, fn: Any, *args: Any) -> Any:
    import keyring.errors

    try:
        return fn(*args)
    except keyring.errors.NoKeyringError:
        raise KeyringUnavailable(
            f"Cannot {action} the API key: this system has no keyring (Secret Service, "
            "Keychain or Credential Manager) to keep it safely. Start or unlock one (for "
            "example GNOME Keyring or KWallet), or pass the key with --key or the "
            "TAKES_API_KEY environment variable.") from None
    except keyring.errors.KeyringError as e:
        raise KeyringUnavailable(f"Cannot {action} the API key: the system keyring refused "
                                 f"({type(e).__name__}). Is it locked?") from None


def get_key(profile: Profile) -> str | None:
    import keyring

    value = _keyring_call("read", keyring.get_password, KEYRING_SERVICE, profile.name)
    return str(value) if value else None


def set_key(profile: Profile, key: str) -> None:
    import keyring

    _keyring_call("save", keyring.set_password, KEYRING_SERVICE, profile.name, key)


def delete_key(profile: Profile) -> None:
    import keyring
    import keyring.errors

    try:
        _keyring_call("delete", keyring.delete_password, KEYRING_SERVICE, profile.name)
    except (KeyringUnavailable, keyring.errors.PasswordDeleteError):
        pass
