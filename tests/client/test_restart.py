"""A `takes submit --wait` process killed after its POST; `takes resume` finishes the take:
polled, downloaded once, charged once. Real processes, a real sandbox, SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.client.store import JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    balance,
    fast_client,
    server_jobs,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from faults_kill import POINTS, kill_and_resume  # noqa: E402


def takes(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def server_state(sb: SandboxServer) -> tuple[list[dict], int]:
    async def main() -> tuple[list[dict], int]:
        async with fast_client(sb.url) as api:
            return await server_jobs(api), await balance(api)

    return asyncio.run(main())


@pytest.mark.parametrize("moment", ["answer-pending", "polling"])
def test_killed_after_the_post_resumes_downloads_once_and_charges_once(tmp_path, moment):
    store_path, work = tmp_path / "jobs.sqlite3", tmp_path / "work"
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(PROMPT_ONLY))
    env = {**os.environ, "TAKES_API_KEY": KEY, "TAKES_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(ROOT)}
    render = 0.3 if moment == "answer-pending" else 3.0
    faults = {"responses": [{"paths": "POST /v1/jobs/*", "delay_s": 60}]} \
        if moment == "answer-pending" else None
    with SandboxServer(tmp_path / "sb", key=KEY, credits=START_CREDITS,
                       render_seconds=render, faults=faults) as sb:
        common = ["--api", sb.url, "--store", str(store_path), "--workdir", str(work),
                  "--poll", "0.1"]
        proc = takes("submit", "seedance_r2v", str(payload), "--wait", *common, env=env)
        try:
            if moment == "answer-pending":
                wait_for(lambda: len(server_state(sb)[0]) == 1)
            else:
                wait_for(lambda: store_path.exists() and
                         any(r.remote_id for r in _records(store_path)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
        [rec] = _records(store_path)
        expected = ("pending",) if moment == "answer-pending" else ("queued", "running")
        assert rec.status in expected
        assert (rec.remote_id is None) == (moment == "answer-pending")
        assert not work.exists() or list(work.iterdir()) == []

        proc = takes("resume", "--wait", *common, env=env)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        lines = out.strip().splitlines()
        final = json.loads(lines[0])
        assert final["status"] == "succeeded" and final["id"] == rec.id
        assert lines[1] == final["result_path"] == str(work / "lighthouse.mp4")
        jobs, credits = server_state(sb)
        assert [j["id"] for j in jobs] == [final["remote_id"]]
        assert credits == START_CREDITS - PROMPT_ONLY_COST
        assert [p.name for p in work.iterdir()] == ["lighthouse.mp4"]
        assert Path(lines[1]).stat().st_size == final["result"]["size_bytes"]
        # a second restart has nothing left to do
        proc = takes("resume", "--wait", *common, env=env)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and out.strip() == "", (out, err)
        assert [p.name for p in work.iterdir()] == ["lighthouse.mp4"]
        for f in tmp_path.glob("jobs.sqlite3*"):
            assert KEY.encode() not in f.read_bytes()


@pytest.mark.parametrize("where", ["built-in", "standalone"])
@pytest.mark.parametrize("point", list(POINTS))
def test_killed_at_any_point_the_take_is_delivered_once(tmp_path, media, point, where):
    """`takes submit --wait` SIGKILLed at `point` (the built-in sandbox dies with it and
    comes back on another port), then `takes resume --wait` twice: one job, one charge, the
    whole file in the work folder, no `.part` left."""
    outcome = kill_and_resume(point, where, tmp_path, media["img_640x480"])
    assert (outcome.lost, outcome.duplicates, outcome.partial) == (0, 0, 0), outcome.note


def _records(path: Path) -> list:
    store = JobStore(path)
    try:
        return store.query()
    finally:
        store.close()
