"""Helpers for the sandbox tests: talk to a real server with httpx."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from app.sandbox.server import SandboxServer

FAST = {"render_seconds": 0.3, "job_timeout_s": 60.0}


def api_client(sb: SandboxServer, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {sb.key}"},
                        timeout=kw.pop("timeout", 30.0), **kw)


def upload(c: httpx.Client, path: Path) -> str:
    with open(path, "rb") as fh:
        r = c.post("/v1/uploads", files={"file": (path.name, fh)})
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def submit(c: httpx.Client, model: str, payload: dict[str, Any], key: str | None = None
           ) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return c.post(f"/v1/jobs/{model}", json=payload, headers=headers)


def wait(c: httpx.Client, job_id: str, timeout: float = 60.0,
         until: tuple[str, ...] = ("succeeded", "failed", "canceled", "timed_out")
         ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job stuck: {job}"
        time.sleep(0.05)


def download(c: httpx.Client, url: str, dest: Path) -> Path:
    r = c.get(url)
    assert r.status_code == 200, r.text
    dest.write_bytes(r.content)
    return dest


def balance(c: httpx.Client) -> int:
    return int(c.get("/v1/account").json()["credits"])

