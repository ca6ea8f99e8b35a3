"""One idempotency key = one intent = one job, one charge: repeated, concurrent, in two
processes, from the CLI. And the manager's connectivity state. Real sandbox on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.client.errors import Conflict, ValidationFailed
from app.client.manager import JobManager
from app.client.store import DuplicateKey, JobRecord, JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    FAST,
    FAST_POLL,
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    Harness,
    balance,
    fast_client,
    run,
    server_jobs,
)

ROOT = Path(__file__).resolve().parents[2]


def test_same_key_twice_and_concurrently_is_one_job_one_charge(sandbox, tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            a, b = await asyncio.gather(
                h.manager.submit("seedance_r2v", PROMPT_ONLY, idempotency_key="intent-1"),
                h.manager.submit("seedance_r2v", PROMPT_ONLY, idempotency_key="intent-1"))
            assert a.id == b.id and a.idempotency_key == "intent-1"
            done = await h.manager.wait(a.id)
            again = await h.manager.submit("seedance_r2v", PROMPT_ONLY,
                                           idempotency_key="intent-1")
            assert again.id == a.id and again.result_path == done.result_path
            assert h.store.count() == 1
            assert len(await server_jobs(h.api)) == 1
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST
            assert {p.idempotency_key for p in h.posts()} == {"intent-1"}
            assert [p.name for p in h.work.iterdir()] == ["lighthouse.mp4"]

    run(main())


def test_same_key_other_parameters_is_refused_and_sends_nothing(sandbox, tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            first = await h.manager.submit("seedance_r2v", PROMPT_ONLY, idempotency_key="k")
            other = {**PROMPT_ONLY, "prompt": "a lighthouse at dawn"}
            posts = len(h.posts())
            with pytest.raises(Conflict, match=f"already used for take {first.id}"):
                await h.manager.submit("seedance_r2v", other, idempotency_key="k")
            assert len(h.posts()) == posts and h.store.count() == 1

    run(main())


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "née", "line\nbreak", "\x00"])
def test_a_key_that_cannot_be_a_header_is_refused_before_anything(sandbox, tmp_path, key):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            with pytest.raises(ValidationFailed, match="1–255 visible ASCII"):
                await h.manager.submit("seedance_r2v", PROMPT_ONLY, idempotency_key=key)
            assert h.store.count() == 0 and h.posts() == []

    run(main())


def test_a_second_store_on_the_same_file_gets_the_stored_take(sandbox, tmp_path):
    """Two processes: the one whose insert loses the race returns the winner's take."""
    path = tmp_path / "jobs.sqlite3"
    other = JobStore(path)
    winner = JobRecord.new("seedance_r2v", dict(PROMPT_ONLY), idempotency_key="race")
    other.add(winner)
    with pytest.raises(DuplicateKey):
        other.add(JobRecord.new("seedance_r2v", dict(PROMPT_ONLY), idempotency_key="race"))
    assert other.by_idempotency_key("race").id == winner.id
    other.close()

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY, idempotency_key="race")
            assert rec.id == winner.id and rec.remote_id
            assert (await h.manager.wait(rec.id)).status == "succeeded"
            assert len(await server_jobs(h.api)) == 1

    run(main())


def _takes(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("where", ["standalone", "built-in"])
def test_cli_rerun_with_the_same_key_is_the_same_job(tmp_path, where):
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(PROMPT_ONLY))
    env = {**os.environ, "TAKES_API_KEY": KEY, "TAKES_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(ROOT)}
    common = ["--store", str(tmp_path / "jobs.sqlite3"), "--workdir", str(tmp_path / "work"),
              "--poll", "0.1", "--idempotency-key", "nightly-2026-12-02"]
    with SandboxServer(tmp_path / "sb", key=KEY, **FAST) as sb:
        if where == "standalone":
            common += ["--api", sb.url]
        first = _takes("submit", "seedance_r2v", str(payload), *common, env=env)
        assert first.returncode == 0, first.stderr
        second = _takes("submit", "seedance_r2v", str(payload), "--wait", *common, env=env)
        assert second.returncode == 0, second.stderr
        a, b = json.loads(first.stdout), json.loads(second.stdout.splitlines()[0])
        assert a["id"] == b["id"] and a["remote_id"] == b["remote_id"]
        assert b["status"] == "succeeded"
        store = JobStore(tmp_path / "jobs.sqlite3")
        assert store.count() == 1
        store.close()
        if where == "standalone":
            async def state() -> tuple[int, int]:
                async with fast_client(sb.url) as api:
                    return len(await server_jobs(api)), await balance(api)

            assert asyncio.run(state()) == (1, START_CREDITS - PROMPT_ONLY_COST)
        other = {**PROMPT_ONLY, "prompt": "something else"}
        payload.write_text(json.dumps(other))
        third = _takes("submit", "seedance_r2v", str(payload), *common, env=env)
        assert third.returncode == 1 and "already used for take" in third.stderr
        assert "Traceback" not in third.stderr


def test_online_state_follows_the_network_and_polling_survives_it(tmp_path):
    """The sandbox stops mid-job and comes back on the same port: the manager goes offline,
    back online by itself, and the take finishes; nothing is marked failed meanwhile."""
    sb = SandboxServer(tmp_path / "sb", key=KEY, **{**FAST, "render_seconds": 1.5})
    sb.start()
    port = sb.port
    seen: list[bool] = []
    result: list[str] = []

    async def main() -> None:
        offline = asyncio.Event()

        def changed(online: bool) -> None:
            seen.append(online)
            if not online:
                offline.set()

        api = fast_client(sb.url, max_retries=1, deadline_s=2)
        store = JobStore(tmp_path / "jobs.sqlite3")
        manager = JobManager(api, store, tmp_path / "work", FAST_POLL)
        unsubscribe = manager.subscribe_online(changed)
        try:
            assert manager.online
            rec = await manager.submit("seedance_r2v", PROMPT_ONLY)
            await asyncio.to_thread(sb.stop)
            await asyncio.wait_for(offline.wait(), 10)
            await asyncio.sleep(1.0)  # several failed polls
            assert store.get(rec.id).status in ("queued", "running")
            again = SandboxServer(tmp_path / "sb", key=KEY, port=port, **FAST)
            await asyncio.to_thread(again.start)
            try:
                done = await asyncio.wait_for(manager.wait(rec.id), 60)
            finally:
                await manager.close()
                await asyncio.to_thread(again.stop)
            assert manager.online
            assert done.status == "succeeded" and done.result_path
            result.append(done.result_path)
            assert all(s != "failed" for s, _ in done.history)
        finally:
            unsubscribe()
            await api.close()
            store.close()

    run(main())
    assert seen[:2] == [False, True]
    assert Path(result[0]).is_file()
