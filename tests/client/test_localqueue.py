"""The local queue (app/client/localqueue.py) against the real sandbox on loopback: the cap, the
order, reordering, pause/resume, cancel before sending, takes held by the guard-rails and sent
once allowed, a restart on the same file and a kill in the middle of handing a take over."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest

from app.client.api import ApiClient
from app.client.guard import Gate
from app.client.localqueue import (
    HELD,
    SENDING,
    WAITING,
    LocalQueue,
    QueueEvent,
    WaitingTake,
    path_for,
)
from app.client.manager import JobManager
from app.client.profiles import SANDBOX_NAME, Profile
from app.client.store import JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    FAST,
    FAST_POLL,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    balance,
    fast_client,
    run,
    server_jobs,
    until,
)


def _take(name: str) -> dict:
    return {**PROMPT_ONLY, "prompt": f"take {name}", "out": f"{name}.mp4"}


def _manager(sb: SandboxServer, root: Path, profile: Profile | None = None) -> JobManager:
    store = JobStore(root / "jobs.sqlite3")
    api = fast_client(sb.url)
    if profile is None:
        return JobManager(api, store, root / "work", FAST_POLL)
    return JobManager(api, store, root / "work", FAST_POLL, profile=profile.name,
                      gate=Gate(store, profile))


async def _close(q: LocalQueue | None, m: JobManager) -> None:
    if q is not None:
        await q.close()
    await m.close()
    await m.client.close()
    m.store.close()


def _prompts_in_server_order(jobs: list[dict]) -> list[dict]:
    return sorted(jobs, key=lambda j: j["created_at"])


async def _ledger(api: ApiClient) -> list[dict]:
    return [j for j in await server_jobs(api) if j.get("credits_charged")]


def test_cap_order_reorder_pause_resume_and_cancel_before_sending(sandbox, tmp_path):
    async def main() -> None:
        m = _manager(sandbox, tmp_path)
        q = LocalQueue(m, path_for(tmp_path, m.profile))
        events: list[QueueEvent] = []
        q.subscribe(events.append)
        try:
            await q.start()
            assert q.cap == 2  # an API profile's default (this queue was not told "sandbox")
            q.set_cap(1)
            q.pause()
            keys = {n: f"key-{n}" for n in "ABCD"}
            for n in "ABCD":
                t = q.enqueue("seedance_r2v", _take(n), key=keys[n], label=n)
                assert t.state == WAITING and t.credits_estimated == PROMPT_ONLY_COST
            # the same intent again is the same waiting take; another payload is refused
            assert q.enqueue("seedance_r2v", _take("A"), key=keys["A"]).key == keys["A"]
            with pytest.raises(Exception, match="already used"):
                q.enqueue("seedance_r2v", _take("Z"), key=keys["A"])
            assert [t.label for t in q.waiting()] == list("ABCD")
            await asyncio.sleep(0.3)
            assert await server_jobs(m.client) == []  # paused: nothing sent
            assert q.cancel(keys["D"]) is True
            assert any(e.kind == "canceled" and "nothing was sent or charged" in e.message
                       for e in events)
            assert q.to_front(keys["C"]) == 0
            assert q.move(keys["B"], 99) == 2  # clamped to the end
            assert [t.label for t in q.waiting()] == list("CAB")
            q.resume()
            await until(lambda: any(e.kind == "finished" for e in events), within=40)
            jobs = _prompts_in_server_order(await server_jobs(m.client))
            # sent in the new order, one at a time (cap 1): each was created on the server
            # after the one before it finished; D never reached the server
            assert [j["id"] for j in jobs] == [m.store.by_idempotency_key(keys[n]).remote_id
                                               for n in "CAB"]
            for before, after in itertools.pairwise(jobs):
                assert after["created_at"] >= before["finished_at"], (before, after)
            assert m.store.by_idempotency_key(keys["D"]) is None
            assert await balance(m.client) == FAST["credits"] - 3 * PROMPT_ONLY_COST
            finished = [e for e in events if e.kind == "finished"]
            assert len(finished) == 1 and "3 takes (3 ready)" in finished[0].message
            assert q.waiting() == [] and q.finished
        finally:
            await _close(q, m)

    run(main())


def test_submit_sends_at_once_when_free_else_waits(sandbox, tmp_path):
    async def main() -> None:
        m = _manager(sandbox, tmp_path)
        q = LocalQueue(m, path_for(tmp_path, m.profile), sandbox=True)
        try:
            assert q.cap == 4
            q.set_cap(1)
            first = await q.submit("seedance_r2v", _take("one"), idempotency_key="k-one")
            assert first.remote_id  # a JobRecord: sent at once
            second = await q.submit("seedance_r2v", _take("two"), idempotency_key="k-two")
            assert isinstance(second, WaitingTake) and second.state == WAITING
            assert second.id == "wait:k-two" and second.status == "waiting"
            # the same press again is the same intent, whichever way it went
            again = await q.submit("seedance_r2v", _take("one"), idempotency_key="k-one")
            assert again.id == first.id
            await until(lambda: m.store.by_idempotency_key("k-two") is not None, within=30)
            await m.wait(m.store.by_idempotency_key("k-two").id)
            assert len(await server_jobs(m.client)) == 2
        finally:
            await _close(q, m)

    run(main())


def test_takes_over_the_daily_cap_are_held_with_the_reason_then_sent(sandbox, tmp_path):
    profile = Profile("Work", "api", sandbox.url, confirm_above=0, daily_cap=250)

    async def main() -> None:
        m = _manager(sandbox, tmp_path, profile)
        q = LocalQueue(m, path_for(tmp_path, profile.name))
        events: list[QueueEvent] = []
        q.subscribe(events.append)
        try:
            await q.start()
            q.set_cap(4)
            for n in "ABC":  # 3 × 108 > 250: the third is over today's cap
                q.enqueue("seedance_r2v", _take(n), key=f"cap-{n}", confirmed=True)
            await until(lambda: [t.state for t in q.waiting()] == [HELD], within=30)
            held = q.waiting()
            assert len(held) == 1 and held[0].reason == "daily_cap_reached"
            assert "today's cap" in held[0].message and "250 credits" in held[0].message
            assert held[0].error_message == held[0].message  # how the queue view reads it
            assert len(await server_jobs(m.client)) == 2  # held: unsent, unstored
            assert m.store.by_idempotency_key(held[0].key) is None
            # a retry while still over the cap holds it again, still unsent
            assert q.retry(held[0].key)
            await until(lambda: q.waiting() and q.waiting()[0].state == HELD, within=30)
            assert len(await server_jobs(m.client)) == 2
            # a refund lowers today's spend: the held take is checked again and sent
            sent = [r for n in "ABC" if (r := m.store.by_idempotency_key(f"cap-{n}"))]
            assert len(sent) == 2
            await m.cancel(sent[1].id)
            await until(lambda: m.store.by_idempotency_key(held[0].key) is not None,
                        within=30)
            await until(lambda: any(e.kind == "finished" for e in events), within=40)
            assert q.waiting() == []
            assert len(await server_jobs(m.client)) == 3
            assert m.gate.spent_today() == 2 * PROMPT_ONLY_COST
        finally:
            await _close(q, m)

    run(main())


def test_waiting_takes_survive_a_restart_and_a_kill_sends_one_take_not_two(sandbox,
                                                                          tmp_path):
    async def main() -> None:
        m = _manager(sandbox, tmp_path)
        path = path_for(tmp_path, m.profile)
        q = LocalQueue(m, path)
        try:
            await q.start()
            q.pause()
            q.set_cap(3)
            q.enqueue("seedance_r2v", _take("one"), key="r-one", parent_id=None, group="g",
                      label="first")
            q.enqueue("seedance_r2v", _take("two"), key="r-two", confirmed=True)
            q.to_front("r-two")
            await q.close()
            data = json.loads(path.read_text())
            assert data["paused"] is True and data["cap"] == 3
            # a kill while handing two takes over: "two" was stored and sent by the manager
            # (the kill came after), "one" was marked sending but never reached the manager
            await m.submit("seedance_r2v", _take("two"), idempotency_key="r-two",
                           confirmed=True)
            for entry in data["takes"]:
                entry["state"] = SENDING
            path.write_text(json.dumps(data))

            q = LocalQueue(m, path)
            await q.start()
            assert [(t.key, t.state, t.group, t.label) for t in q.waiting()] == \
                [("r-one", WAITING, "g", "first")]
            assert q.paused and q.cap == 3  # kept across the restart
            q.resume()
            await until(lambda: q.waiting() == [] and q.finished, within=40)
            jobs = await server_jobs(m.client)
            assert sorted(j["id"] for j in jobs) == sorted(
                m.store.by_idempotency_key(k).remote_id for k in ("r-one", "r-two"))
            assert len(jobs) == 2 and len(await _ledger(m.client)) == 2  # one each
            assert await balance(m.client) == FAST["credits"] - 2 * PROMPT_ONLY_COST
        finally:
            await _close(q, m)

    run(main())


def test_a_queue_file_that_cannot_be_read_is_set_aside_and_nothing_is_lost(tmp_path):
    class Store:
        def by_idempotency_key(self, key):
            return None

        def unfinished(self, profile=None):
            return []

    class Manager:
        store = Store()
        profile = "sandbox"

        async def submit(self, *a, **kw):  # pragma: no cover - never reached: paused
            raise AssertionError("nothing may be sent")

        def subscribe(self, cb):
            return lambda: None

    async def main() -> None:
        path = path_for(tmp_path, "odd/../name\x00")
        assert path.parent == tmp_path / "queue" and "/" not in path.name[:-5]
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\xff\xfe{not json")
        q = LocalQueue(Manager(), path)
        await q.start()
        assert q.waiting() == [] and "set aside" in (q.write_error or "")
        aside = [p for p in path.parent.iterdir() if ".bad-" in p.name]
        assert len(aside) == 1 and aside[0].read_bytes() == b"\xff\xfe{not json"
        await q.close()
        # one bad entry among good ones: the good ones are kept, the file copied aside
        path.write_text(json.dumps({"version": 1, "paused": True, "takes": [
            {"key": "good", "model_id": "seedance_r2v", "payload": _take("g")},
            {"key": "bad key with spaces", "model_id": "m", "payload": {}},
            {"key": "x", "model_id": "m", "payload": [], "state": "bogus"}, 7]}))
        q = LocalQueue(Manager(), path)
        await q.start()
        assert [t.key for t in q.waiting()] == ["good"] and q.paused
        with pytest.raises(Exception, match="visible ASCII"):
            q.enqueue("seedance_r2v", _take("n"), key="has space")
        with pytest.raises(Exception, match="plain JSON"):
            q.enqueue("seedance_r2v", {"prompt": float("nan")}, key="nan")
        with pytest.raises(ValueError):
            q.set_cap(0)
        await q.close()

    run(main())


_CHILD = """
import asyncio, json, sys
from pathlib import Path
from app.client.api import ApiClient
from app.client.localqueue import LocalQueue, path_for
from app.client.manager import JobManager
from app.client.store import JobStore

url, key, root, payload = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])

async def main():
    m = JobManager(ApiClient(url, key), JobStore(root / "jobs.sqlite3"), root / "work")
    q = LocalQueue(m, path_for(root, m.profile))
    await q.start()
    q.enqueue("seedance_r2v", payload, key="kill-one")
    await asyncio.sleep(120)  # killed long before

asyncio.run(main())
"""


def test_a_process_killed_while_handing_a_take_over_sends_it_once(sandbox, tmp_path):
    """A real SIGKILL while the job's POST is answered late (the server created and charged
    it): the next start finds the take marked sending with its key in the store and does not
    send it again; the manager's resume re-POSTs the same key: one job, one charge."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from client.helpers import KEY

    sandbox.set_faults(responses=[{"paths": "POST /v1/jobs/*", "delay_s": 8}])
    root = tmp_path / "data"
    root.mkdir()
    qfile = path_for(root, SANDBOX_NAME)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, sandbox.url, KEY, str(root),
                              json.dumps(_take("killed"))],
                             cwd=Path(__file__).resolve().parents[2],
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve()
                                                                  .parents[2])})
    try:
        deadline = time.monotonic() + 30
        while True:  # the server holds the POST's answer: the job exists, the reply not yet
            assert time.monotonic() < deadline, "the child never reached the POST"
            assert child.poll() is None, "the child ended by itself"
            jobs = run(_server_jobs_of(sandbox))
            marked = qfile.exists() and '"sending"' in qfile.read_text()
            if jobs and marked:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    async def main() -> None:
        m = _manager(sandbox, root)
        q = LocalQueue(m, qfile)
        try:
            stored = m.store.by_idempotency_key("kill-one")
            assert stored is not None and stored.remote_id is None  # the reply never came
            await m.start()
            await q.start()
            assert q.waiting() == []  # handed over before the kill: not queued again
            await until(lambda: (r := m.store.by_idempotency_key("kill-one")) is not None
                        and r.result_path, within=40)
            jobs = await server_jobs(m.client)
            assert len(jobs) == 1 and jobs[0]["id"] == \
                m.store.by_idempotency_key("kill-one").remote_id
            assert await balance(m.client) == FAST["credits"] - PROMPT_ONLY_COST
        finally:
            await _close(q, m)

    run(main())


async def _server_jobs_of(sb: SandboxServer) -> list[dict]:
    api = fast_client(sb.url)
    try:
        return await server_jobs(api)
    finally:
        await api.close()
