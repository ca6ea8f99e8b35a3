"""One sandbox per data folder: the files that say who serves it.

- ``sandbox.lock``: the serving process holds an exclusive ``flock`` on it for as long as it
  serves. The kernel drops the lock when that process ends, however it ends, so a lock left
  by a killed process is never mistaken for a live one.
- ``sandbox.start.lock``: held by whoever is starting or joining the folder's sandbox, for the
  few hundred milliseconds that takes, so two starts at once make one server, not two.
- ``sandbox.json`` (0600, like the lock files): ``url``, ``key`` and ``pid`` of the serving
  process, written by it once it accepts connections and removed when it stops.

Without ``fcntl`` (Windows) there is no lock: each start runs its own server.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK = "sandbox.lock"
START_LOCK = "sandbox.start.lock"
STATE = "sandbox.json"
PRIVATE = 0o600


def _open_private(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE)
    return fd


class _Flock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: bool = False) -> bool:
        """Take the lock (waiting for it with `wait`); False if another process holds it."""
        if fcntl is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_private(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> _Flock:
        self.acquire(wait=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class OwnerLock(_Flock):
    """Held by the process that serves the folder."""

    def __init__(self, data: Path) -> None:
        super().__init__(Path(data) / LOCK)


class StartLock(_Flock):
    """Held while a sandbox for the folder is being started or joined."""

    def __init__(self, data: Path) -> None:
        super().__init__(Path(data) / START_LOCK)


def served(data: Path) -> bool:
    """Whether a live process holds the folder's owner lock right now."""
    if fcntl is None:
        return False
    probe = OwnerLock(data)
    if probe.acquire():
        probe.release()
        return False
    return True


def write_state(data: Path, **state: Any) -> None:
    """Atomically, owner-only: the url, key and pid of the serving process."""
    path = Path(data) / STATE
    tmp = path.with_name(f".{STATE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        os.write(fd, json.dumps(state).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_state(data: Path) -> dict[str, Any] | None:
    """The serving process's url, key and pid, or None if there is no readable state."""
    try:
        state = json.loads((Path(data) / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not all(
            isinstance(state.get(k), t) for k, t in (("url", str), ("key", str), ("pid", int))):
        return None
    return state


def clear_state(data: Path, pid: int) -> None:
    """Remove the state if this process wrote it."""
    state = read_state(data)
    if state is not None and state["pid"] == pid:
        with contextlib.suppress(OSError):
            (Path(data) / STATE).unlink()
