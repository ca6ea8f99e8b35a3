"""`GET /v1/jobs/<id>?wait=S`: the sandbox holds the read until the job changes (real server)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sandbox.server import SandboxServer
from app.sandbox.watch import PROGRESS_HOLD_S, WAIT_HEADER, step_of
from sandbox.helpers import api_client, submit

#: a seedance take with no uploads, free
MOCK = {"prompt": "a lighthouse at dusk", "duration": 4, "resolution": "480p",
        "aspect_ratio": "16:9", "generate_audio": False, "out": "w.mp4", "mock": True}


def held(c: httpx.Client, job_id: str, wait: float) -> tuple[float, dict[str, Any]]:
    t = time.monotonic()
    r = c.get(f"/v1/jobs/{job_id}", params={"wait": wait})
    assert r.status_code == 200, r.text
    return time.monotonic() - t, r.json()


@pytest.fixture
def slow(tmp_path: Path):
    with SandboxServer(tmp_path / "sb", render_seconds=2.0, job_timeout_s=60.0) as sb:
        yield sb


@pytest.mark.parametrize("wait", ["0", "-1", "30.5", "abc", "nan", "inf", "", "1e400"])
def test_an_invalid_wait_is_a_422_in_the_error_shape(client, wait):
    job = submit(client, "seedance_r2v", MOCK).json()
    r = client.get(f"/v1/jobs/{job['id']}", params={"wait": wait})
    assert r.status_code == 422, (wait, r.text)
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    assert [f["field"] for f in err["fields"]] == ["wait"], err
    assert err["fields"][0]["message"]


def test_every_answer_advertises_the_wait(client):
    assert client.get("/v1/account").headers[WAIT_HEADER] == "30"
    r = submit(client, "seedance_r2v", MOCK)
    assert r.status_code == 202 and r.headers[WAIT_HEADER] == "30"
    assert client.get(f"/v1/jobs/{r.json()['id']}").headers[WAIT_HEADER] == "30"
    assert client.get("/v1/jobs/nope").headers[WAIT_HEADER] == "30"  # errors too


def test_a_held_read_answers_at_each_change_and_sees_the_end_at_once(slow):
    """queued → running and the finish answered when they happen; a progress step once the
    read was held PROGRESS_HOLD_S; never the whole wait of 30 s; the finish within 0.3 s of
    the server's own finished_at."""
    with api_client(slow) as c:
        job = submit(c, "seedance_r2v", MOCK).json()
        seen: list[tuple[float, dict[str, Any]]] = []
        last = job
        while last["status"] not in ("succeeded", "failed"):
            took, got = held(c, job["id"], 30)
            seen.append((took, got))
            assert took < 5, (took, got)
            if got["status"] == last["status"]:  # a progress step: after the hold, a new step
                assert took >= PROGRESS_HOLD_S - 0.05, (took, got)
                assert step_of(got["progress"]) > step_of(last["progress"]), (last, got)
            assert len(seen) < 10
            last = got
        now = time.time()
    statuses = [j["status"] for _, j in seen]
    assert statuses[0] == "running" and statuses[-1] == "succeeded", statuses
    assert seen[0][0] < 0.9  # queued → running (0.2 s in) answered then, not after the hold
    assert 1 <= statuses.count("running") <= 3, seen  # 2 s: a step or two between
    finished = _ts(seen[-1][1]["finished_at"])
    assert now - finished < 0.3, now - finished


def test_a_held_read_of_a_job_that_does_not_change_lasts_the_wait(tmp_path):
    with SandboxServer(tmp_path / "sb", render_seconds=0.3, job_timeout_s=60.0,
                       faults={"stuck_jobs": 1}) as sb, api_client(sb) as c:
        job = submit(c, "seedance_r2v", MOCK).json()
        stuck(c, job["id"])
        reads = _count_loop_reads(sb)
        took, got = held(c, job["id"], 1.5)
        assert got["status"] == "running" and got["progress"] == 0.9
        assert 1.45 <= took < 3.0, took
        # the held request slept on its event: a handful of store reads, not one per tick
        assert reads() <= 4, reads()


def test_cancel_wakes_a_held_read(tmp_path):
    with SandboxServer(tmp_path / "sb", render_seconds=0.3, job_timeout_s=60.0,
                       faults={"stuck_jobs": 1}) as sb, api_client(sb) as c:
        job = submit(c, "seedance_r2v", MOCK).json()
        stuck(c, job["id"])
        out: dict[str, Any] = {}

        def hold() -> None:
            with api_client(sb) as c2:
                out["took"], out["job"] = held(c2, job["id"], 30)

        t = threading.Thread(target=hold, name="held-read")
        t.start()
        deadline = time.monotonic() + 10
        while sb.engine.signals.waiting(job["id"]) == 0:
            assert time.monotonic() < deadline, "the read was never held"
            time.sleep(0.01)
        canceled_at = time.monotonic()
        assert c.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
        t.join(10)
        assert out["job"]["status"] == "canceled"
        assert time.monotonic() - canceled_at < 1.0
        assert sb.engine.signals.waiting() == 0  # nothing left registered


def test_a_finished_job_is_answered_at_once(client, sandbox):
    job = submit(client, "seedance_r2v", MOCK).json()
    deadline = time.monotonic() + 20
    while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    took, got = held(client, job["id"], 30)
    assert got["status"] == "succeeded" and took < 0.5, took


def test_stopping_the_server_answers_held_reads(tmp_path):
    sb = SandboxServer(tmp_path / "sb", render_seconds=0.3, job_timeout_s=60.0,
                       faults={"stuck_jobs": 1})
    sb.start()
    try:
        with api_client(sb) as c:
            job = submit(c, "seedance_r2v", MOCK).json()
            stuck(c, job["id"])
        out: dict[str, Any] = {}

        def hold() -> None:
            with api_client(sb) as c2:
                try:
                    out["status"] = c2.get(f"/v1/jobs/{job['id']}",
                                           params={"wait": 30}).status_code
                except httpx.HTTPError as e:
                    out["error"] = e

        t = threading.Thread(target=hold, name="held-read")
        t.start()
        deadline = time.monotonic() + 10
        while sb.engine.signals.waiting(job["id"]) == 0:
            assert time.monotonic() < deadline, "the read was never held"
            time.sleep(0.01)
    finally:
        started = time.monotonic()
        sb.stop()
    t.join(10)
    assert time.monotonic() - started < 2.0
    assert out.get("status") == 200, out


def stuck(c: httpx.Client, job_id: str) -> None:
    """Until a stuck job's progress stopped at its top (0.9): from then on only a cancel,
    the time-out or the end of a wait answers a held read."""
    deadline = time.monotonic() + 10
    while c.get(f"/v1/jobs/{job_id}").json()["progress"] < 0.9:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _count_loop_reads(sb: SandboxServer):
    """A counter of `store.get_job` calls made on the server's own thread (its event loop),
    from now on: the engine's worker threads are not counted."""
    store = sb.store
    original = store.get_job
    name = f"sandbox-{sb.port}"
    calls = [0]

    def counting(job_id: str) -> Any:
        if threading.current_thread().name == name:
            calls[0] += 1
        return original(job_id)

    store.get_job = counting
    return lambda: calls[0]
