"""The built-in sandbox in a child process that dies with its parent (`app.sandbox.child`).

    sandbox = SandboxProcess.open(data_dir, render_seconds=0.5)   # start, or join a running one
    sandbox.url, sandbox.key                                       # what a client needs
    sandbox.close()                    # stops the child if this process started it

One server per data folder (`app.sandbox.folder`): a second `open` of the same folder, from
this process or another (a window and a `takes submit`), joins the running server instead of
rendering the same jobs into the same files twice; when the serving process ends, the next
`open` starts a new one. Nothing here imports the server stack (uvicorn, FastAPI, numpy, av):
the child does, so the caller's start path stays light.

For tests and tools the handle also behaves like the in-thread `SandboxServer`: `stop()` /
`start()` (same port and key), `set_faults(...)`, `store.balance()` / `store.ledger()` (read
from the sandbox's SQLite), and `engine.render_seconds = S`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.sandbox import folder

START_TIMEOUT_S = 30.0  # the child imports the server stack first: seconds on a loaded machine
STOP_TIMEOUT_S = 8.0  # SIGTERM → a clean stop (uvicorn's graceful 2 s, the job workers)
KILL_TIMEOUT_S = 3.0
OPTIONS = {"credits", "render_seconds", "job_timeout_s", "faults", "max_upload_bytes",
           "models_dir"}


class SandboxStartError(RuntimeError):
    """The sandbox process could not start; the message says why (never the key)."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class SandboxProcess:
    """A handle on the data folder's sandbox: the child this process started (`owned`), or
    one another process serves (joined). The key is kept out of the repr."""

    def __init__(self, data_dir: Path, options: dict[str, Any] | None = None) -> None:
        unknown = set(options or {}) - OPTIONS
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
        self.data_dir = Path(data_dir)
        self.options = dict(options or {})
        if self.options.get("models_dir") is not None:  # sent to the child as JSON
            self.options["models_dir"] = str(self.options["models_dir"])
        self.url = ""
        self.pid: int | None = None
        self.owned = False
        self._key = ""
        self._port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: _Lines | None = None
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path, **options: Any) -> SandboxProcess:
        sandbox = cls(data_dir, options)
        sandbox.start()
        return sandbox

    @property
    def key(self) -> str:
        return self._key

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        how = "owned" if self.owned else "joined"
        return f"SandboxProcess(url={self.url!r}, pid={self.pid}, {how})"

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Join the folder's running sandbox, or start one. Once this handle has had a URL
        (after a `stop()`, or when the process it joined has ended) the new one listens on
        the same port with the same key, so clients holding the URL come back: a joiner
        whose owner quit takes over. Returns the URL."""
        with self._lock:
            if self.running:
                return self.url
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with folder.StartLock(self.data_dir):
                if folder.served(self.data_dir) and self._join():
                    return self.url
                self._spawn()
            return self.url

    def _join(self) -> bool:
        """Join the process serving the folder; False if it let go meanwhile. A server that
        has the lock but no state yet is starting (`takes sandbox`) or stopping: wait."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while (state := folder.read_state(self.data_dir)) is None:
            if not folder.served(self.data_dir):
                return False
            if time.monotonic() > deadline:
                raise SandboxStartError(f"the process serving {self.data_dir} neither says "
                                        "where it listens nor stops", "busy")
            time.sleep(0.05)
        self.url, self._key, self.pid, self.owned = state["url"], state["key"], state["pid"], False
        self._port = int(self.url.rsplit(":", 1)[1])
        return True

    def _spawn(self) -> None:
        key = self._key or secrets.token_urlsafe(24)
        port = self._port
        options = {**self.options, "data_dir": str(self.data_dir), "key": key, "port": port,
                   "parent_pid": os.getpid()}
        proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "app.sandbox.child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=_child_env(), bufsize=0, close_fds=True)
        reader = _Lines(proc)
        try:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it died at once: the reply says so
                proc.stdin.write(json.dumps(options).encode() + b"\n")
                proc.stdin.flush()
            reply = reader.next(START_TIMEOUT_S)
        except BaseException:
            _end(proc, reader)
            raise
        if "url" not in reply:
            _end(proc, reader)
            raise SandboxStartError(_start_failure(reply, proc), str(reply.get("kind", "other")))
        self._proc, self._reader = proc, reader
        self.url, self.pid, self._key, self.owned = reply["url"], proc.pid, key, True
        self._port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop the child this process started (SIGTERM, then SIGKILL after a timeout); the
        folder's lock goes with it. Unfinished jobs resume at the next start."""
        with self._lock:
            proc, reader = self._proc, self._reader
            self._proc = self._reader = None
            if proc is not None:
                _end(proc, reader)

    def close(self) -> None:
        """Stop the child if this process owns it; leave a joined one running."""
        with self._lock:
            if self.owned:
                self.stop()
            self.url, self._key, self._port, self.owned = "", "", 0, False

    # ---- what tests and tools use -------------------------------------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """``POST /v1/_test/faults`` on the running sandbox (see `app.sandbox.faults`)."""
        import httpx

        r = httpx.post(f"{self.url}/v1/_test/faults", json=faults, timeout=10,
                       headers={"Authorization": f"Bearer {self._key}"})
        if r.status_code == 422:
            raise ValueError(r.json()["error"]["message"])
        r.raise_for_status()
        return dict(r.json()["faults"])

    def set_render_seconds(self, seconds: float) -> None:
        """How long the next jobs run (the child this process owns)."""
        with self._lock:
            if self._proc is None or self._reader is None or self._proc.stdin is None:
                raise RuntimeError("only the process that started the sandbox can change it")
            line = json.dumps({"op": "render_seconds", "value": float(seconds)})
            try:
                self._proc.stdin.write(line.encode() + b"\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                raise RuntimeError("the sandbox process has ended") from None
            reply = self._reader.next(10)
        if not reply.get("ok"):
            raise ValueError(reply.get("error", "the sandbox refused the change"))

    @property
    def store(self) -> StoreReader:
        return StoreReader(self.data_dir / "sandbox.sqlite3")

    @property
    def engine(self) -> _EngineSettings:
        return _EngineSettings(self)


class _EngineSettings:
    """``server.engine.render_seconds = S`` as with the in-thread server."""

    def __init__(self, sandbox: SandboxProcess) -> None:
        self._sandbox = sandbox

    @property
    def render_seconds(self) -> float:
        return float(self._sandbox.options.get("render_seconds", 2.0))

    @render_seconds.setter
    def render_seconds(self, seconds: float) -> None:
        self._sandbox.set_render_seconds(seconds)
        self._sandbox.options["render_seconds"] = float(seconds)


class StoreReader:
    """Read-only looks at the sandbox's SQLite (balance, ledger, a job) from another process;
    each call is one short read, so the serving process is never held up."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def balance(self) -> int:
        [row] = self._rows("SELECT value FROM meta WHERE key='balance'")
        return int(row["value"])

    def ledger(self, job_id: str | None = None) -> list[dict[str, Any]]:
        if job_id is None:
            return self._rows("SELECT * FROM ledger ORDER BY seq")
        return self._rows("SELECT * FROM ledger WHERE job_id=? ORDER BY seq", (job_id,))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM jobs WHERE id=?", (job_id,))
        return rows[0] if rows else None


class _Lines:
    """JSON lines from the child's stdout, read with a deadline (select, no polling)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._buf = b""

    def next(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxStartError(f"the sandbox process did not answer in {timeout:g} s",
                                        "timeout")
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    return {"error": "the sandbox process ended", "kind": "exited"}
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return {"error": "the sandbox process answered nonsense", "kind": "other"}
        return message


def _child_env() -> dict[str, str]:
    """The parent's environment, with this checkout importable (the child runs `-m`)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


def _start_failure(reply: dict[str, Any], proc: subprocess.Popen[bytes]) -> str:
    message = str(reply.get("error") or "unknown error")
    if reply.get("kind") == "exited" and proc.returncode is not None:
        message += f" (exit status {proc.returncode})"
    return f"the sandbox did not start: {message}"


def _end(proc: subprocess.Popen[bytes], reader: _Lines | None) -> None:
    """SIGTERM, wait, SIGKILL; always reaped and its pipes closed (no zombie, no warning)."""
    del reader
    with contextlib.suppress(OSError):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(KILL_TIMEOUT_S)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
