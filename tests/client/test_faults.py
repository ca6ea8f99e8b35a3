"""The fault matrix against the real sandbox on loopback: each figure of issue 3 asserted."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import traceback

import pytest

from app.client.api import ApiClient
from app.client.errors import AuthError, DownloadError, ServerError
from app.sandbox.server import SandboxServer
from client.helpers import (
    FAST,
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    Harness,
    balance,
    fast_client,
    free_port,
    run,
    server_jobs,
)


def test_connect_error_twice_then_success_makes_one_job(tmp_path):
    """The server is not listening for the first two attempts (real ConnectErrors); it
    starts during the second backoff wait."""
    sb = SandboxServer(tmp_path / "sandbox", key=KEY, port=free_port(), **FAST)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            await asyncio.to_thread(sb.start)

    async def main() -> None:
        sb.url = f"http://127.0.0.1:{sb.port}"
        async with Harness(sb, tmp_path, sleep=sleep) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            outcomes = [(a.status, a.error) for a in h.posts()]
            assert len({(a.body_sha, a.idempotency_key) for a in h.posts()}) == 1
            assert outcomes == [(None, "ConnectError"), (None, "ConnectError"), (202, None)]
            rec = await h.manager.wait(rec.id)
            assert rec.status == "succeeded" and rec.result_path
            jobs = await server_jobs(h.api)
            assert [j["id"] for j in jobs] == [rec.remote_id]
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST

    try:
        run(main())
    finally:
        sb.stop()


def test_429_with_retry_after_2_five_times(sandbox, tmp_path):
    sandbox.set_faults(responses=[{"paths": "POST /v1/jobs/*", "status": 429,
                                   "retry_after": 2, "count": 5}])

    async def main() -> None:
        async with Harness(sandbox, tmp_path, max_retries=6) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            posts = h.posts()
            assert [a.status for a in posts] == [429] * 5 + [202]
            assert len({(a.body_sha, a.idempotency_key) for a in posts}) == 1
            assert posts[0].idempotency_key == rec.idempotency_key and posts[0].body_sha
            gaps = [b.started - a.started for a, b in itertools.pairwise(posts)]
            assert len(gaps) == 5 and min(gaps) >= 2.0, gaps
            assert rec.status in ("queued", "running") and rec.remote_id
            assert len(await server_jobs(h.api)) == 1

    run(main())


@pytest.mark.parametrize("fault", [{"delay_s": 2.5}, {"drop": 0.0}],
                         ids=["read-timeout", "dropped-response"])
def test_post_answer_lost_after_the_job_was_made_still_one_job_one_charge(sandbox, tmp_path,
                                                                          fault):
    sandbox.set_faults(responses=[{"paths": "POST /v1/jobs/*", **fault}])

    async def main() -> None:
        async with Harness(sandbox, tmp_path, timeout=1.0) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            posts = h.posts()
            expected = "ReadTimeout" if "delay_s" in fault else "RemoteProtocolError"
            assert [(a.status, a.error) for a in posts] == [(None, expected), (202, None)]
            # the retry resent the same bytes under the same key
            assert len({(a.body_sha, a.idempotency_key) for a in posts}) == 1
            rec = await h.manager.wait(rec.id)
            assert rec.status == "succeeded"
            jobs = await server_jobs(h.api)
            assert [j["id"] for j in jobs] == [rec.remote_id]
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST
            assert rec.credits_charged == PROMPT_ONLY_COST == rec.credits_estimated

    run(main())


def test_503_forever_gives_up_in_bounded_time(sandbox, tmp_path):
    sandbox.set_faults(responses=[{"paths": "*", "status": 503, "retry_after": 1,
                                   "count": -1}])

    async def main() -> None:
        async with fast_client(sandbox.url, max_retries=3) as api:
            t = time.monotonic()
            with pytest.raises(ServerError) as info:
                await api.account()
            elapsed = time.monotonic() - t
            assert 3.0 <= elapsed < 5.0, elapsed
            assert len(api.trace) == 4
            assert "unavailable" in str(info.value) and "gave up after 4 attempts" in \
                str(info.value)
        # a generous retry count is still bounded by the deadline
        async with Harness(sandbox, tmp_path, max_retries=100, deadline_s=2.5) as h:
            t = time.monotonic()
            with pytest.raises(ServerError, match="unavailable"):
                await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            assert time.monotonic() - t < 3.5
            [rec] = h.store.query()
            assert rec.status == "pending" and rec.remote_id is None
            assert "Not confirmed by the API yet" in rec.error_message
            # once the API is back, resuming re-sends the same key and body: one job
            sandbox.set_faults(reset=True)
            await h.manager.resume(rec.id)
            rec = await h.manager.wait(rec.id)
            assert rec.status == "succeeded" and rec.result_path
            assert len(await server_jobs(h.api)) == 1
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST

    run(main())


async def _finished_job(h: Harness) -> dict:
    job = await h.api.create_job("seedance_r2v", {**PROMPT_ONLY, "duration": 8}, "key-dl")
    while job["status"] != "succeeded":
        await asyncio.sleep(0.05)
        job = await h.api.get_job(job["id"])
    return job


def test_download_cut_at_60_percent_resumes_with_range(sandbox, tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            job = await _finished_job(h)
            size = job["result"]["size_bytes"]
            clean = await h.api.download(job["result"]["url"], tmp_path / "clean" / "a.mp4")
            sandbox.set_faults(responses=[{"paths": "GET /v1/files/*", "drop": 0.6}])
            dest = tmp_path / "out" / "take.mp4"
            seen: list[tuple[int, bool]] = []

            def progress(done: int, total: int | None) -> None:
                seen.append((done, dest.exists()))

            h.api.trace.clear()
            final = await h.api.download(job["result"]["url"], dest, progress=progress,
                                         expected_size=size)
            assert final == dest and dest.read_bytes() == clean.read_bytes()
            assert dest.stat().st_size == size
            assert [a.status for a in h.api.trace] == [200, 206]  # the second asked a Range
            done = [d for d, _ in seen]
            assert done == sorted(done)  # resumed where it stopped, never restarted
            cut = max(d for d in done if d <= 0.6 * size + 1)
            assert 0.5 * size <= cut <= 0.6 * size + 1
            assert not any(existed for _, existed in seen)  # nothing at the final path early
            assert sorted(p.name for p in dest.parent.iterdir()) == ["take.mp4"]

    run(main())


def test_download_that_cannot_finish_leaves_nothing_at_the_final_path(sandbox, tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path, max_retries=1) as h:
            job = await _finished_job(h)
            url, size = job["result"]["url"], job["result"]["size_bytes"]
            sandbox.set_faults(responses=[{"paths": "GET /v1/files/*", "drop": 0.6},
                                          {"paths": "GET /v1/files/*", "status": 500}])
            dest = tmp_path / "out" / "take.mp4"
            with pytest.raises(DownloadError, match="could not be resumed after 2 attempts"):
                await h.api.download(url, dest)
            assert not dest.exists()
            [part] = list(dest.parent.iterdir())
            assert part.name.startswith(".") and 0 < part.stat().st_size < size
            # later, with the API healthy: resumes from the partial file
            h.api.trace.clear()
            await h.api.download(url, dest, expected_size=size)
            assert [a.status for a in h.api.trace] == [206]
            assert dest.stat().st_size == size and not part.exists()

    run(main())


def test_manager_download_cut_at_60_percent(sandbox, tmp_path):
    sandbox.set_faults(responses=[{"paths": "GET /v1/files/*", "drop": 0.6}])

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            rec = await h.manager.wait(rec.id)
            out = h.work / "lighthouse.mp4"
            assert rec.result_path == str(out)
            assert out.stat().st_size == rec.result["size_bytes"]
            assert [p.name for p in h.work.iterdir()] == ["lighthouse.mp4"]
            from app.media.probe import probe

            assert abs(probe(out).duration_s - 4.0) <= 0.2

    run(main())


def test_401_is_not_retried_and_the_key_is_nowhere(sandbox, tmp_path, caplog):
    wrong = "sk-wrong-SECRET-4242424242"
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with ApiClient(sandbox.url, wrong, max_retries=5, backoff=0.01) as api:
            with pytest.raises(AuthError) as info:
                await api.account()
            assert len(api.trace) == 1 and api.trace[0].status == 401
            err = info.value
            text = " ".join([str(err), repr(err), repr(err.args),
                             *traceback.format_exception(err), repr(api), repr(vars(api))])
            assert wrong not in text and "not accepted" in str(err)
        async with Harness(sandbox, tmp_path) as h:
            h.api._auth._key._value = wrong  # the profile's key was revoked
            with pytest.raises(AuthError):
                await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            [rec] = h.store.query()
            assert rec.status == "failed" and rec.error_code == "unauthorized"
            assert len(h.posts()) == 1
            assert wrong not in rec.error_message

    run(main())
    assert wrong not in caplog.text and KEY not in caplog.text
    for f in tmp_path.glob("jobs.sqlite3*"):
        assert wrong.encode() not in f.read_bytes() and KEY.encode() not in f.read_bytes()
