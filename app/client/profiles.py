"""Connection profiles: the built-in sandbox (default) or a real API whose key is kept safely.

Profiles themselves (name, kind, base URL, spending limits, where the key is kept) are plain
JSON in the data folder (`profiles.json`); keys never are. A key lives in the OS keyring
(Secret Service, Keychain, Credential Manager). Where no keyring exists the user chooses,
explicitly: keep the key for this session only (process memory), or a plaintext file readable
only by them (0600) after a warning. Nothing falls back to a plaintext file silently.

`check_profile` tests a base URL and key with `GET /v1/account` (the cheapest authenticated
call) and says, distinctly, whether the URL, the key or the network is wrong.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import ssl
import stat
import tempfile
import unicodedata
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from app.client.paths import data_dir

KEYRING_SERVICE = "takes"
SANDBOX_NAME = "Sandbox"
SANDBOX_LABEL = "Built-in sandbox"
#: a real API's defaults; the built-in sandbox has both off (a newcomer plays freely)
DEFAULT_CONFIRM_ABOVE = 500
DEFAULT_DAILY_CAP = 5_000
MAX_NAME_CHARS = 64
MAX_URL_CHARS = 2_048
MAX_LIMIT = 10**12
FILE_VERSION = 1

PLAINTEXT_WARNING = (
    "The key will be written in plain text to {path}, readable only by your user account "
    "(permissions 0600). Anyone who can log in as you, or read your backups, can read it and "
    "spend your credits. Prefer a system keyring (GNOME Keyring, KWallet) when you can.")


class ProfileError(Exception):
    """A profile that cannot be used as it is; the message says what to do."""


class KeyringUnavailable(ProfileError):
    """No safe keyring: the caller offers the explicit choices (session only, or a file)."""


class KeyStorage(StrEnum):
    KEYRING = "keyring"  # the OS keyring (the default)
    SESSION = "session"  # this process's memory only: gone when it exits
    FILE = "file"  # a plaintext file with owner-only permissions, chosen after a warning


@dataclass(frozen=True)
class Profile:
    name: str
    #: "api": the contract of docs/api.md at `base_url`; "fal": fal's queue API with the
    #: user's fal key (`base_url` optional: a proxy, or a test's fake, for every fal host)
    kind: Literal["sandbox", "api", "fal"] = "sandbox"
    base_url: str | None = None
    #: credits above which a job needs a confirmation: None = the kind's default, 0 = off
    confirm_above: int | None = None
    #: credits a local calendar day may spend: None = the kind's default, 0 = off
    daily_cap: int | None = None
    key_storage: KeyStorage = KeyStorage.KEYRING
    key_file: str | None = field(default=None, repr=False)
    #: fal only: model id → fal endpoint id, over the shipped mapping (app/client/fal.py)
    endpoints: tuple[tuple[str, str], ...] = ()

    @property
    def is_sandbox(self) -> bool:
        return self.kind == "sandbox"

    @property
    def is_fal(self) -> bool:
        return self.kind == "fal"

    @property
    def label(self) -> str:
        return SANDBOX_LABEL if self.is_sandbox else self.name

    @property
    def confirm_threshold(self) -> int | None:
        """Credits above which a job is confirmed first (None: never asks)."""
        return _effective(self.confirm_above, 0 if self.is_sandbox else DEFAULT_CONFIRM_ABOVE)

    @property
    def day_cap(self) -> int | None:
        """Credits one local calendar day may spend on this profile (None: no cap)."""
        return _effective(self.daily_cap, 0 if self.is_sandbox else DEFAULT_DAILY_CAP)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.base_url:
            d["base_url"] = self.base_url
        for k in ("confirm_above", "daily_cap"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if not self.is_sandbox:
            d["key_storage"] = str(self.key_storage)
            if self.key_file:
                d["key_file"] = self.key_file
        if self.endpoints:
            d["endpoints"] = dict(self.endpoints)
        return d

    def describe(self) -> dict[str, Any]:
        """What `takes profile list` shows (never the key)."""
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "base_url": self.base_url, "confirm_above": self.confirm_threshold,
                "daily_cap": self.day_cap,
                "key_storage": None if self.is_sandbox else str(self.key_storage),
                **({"endpoints": dict(self.endpoints)} if self.endpoints else {})}

    @classmethod
    def from_dict(cls, d: Any) -> Profile | None:
        """A saved profile, or None for an entry this code cannot use (skipped, kept)."""
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            return None
        kind = d.get("kind", "api")
        if kind not in ("sandbox", "api", "fal"):
            return None
        try:
            storage = KeyStorage(d.get("key_storage", "keyring"))
        except ValueError:
            return None
        url = d.get("base_url")
        key_file = d.get("key_file")
        raw = d.get("endpoints")
        endpoints = tuple(sorted((k, v) for k, v in raw.items() if isinstance(k, str) and
                                 isinstance(v, str) and v.strip())) \
            if isinstance(raw, dict) else ()
        return cls(d["name"], kind, url if isinstance(url, str) else None,
                   _limit_or_none(d.get("confirm_above")), _limit_or_none(d.get("daily_cap")),
                   storage, key_file if isinstance(key_file, str) else None, endpoints)


def _effective(value: int | None, default: int) -> int | None:
    v = default if value is None else value
    return v if v > 0 else None


def _limit_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_LIMIT else None


SANDBOX = Profile(SANDBOX_NAME, "sandbox")


def check_name(name: Any) -> str:
    """A profile name as typed, checked: 1–64 visible characters, no path separators or
    control characters, not the built-in sandbox's. Returns it stripped."""
    if not isinstance(name, str):
        raise ProfileError("A profile name must be text")
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs", "Cf", "Zl", "Zp")),
               None)
    if bad is not None:
        raise ProfileError(f"A profile name cannot hold the control character U+{ord(bad):04X}"
                           ": type a plain name such as 'Work'")
    name = name.strip()
    if not name:
        raise ProfileError("A profile needs a name, such as 'Work'")
    if len(name) > MAX_NAME_CHARS:
        raise ProfileError(f"A profile name is at most {MAX_NAME_CHARS} characters "
                           f"(this one has {len(name):,})")
    if any(c in name for c in "/\\") or name in (".", ".."):
        raise ProfileError("A profile name cannot hold / or \\ (or be . or ..)")
    if name.casefold() in (SANDBOX_NAME.casefold(), SANDBOX_LABEL.casefold()):
        raise ProfileError(f"{name!r} is the built-in sandbox's name: choose another")
    return name


def check_url(url: Any) -> str:
    """An API base URL: http(s), a host, printable ASCII; returned without a trailing /."""
    if not isinstance(url, str) or not url.strip():
        raise ProfileError("An API profile needs a base URL such as https://api.example.com")
    url = url.strip()
    shown = url if len(url) <= 80 else url[:77] + "..."
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and \
            parts.port != -1 and len(url) <= MAX_URL_CHARS
    except ValueError:
        ok = False
    if not ok or not url.isascii() or not url.isprintable() or " " in url:
        raise ProfileError(f"An API profile needs a base URL starting with https:// (such as "
                           f"https://api.example.com), not {shown!r}")
    if parts.query or parts.fragment:
        raise ProfileError(f"The base URL {shown!r} must not carry a query or fragment")
    return url.rstrip("/")


def _profile_url(profile: Profile) -> str | None:
    """The base URL a profile is saved with: required for "api"; for "fal" none (fal's own
    hosts) or one server for all of them."""
    if profile.is_fal and not profile.base_url:
        return None
    return check_url(profile.base_url)


def check_limit(value: Any, what: str) -> int:
    """A credits limit from the user: a whole number ≥ 0 (0 or 'off' disables)."""
    if isinstance(value, str):
        text = value.strip().lower().replace(",", "").replace("_", "")
        if text in ("off", "none", "no"):
            return 0
        value = int(text) if text.isdigit() and len(text) <= 13 else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
        raise ProfileError(f"{what} must be a whole number of credits (0 or 'off' to disable)")
    return value


class Profiles:
    """The saved profiles and which one is active (the sandbox unless chosen otherwise)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else data_dir() / "profiles.json"

    def __repr__(self) -> str:
        return f"Profiles({str(self.path)!r})"

    @property
    def key_file(self) -> Path:
        """Where keys go when the user chose a plaintext file (owner-only permissions)."""
        return self.path.parent / "keys.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        if not isinstance(data.get("profiles"), list):
            data["profiles"] = []
        return data

    def _save(self, data: dict[str, Any]) -> None:
        data["version"] = FILE_VERSION
        text = json.dumps(data, indent=2, ensure_ascii=True)  # valid JSON whatever a name holds
        _write_atomic(self.path, text, 0o644)

    def all(self) -> list[Profile]:
        sandbox, saved = SANDBOX, []
        for entry in self._load()["profiles"]:
            p = Profile.from_dict(entry)
            if p is None:
                continue
            if p.name == SANDBOX_NAME:
                sandbox = replace(SANDBOX, confirm_above=p.confirm_above, daily_cap=p.daily_cap)
            elif not p.is_sandbox and all(s.name != p.name for s in saved):
                saved.append(p)
        return [sandbox, *saved]

    def find(self, name: str) -> Profile | None:
        for p in self.all():
            if p.name == name or (p.is_sandbox and name.casefold() in (
                    SANDBOX_NAME.casefold(), SANDBOX_LABEL.casefold())):
                return p
        return None

    def get(self, name: str) -> Profile:
        p = self.find(name) if isinstance(name, str) else None
        if p is None:
            shown = name if isinstance(name, str) and len(name) <= 64 else "that name"
            known = ", ".join(repr(x.name) for x in self.all())
            raise ProfileError(f"No profile named {shown!r} (known: {known})")
        return p

    def save(self, profile: Profile) -> Profile:
        """Store a profile's settings (not its key). The sandbox keeps only its limits."""
        if profile.is_sandbox or profile.name == SANDBOX_NAME:
            if profile.name != SANDBOX_NAME:
                raise ProfileError("The built-in sandbox is the only sandbox profile")
        else:
            profile = replace(profile, name=check_name(profile.name),
                              base_url=_profile_url(profile))
        data = self._load()
        others = [p for p in data["profiles"]
                  if not (isinstance(p, dict) and p.get("name") == profile.name)]
        data["profiles"] = [*others, profile.to_dict()]
        self._save(data)
        return profile

    def add(self, profile: Profile, key: str, storage: KeyStorage | str = KeyStorage.KEYRING
            ) -> Profile:
        """Save an API profile with its key kept as chosen. `KeyringUnavailable` (nothing
        saved) when the keyring is chosen but the system has none: offer the other two."""
        if profile.is_sandbox:
            raise ProfileError("The built-in sandbox needs no key")
        profile = replace(profile, name=check_name(profile.name),
                          base_url=_profile_url(profile), key_storage=KeyStorage(storage),
                          key_file=None)
        check_key_text(key)
        if profile.key_storage is KeyStorage.FILE:
            profile = replace(profile, key_file=str(self.key_file))
        old = self.find(profile.name)
        set_key(profile, key)
        if old is not None and not old.is_sandbox and \
                (old.key_storage, old.key_file) != (profile.key_storage, profile.key_file):
            delete_key(old)  # the key moved: no copy left where it was
        return self.save(profile)

    def set_limits(self, name: str, *, confirm_above: int | None = None,
                   daily_cap: int | None = None) -> Profile:
        """Change a profile's limits (None leaves one as it is; 0 turns it off)."""
        p = self.get(name)
        changes: dict[str, Any] = {}
        if confirm_above is not None:
            changes["confirm_above"] = check_limit(confirm_above, "The confirm threshold")
        if daily_cap is not None:
            changes["daily_cap"] = check_limit(daily_cap, "The daily cap")
        return self.save(replace(p, **changes))

    def remove(self, name: str) -> None:
        p = self.get(name)
        if p.is_sandbox:
            raise ProfileError("The built-in sandbox cannot be removed")
        data = self._load()
        data["profiles"] = [e for e in data["profiles"]
                            if not (isinstance(e, dict) and e.get("name") == p.name)]
        if data.get("active") == p.name:
            data.pop("active")
        self._save(data)
        delete_key(p)

    @property
    def active(self) -> Profile:
        name = self._load().get("active")
        p = self.find(name) if isinstance(name, str) else None
        return p or self.all()[0]

    def set_active(self, name: str) -> Profile:
        p = self.get(name)
        data = self._load()
        data["active"] = p.name
        self._save(data)
        return p


def _write_atomic(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_key_text(key: Any) -> None:
    """A key that can travel in an HTTP header. The message never repeats the key."""
    if not isinstance(key, str) or not key or not key.isascii() or not key.isprintable() or \
            " " in key or len(key) > 4096:
        raise ProfileError("An API key must be 1–4,096 printable ASCII characters without "
                           "spaces")


# ---- keys: the OS keyring, the session, or a file chosen after a warning ---------------

#: keys kept for this session only (KeyStorage.SESSION), by profile name
_session_keys: dict[str, str] = {}


def session_keys() -> list[str]:
    """The keys kept for this session (for blanking them out of logs)."""
    return list(_session_keys.values())


def keyring_status() -> tuple[bool, str]:
    """(whether a safe OS keyring is there, its name or why not). A plaintext backend
    (keyrings.alt) or the null backend does not count: keys would be lost or exposed."""
    try:
        import keyring
        import keyring.backends.fail
        import keyring.backends.null
    except ImportError:
        return False, "the keyring package is not installed"
    kr = keyring.get_keyring()
    chain = list(getattr(kr, "backends", [kr]))
    usable = [b for b in chain if not isinstance(
        b, keyring.backends.fail.Keyring | keyring.backends.null.Keyring)
        and not type(b).__module__.startswith("keyrings.alt")]
    if not usable:
        names = ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in chain)
        return False, f"found only {names}"
    return True, f"{type(usable[0]).__module__}.{type(usable[0]).__name__}"


def no_keyring_message(reason: str = "") -> str:
    why = f"; {reason}" if reason else ""
    return ("Cannot save the API key safely: this system has no keyring to keep it (Secret "
            f"Service, Keychain or Credential Manager{why}). Start or unlock one (for example "
            "GNOME Keyring or KWallet), or choose: keep the key for this session only "
            "(--session-key; then pass it with --key or the TAKES_API_KEY environment "
            "variable next time), or write it to a file readable only by you "
            "(--plaintext-key-file).")


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
    except Exception as e:  # a D-Bus failure surfaces as its own type; never with the key
        raise KeyringUnavailable(f"Cannot {action} the API key: the system keyring failed "
                                 f"({type(e).__name__}). Is it running and unlocked?") from None


def get_key(profile: Profile) -> str | None:
    """The profile's key from where it is kept (None when none is saved)."""
    if profile.is_sandbox:
        return None
    if profile.key_storage is KeyStorage.SESSION:
        return _session_keys.get(profile.name)
    if profile.key_storage is KeyStorage.FILE:
        return _file_keys(Path(profile.key_file or "")).get(profile.name)
    import keyring

    value = _keyring_call("read", keyring.get_password, KEYRING_SERVICE, profile.name)
    return str(value) if value else None


def set_key(profile: Profile, key: str) -> None:
    if profile.key_storage is KeyStorage.SESSION:
        _session_keys[profile.name] = key
        return
    if profile.key_storage is KeyStorage.FILE:
        path = Path(profile.key_file or "")
        keys = _file_keys(path) if path.exists() else {}
        keys[profile.name] = key
        _write_atomic(path, json.dumps(keys, ensure_ascii=True), 0o600)
        return
    import keyring

    ok, why = keyring_status()
    if not ok:
        raise KeyringUnavailable(no_keyring_message(why))
    _keyring_call("save", keyring.set_password, KEYRING_SERVICE, profile.name, key)
    if _keyring_call("read", keyring.get_password, KEYRING_SERVICE, profile.name) != key:
        raise KeyringUnavailable("The system keyring did not keep the API key (it read back "
                                 "differently): is it locked or read-only?")


def delete_key(profile: Profile) -> None:
    """Forget the profile's key wherever it is kept (nothing when there is none)."""
    _session_keys.pop(profile.name, None)
    if profile.key_storage is KeyStorage.FILE and profile.key_file:
        path = Path(profile.key_file)
        with contextlib.suppress(ProfileError, OSError):
            keys = _file_keys(path)
            if keys.pop(profile.name, None) is not None:
                _write_atomic(path, json.dumps(keys, ensure_ascii=True), 0o600)
        return
    if profile.key_storage is not KeyStorage.KEYRING:
        return
    import keyring
    import keyring.errors

    try:
        _keyring_call("delete", keyring.delete_password, KEYRING_SERVICE, profile.name)
    except (KeyringUnavailable, keyring.errors.PasswordDeleteError):
        pass


def _file_keys(path: Path) -> dict[str, str]:
    """The keys of a plaintext key file, which must be the user's own and 0600."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ProfileError(f"Cannot read the key file {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ProfileError(f"The key file {path} is not a regular file")
    if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        raise ProfileError(f"The key file {path} can be read by others (or is not yours): "
                           f"run `chmod 600 {path}` or add the profile again")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ProfileError(f"The key file {path} is damaged: add the profile again") from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) \
        else {}


# ---- testing a profile: GET /v1/account ------------------------------------------------


@dataclass(frozen=True)
class ProfileCheck:
    """What `GET /v1/account` said: ok with the balance, or why not (`problem` is one of
    'url', 'key', 'network', 'server')."""

    ok: bool
    message: str
    problem: str | None = None
    credits: int | None = None
    status: int | None = None


async def check_profile(base_url: str, key: str, *, wait_s: float = 10.0
                        ) -> ProfileCheck:
    """Try the base URL and key with the cheapest authenticated call. Never raises for a
    network or HTTP failure; the message never holds the key."""
    import httpx

    try:
        base = check_url(base_url)
        check_key_text(key)
    except ProfileError as e:
        return ProfileCheck(False, str(e), "url" if "URL" in str(e) else "key")
    where = urlsplit(base).netloc
    url = f"{base}/v1/account"
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(wait_s), trust_env=True,
                                     follow_redirects=False) as http:
            r = await http.get(url, headers={"Authorization": f"Bearer {key}",
                                             "Accept": "application/json",
                                             "User-Agent": "takes/0.1"})
    except httpx.TimeoutException:
        return ProfileCheck(False, f"No answer from {where} within {wait_s:g} s: check your "
                            "network connection, or the URL", "network")
    except httpx.ConnectError as e:
        return _connect_failure(e, where)
    except httpx.TransportError as e:
        return ProfileCheck(False, f"The connection to {where} broke ({type(e).__name__}): "
                            "check your network connection, or the URL", "network")
    return _answer(r, where, key)


def _connect_failure(e: Exception, where: str) -> ProfileCheck:
    chain: list[BaseException] = []
    link: BaseException | None = e
    while link is not None and len(chain) < 20:
        chain.append(link)
        link = link.__cause__ or link.__context__
    text = " ".join(str(x) for x in chain).lower()

    def has(kind: type[BaseException]) -> bool:
        return any(isinstance(x, kind) for x in chain)

    errnos = {getattr(x, "errno", None) for x in chain}
    cause: OSError | None = next((x for x in chain if isinstance(x, OSError)), None)
    host = where.rsplit("@", 1)[-1]
    if has(socket.gaierror) or "name or service" in text or "nodename" in text or \
            "temporary failure in name" in text:
        return ProfileCheck(False, f"Cannot find the server {host.split(':')[0]!r} (the name "
                            "does not resolve): check the URL for a typo, or your network "
                            "connection", "url")
    if has(ssl.SSLError) or "ssl" in text or "certificate" in text:
        return ProfileCheck(False, f"{host} answered, but its TLS certificate was not "
                            "accepted: check the URL (https:// vs http://)", "url")
    if has(ConnectionRefusedError) or errno.ECONNREFUSED in errnos or "refused" in text:
        return ProfileCheck(False, f"Nothing answers at {host} (connection refused): check "
                            "the URL and its port", "url")
    if errnos & {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}:
        return ProfileCheck(False, f"Cannot reach {host}: no network route (are you "
                            "offline?)", "network")
    why = type(cause or e).__name__
    return ProfileCheck(False, f"Cannot reach {host} ({why}): check your network connection, "
                        "or the URL", "network")


def _answer(r: Any, where: str, key: str) -> ProfileCheck:
    s = r.status_code
    if s in (401, 403):
        return ProfileCheck(False, f"{where} refused the API key (HTTP {s}): check the key "
                            "(copy it again from your account page)", "key", status=s)
    if s in (404, 405) or 300 <= s < 400:
        return ProfileCheck(False, f"{where} answered, but not as the Takes API: GET "
                            f"/v1/account gave HTTP {s}. Check the base URL (the part before "
                            "/v1, such as https://api.example.com)", "url", status=s)
    if s == 429 or s >= 500:
        return ProfileCheck(False, f"The API at {where} is busy or failing (HTTP {s}): try "
                            "again in a minute", "server", status=s)
    if s >= 400:
        return ProfileCheck(False, f"The API at {where} refused the check (HTTP {s})",
                            "server", status=s)
    try:
        body = r.json()
    except ValueError:
        body = None
    credits = body.get("credits") if isinstance(body, dict) else None
    if not isinstance(credits, int | float) or isinstance(credits, bool):
        return ProfileCheck(False, f"{where} answered, but not as the Takes API (GET "
                            "/v1/account has no credits balance): check the base URL", "url",
                            status=s)
    return ProfileCheck(True, f"Connected to {where}: {int(credits):,} credits",
                        credits=int(credits), status=s)


#: fal's platform API (the balance) when a fal profile names no server of its own
FAL_PLATFORM_URL = "https://api.fal.ai"


async def check_fal_profile(key: str, base_url: str | None = None, *, wait_s: float = 10.0
                            ) -> ProfileCheck:
    """Try a fal key with the cheapest authenticated call fal documents: the account's
    billing (`GET /v1/account/billing?expand=credits`, no charge). `base_url`: one server
    for every fal host (a proxy, or a test's fake). Never raises for a network or HTTP
    failure; the message never holds the key."""
    import httpx

    try:
        base = check_url(base_url) if base_url else FAL_PLATFORM_URL
        check_key_text(key)
    except ProfileError as e:
        return ProfileCheck(False, str(e), "url" if "URL" in str(e) else "key")
    where = urlsplit(base).netloc
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(wait_s), trust_env=True,
                                     follow_redirects=False) as http:
            r = await http.get(f"{base}/v1/account/billing", params={"expand": "credits"},
                               headers={"Authorization": f"Key {key}",
                                        "Accept": "application/json",
                                        "User-Agent": "takes/0.1"})
    except httpx.TimeoutException:
        return ProfileCheck(False, f"No answer from {where} within {wait_s:g} s: check your "
                            "network connection", "network")
    except httpx.ConnectError as e:
        return _connect_failure(e, where)
    except httpx.TransportError as e:
        return ProfileCheck(False, f"The connection to {where} broke ({type(e).__name__}): "
                            "check your network connection", "network")
    s = r.status_code
    if s == 401:
        return ProfileCheck(False, "fal refused the key (HTTP 401): check it (copy it again "
                            "from fal.ai/dashboard/keys)", "key", status=s)
    if s == 403:
        return ProfileCheck(True, "fal accepted the key, but it cannot read the balance (it "
                            "needs billing read access: the BILLING, READONLY or FULL scope "
                            "on fal.ai/dashboard/keys); renders are refused until the "
                            "balance can be checked", status=s)
    if s == 429 or s >= 500:
        return ProfileCheck(False, f"fal is busy or failing (HTTP {s}): try again in a "
                            "minute", "server", status=s)
    if s >= 300:
        return ProfileCheck(False, f"{where} answered, but not as fal's platform API (GET "
                            f"/v1/account/billing gave HTTP {s})", "url", status=s)
    try:
        body = r.json()
    except ValueError:
        body = None
    credits = body.get("credits") if isinstance(body, dict) else None
    balance = credits.get("current_balance") if isinstance(credits, dict) else None
    if not isinstance(balance, int | float | str) or isinstance(balance, bool):
        return ProfileCheck(True, "fal accepted the key; it did not say the balance",
                            status=s)
    try:
        usd = float(balance)
    except ValueError:
        return ProfileCheck(True, "fal accepted the key; its balance could not be read",
                            status=s)
    cents = round(usd * 100)
    return ProfileCheck(True, f"Connected to fal: balance {usd:,.2f} "
                        f"{credits.get('currency') or 'USD'} ({cents:,} credits of one cent)",
                        credits=cents, status=s)
