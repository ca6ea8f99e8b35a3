"""The local sandbox render API, embeddable: a real uvicorn server on 127.0.0.1 in a thread.

    with SandboxServer(tmp_path, render_seconds=0.5) as sb:
        httpx.get(f"{sb.url}/v1/account", headers={"Authorization": f"Bearer {sb.key}"})

State lives in SQLite under `data_dir` and survives a restart (unfinished jobs are resumed).
The wire contract is `shared/API.md`; details it leaves open are in `app.sandbox.app`, the
fault keys in `app.sandbox.faults`. The key is kept out of reprs, logs and the database.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from app.sandbox.faults import Faults

START_TIMEOUT_S = 15.0


class _QuietDrops(logging.Filter):
    """uvicorn logs an error for each response the drop fault abandons on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


class SandboxServer:
    def __init__(self, data_dir: Path, key: str | None = None, credits: int = 10_000,
                 port: int = 0, job_timeout_s: float = 900.0, render_seconds: float = 2.0,
                 faults: dict[str, Any] | None = None, *,
                 max_upload_bytes: int | None = None,
                 models_dir: Path | str | None = None) -> None:
        from app.sandbox.extra import load_models_dir

        self.data_dir = Path(data_dir)
        #: models served beyond the curated seven, from schema files (`app.sandbox.extra`)
        self.extra = load_models_dir(models_dir)
        self.files_dir = self.data_dir / "files"
        self._key = key or secrets.token_urlsafe(24)
        self.credits = int(credits)
        self.port = int(port)
        self.job_timeout_s = float(job_timeout_s)
        self.render_seconds = float(render_seconds)
        self.faults = Faults(faults)
        self.max_upload_bytes = max_upload_bytes or largest_upload_limit(
            self.extra.media_rules())
        self.accepted_formats = accepted_formats(self.extra.media_rules())
        self.url = ""
        self.store: Any = None
        self.engine: Any = None
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def key(self) -> str:
        return self._key

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 in a background thread; returns the base URL once it accepts."""
        import uvicorn

        from app.sandbox.app import build_app
        from app.sandbox.engine import Engine
        from app.sandbox.store import Store

        if self._thread is not None:
            return self.url
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "sandbox.sqlite3", self.credits)
        self.engine = Engine(self.store, self.files_dir, render_seconds=self.render_seconds,
                             job_timeout_s=self.job_timeout_s, base_url=lambda: self.url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        uv_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietDrops) for f in uv_log.filters):
            uv_log.addFilter(_QuietDrops())
        config = uvicorn.Config(build_app(self), log_config=None, log_level="warning",
                                access_log=False,
                                lifespan="off", timeout_graceful_shutdown=2,
                                timeout_keep_alive=30)
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [sock]},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        self.engine.resume_all()
        return self.url

    def stop(self) -> None:
        """Stop serving and the job workers (unfinished jobs resume at the next start)."""
        if self.engine is not None:
            self.engine.signals.close()  # held `?wait=` requests answer now
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self.engine is not None:
            self.engine.stop()
        if self.store is not None:
            self.store.close()
        if self._socket is not None:
            self._socket.close()
        self._uvicorn = self._thread = self._socket = None
        self.store = self.engine = None

    # ---- helpers ------------------------------------------------------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Same effect as ``POST /v1/_test/faults`` (see `app.sandbox.faults`)."""
        return self.faults.update(faults)

    def own_file(self, url: str) -> str | None:
        from app.sandbox.app import own_file_name

        return own_file_name(url)


def _media_rules() -> list[dict[str, Any]]:
    from app.catalog import MODELS

    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("x-media"), dict):
                found.append(node["x-media"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for spec in MODELS.values():
        walk(spec.json_schema())
    return found


def largest_upload_limit(extra: list[dict[str, Any]] | None = None) -> int:
    """The largest per-file size limit of any model's media field, in bytes (`extra`: the
    media rules of extra models)."""
    from app.catalog.media import MB

    rules = [*_media_rules(), *(extra or [])]
    return int(max(r["max_mb"] for r in rules if r.get("max_mb")) * MB)


def accepted_formats(extra: list[dict[str, Any]] | None = None) -> dict[str, set[str]]:
    """kind → the formats at least one model takes (`extra`: media rules of extra models)."""
    out: dict[str, set[str]] = {}
    for r in [*_media_rules(), *(extra or [])]:
        out.setdefault(r["kind"], set()).update(r.get("formats") or [])
    return out
