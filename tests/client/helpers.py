"""Helpers for the client tests: constants, a fast client, a harness on a real sandbox."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from app.client.api import ApiClient
from app.client.manager import JobManager, PollPolicy
from app.client.store import JobStore
from app.sandbox.server import SandboxServer

T = TypeVar("T")

KEY = "sk-sandbox-TEST-KEY-7f3a9c"
START_CREDITS = 100_000
FAST = {"render_seconds": 0.3, "job_timeout_s": 60.0, "credits": START_CREDITS}
FAST_POLL = PollPolicy(initial=0.05, factor=1.5, maximum=0.3, min_gap=0.0,
                       resubmit_every=0.2)
#: a seedance take that needs no uploads: 4 s at 480p = 108 credits
PROMPT_ONLY = {"prompt": "a lighthouse at dusk", "duration": 4, "resolution": "480p",
               "aspect_ratio": "16:9", "generate_audio": False, "out": "lighthouse.mp4"}
PROMPT_ONLY_COST = 108


def run(coro: Coroutine[Any, Any, T], timeout: float = 90.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def until(condition: Callable[[], object], within: float = 30.0) -> None:
    """Wait, without blocking the loop, until `condition()` is true (AssertionError after
    `within` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fast_client(url: str, key: str = KEY, **kw: Any) -> ApiClient:
    kw.setdefault("backoff", 0.05)
    kw.setdefault("backoff_cap", 0.5)
    return ApiClient(url, key, **kw)


async def server_jobs(api: ApiClient) -> list[dict[str, Any]]:
    return list((await api.list_jobs(limit=100))["jobs"])


async def balance(api: ApiClient) -> int:
    return int((await api.account())["credits"])


class Harness:
    """A client, a store and a manager on one sandbox, built inside the running loop."""

    def __init__(self, sb: SandboxServer, root: Path, **client_kw: Any) -> None:
        self.sb = sb
        self.root = root
        self.client_kw = client_kw

    async def __aenter__(self) -> Harness:
        self.api = fast_client(self.sb.url, **self.client_kw)
        self.store = JobStore(self.root / "jobs.sqlite3")
        self.work = self.root / "work"
        self.manager = JobManager(self.api, self.store, self.work, FAST_POLL)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.manager.close()
        await self.api.close()
        self.store.close()

    def posts(self) -> list[Any]:
        return [a for a in self.api.trace if a.method == "POST" and "/v1/jobs/" in a.path]
