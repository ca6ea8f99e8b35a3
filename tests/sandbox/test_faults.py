"""Each fault kind the sandbox can inject, seen from a plain httpx client."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from app.sandbox.server import SandboxServer
from sandbox.helpers import api_client, balance, submit, wait

CHEAP = {"prompt": "a test", "duration": 4, "resolution": "480p", "out": "a.mp4"}  # 108 cr


def jobs(c: httpx.Client) -> list[dict[str, object]]:
    return c.get("/v1/jobs", params={"limit": 100}).json()["jobs"]


def test_latency(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.set_faults(latency_s=0.4)
    t = time.monotonic()
    assert client.get("/v1/account").status_code == 200
    assert time.monotonic() - t >= 0.4
    sandbox.set_faults(latency_s=0)
    t = time.monotonic()
    client.get("/v1/account")
    assert time.monotonic() - t < 0.3


def test_429_with_retry_after_count_times_then_success(sandbox: SandboxServer,
                                                        client: httpx.Client) -> None:
    sandbox.set_faults(responses=[{"status": 429, "retry_after": 2, "count": 5,
                                   "paths": "POST /v1/jobs/*"}])
    for _ in range(5):
        r = submit(client, "seedance_r2v", CHEAP, key="k")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "2"
        assert r.json()["error"]["code"] == "rate_limited"
        assert client.get("/v1/account").status_code == 200  # other paths unaffected
    assert jobs(client) == [] and balance(client) == 10_000
    r = submit(client, "seedance_r2v", CHEAP, key="k")
    assert r.status_code == 202 and len(jobs(client)) == 1


def test_503_forever_until_reset(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.set_faults(responses=[{"status": 503, "count": -1}])
    for _ in range(3):
        r = client.get("/v1/account")
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    r = client.post("/v1/_test/faults", json={"reset": True})  # never faulted itself
    assert r.status_code == 200 and r.json()["faults"] == {}
    assert client.get("/v1/account").status_code == 200


def test_500_without_retry_after(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.set_faults(responses=[{"status": 500, "paths": ["GET /v1/models"]}])
    r = client.get("/v1/models")
    assert r.status_code == 500 and "Retry-After" not in r.headers
    assert client.get("/v1/models").status_code == 200


def test_download_cut_at_60_percent_then_resumed_with_range(
        sandbox: SandboxServer, client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    job = wait(client, submit(client, "seedance_r2v", {**CHEAP, "mock": True}).json()["id"])
    url = job["result"]["url"]
    whole = client.get(url).content
    sandbox.set_faults(responses=[{"drop": 0.6, "paths": "GET /v1/files/*"}])
    got = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", url) as r:
        assert r.status_code == 200
        assert int(r.headers["Content-Length"]) == len(whole)
        for chunk in r.iter_raw():
            got += chunk
    assert len(got) == int(len(whole) * 0.6)
    r = client.get(url, headers={"Range": f"bytes={len(got)}-"})
    assert r.status_code == 206
    assert bytes(got) + r.content == whole
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]


def test_dropped_response_after_the_job_was_created(sandbox: SandboxServer,
                                                    client: httpx.Client) -> None:
    sandbox.set_faults(responses=[{"drop": 0, "paths": "POST /v1/jobs/*"}])
    with pytest.raises(httpx.RemoteProtocolError):
        submit(client, "seedance_r2v", CHEAP, key="take-1")
    assert len(jobs(client)) == 1 and balance(client) == 10_000 - 108  # committed
    r = submit(client, "seedance_r2v", CHEAP, key="take-1")  # the client's retry
    assert r.status_code == 202 and r.json()["id"] == jobs(client)[0]["id"]
    assert len(jobs(client)) == 1 and balance(client) == 10_000 - 108


def test_dropped_before_the_request_is_handled(sandbox: SandboxServer,
                                               client: httpx.Client) -> None:
    sandbox.set_faults(responses=[{"drop": 0, "run": False, "count": 2,
                                   "paths": "POST /v1/jobs/*"}])
    for _ in range(2):
        # dropped before the body was read: the kernel closes with a FIN (no answer) or,
        # when the body was still unread in its buffer, a RST (a read error): no answer
        # either way, which is what is checked
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            submit(client, "seedance_r2v", CHEAP, key="take-1")
    assert jobs(client) == [] and balance(client) == 10_000  # nothing committed
    assert submit(client, "seedance_r2v", CHEAP, key="take-1").status_code == 202
    assert len(jobs(client)) == 1


def test_read_timeout_after_the_job_was_created(sandbox: SandboxServer) -> None:
    sandbox.set_faults(responses=[{"delay_s": 2, "paths": "POST /v1/jobs/*"}])
    with api_client(sandbox, timeout=0.5) as c:
        with pytest.raises(httpx.ReadTimeout):
            submit(c, "seedance_r2v", CHEAP, key="take-1")
        assert len(jobs(c)) == 1  # created before the client gave up
        r = submit(c, "seedance_r2v", CHEAP, key="take-1")
        assert r.status_code == 202 and r.json()["id"] == jobs(c)[0]["id"]
        assert len(jobs(c)) == 1 and balance(c) == 10_000 - 108


def test_failing_jobs(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.set_faults(fail_jobs=1, fail_code="nsfw", fail_message="Blocked by moderation")
    bad = wait(client, submit(client, "seedance_r2v", CHEAP).json()["id"])
    assert bad["status"] == "failed"
    assert bad["error"] == {"code": "nsfw", "message": "Blocked by moderation"}
    assert bad["result"] is None and bad["credits_charged"] == 0
    good = wait(client, submit(client, "seedance_r2v", CHEAP).json()["id"])
    assert good["status"] == "succeeded"  # the count was 1
    assert balance(client) == 10_000 - 108


def test_a_refused_job_does_not_use_up_a_fault(tmp_path: Path) -> None:
    with SandboxServer(tmp_path, credits=100, render_seconds=0.1,
                       faults={"fail_jobs": 1}) as sb, api_client(sb) as c:
        assert submit(c, "seedance_r2v", CHEAP).status_code == 402
        assert sb.faults.snapshot()["fail_jobs"] == 1
        job = wait(c, submit(c, "seedance_r2v", {**CHEAP, "mock": True}).json()["id"])
        assert job["status"] == "failed" and job["error"]["code"] == "render_failed"
        assert sb.faults.snapshot()["fail_jobs"] == 0


def test_stuck_jobs_run_until_the_timeout(tmp_path: Path) -> None:
    with SandboxServer(tmp_path, render_seconds=0.1, job_timeout_s=1.0,
                       faults={"stuck_jobs": -1}) as sb, api_client(sb) as c:
        job = submit(c, "seedance_r2v", CHEAP).json()
        time.sleep(0.6)
        mid = c.get(f"/v1/jobs/{job['id']}").json()
        assert mid["status"] == "running" and mid["progress"] < 1
        done = wait(c, job["id"], timeout=10)
        assert done["status"] == "timed_out" and balance(c) == 10_000


def test_faults_set_at_start_up_and_through_the_endpoint(tmp_path: Path) -> None:
    start = {"responses": [{"status": 503, "retry_after": 3, "count": 2,
                            "paths": "GET /v1/account"}]}
    with SandboxServer(tmp_path, faults=start) as sb, api_client(sb) as c:
        assert [c.get("/v1/account").status_code for _ in range(3)] == [503, 503, 200]
        r = c.post("/v1/_test/faults", json={"responses": [{"status": 429, "count": 1}]})
        assert r.status_code == 200
        assert c.get("/v1/jobs").status_code == 429
        assert c.get("/v1/_test/faults").json()["faults"]["responses"] == []
        assert c.post("/v1/_test/faults", json={"bogus": 1}).status_code == 422
        bad = c.post("/v1/_test/faults", json={"responses": [{"drop": 2}]})
        assert bad.status_code == 422 and "drop" in bad.json()["error"]["message"]
        assert httpx.post(f"{sb.url}/v1/_test/faults", json={"reset": True}).status_code == 401
        # a rule given alone is appended to the queue
        sb.set_faults(status=418, paths="GET /v1/account")
        r = c.post("/v1/_test/faults", json={"status": 503, "retry_after": 4, "count": 1,
                                             "paths": "GET /v1/account"})
        assert len(r.json()["faults"]["responses"]) == 2
        assert [c.get("/v1/account").status_code for _ in range(3)] == [418, 503, 200]
