"""The job manager against the real sandbox: cancel, retry, failures, updates, resuming,
local validation before anything is sent, and one rate limit shared by every job."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from app.client.api import ApiClient
from app.client.errors import OutOfCredits, ValidationFailed
from app.client.manager import JobManager, PollPolicy
from app.client.store import JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    START_CREDITS,
    Harness,
    balance,
    run,
    server_jobs,
)


def test_cancel_a_stuck_job_refunds_it(sandbox, tmp_path):
    sandbox.set_faults(stuck_jobs=1)

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            running = asyncio.Event()
            h.manager.subscribe(lambda r: r.status == "running" and running.set())
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            await running.wait()
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST
            rec = await h.manager.cancel(rec.id)
            assert rec.status == "canceled" and rec.credits_charged == 0
            rec = await h.manager.wait(rec.id)
            assert rec.status == "canceled" and rec.result_path is None
            assert await balance(h.api) == START_CREDITS
            assert [s for s, _ in rec.history][:1] == ["pending"]
            assert rec.history[-1][0] == "canceled"

    run(main())


def test_a_failed_job_is_recorded_and_retry_makes_a_new_take(sandbox, tmp_path):
    sandbox.set_faults(fail_jobs=1)

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            first = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            first = await h.manager.wait(first.id)
            assert first.status == "failed" and first.error_code == "render_failed"
            assert first.error_message and first.result_path is None
            assert first.credits_charged == 0  # refunded
            again = await h.manager.retry(first.id)
            assert again.parent_id == first.id and again.id != first.id
            assert again.idempotency_key != first.idempotency_key
            assert again.payload == first.payload
            again = await h.manager.wait(again.id)
            assert again.status == "succeeded"
            third = await h.manager.wait((await h.manager.retry(again.id)).id)
            # the same `out` twice: the second take does not overwrite the first
            assert again.result_path.endswith("lighthouse.mp4")
            assert third.result_path.endswith("lighthouse-2.mp4")
            assert sorted(p.name for p in h.work.iterdir()) == ["lighthouse-2.mp4",
                                                                "lighthouse.mp4"]
            assert len(await server_jobs(h.api)) == 3
            assert await balance(h.api) == START_CREDITS - 2 * PROMPT_ONLY_COST

    run(main())


def test_updates_stream_and_subscribers(sandbox, tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            called: list[str] = []
            unsubscribe = h.manager.subscribe(lambda r: called.append(r.status))
            stream: list[tuple[str, float, str | None]] = []

            async def listen() -> None:
                async for rec in h.manager.updates():
                    stream.append((rec.status, rec.progress, rec.result_path))
                    if rec.result_path:
                        return

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0)
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            await asyncio.wait_for(listener, 30)
            statuses = [s for s, _, _ in stream]
            assert statuses[0] == "pending" and statuses[-1] == "succeeded"
            assert "queued" in statuses or "running" in statuses
            progress = [p for _, p, _ in stream]
            assert progress == sorted(progress) and progress[-1] == 1.0
            assert stream[-1][2] == (await h.manager.wait(rec.id)).result_path
            assert called == statuses
            unsubscribe()
            await h.manager.wait((await h.manager.submit("seedance_r2v", PROMPT_ONLY)).id)
            assert called == statuses

    run(main())


def test_invalid_payload_sends_nothing_and_stores_nothing(sandbox, tmp_path):
    import mediafactory as mf

    small = mf.image(tmp_path / "small.png", 200, 200)
    big = mf.image(tmp_path / "big.png", 640, 480, pad_to_bytes=11_000_000)

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            for image, needle in [(small, "at least 300×300"), (big, "at most 10 MB")]:
                with pytest.raises(ValidationFailed, match=needle) as info:
                    await h.manager.submit("kling_v3_std_i2v", {
                        "start_image_url": str(image), "prompt": "x", "out": "k.mp4"})
                assert info.value.fields[0]["field"] == "start_image_url"
            with pytest.raises(ValidationFailed, match="Output path"):
                await h.manager.submit("seedance_r2v", {**PROMPT_ONLY, "out": "../escape.mp4"})
            with pytest.raises(ValidationFailed, match="unknown model"):
                await h.manager.submit("sora", PROMPT_ONLY)
            assert len(h.api.trace) == 0 and h.store.count() == 0

    run(main())


def test_out_of_credits_marks_the_take_failed(tmp_path):
    async def main(sb: SandboxServer) -> None:
        async with Harness(sb, tmp_path) as h:
            with pytest.raises(OutOfCredits, match="costs 108 credits; the balance is 50"):
                await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            [rec] = h.store.query()
            assert rec.status == "failed" and rec.error_code == "insufficient_credits"
            assert len(h.posts()) == 1  # a 402 is not retried
            mock = await h.manager.submit("seedance_r2v", {**PROMPT_ONLY, "mock": True})
            assert (await h.manager.wait(mock.id)).status == "succeeded"  # mock is free

    with SandboxServer(tmp_path / "sb", key=KEY, credits=50, render_seconds=0.2) as sb:
        run(main(sb))


def test_one_rate_limit_shared_by_all_jobs(sandbox, tmp_path):
    async def main() -> None:
        async with ApiClient(sandbox.url, KEY) as api:
            store = JobStore(tmp_path / "jobs.sqlite3")
            poll = PollPolicy(initial=0.05, factor=1.0, maximum=0.05, min_gap=0.1)
            manager = JobManager(api, store, tmp_path / "work", poll)
            recs = [await manager.submit("seedance_r2v", {**PROMPT_ONLY, "mock": True,
                                                          "out": f"m{i}.mp4"})
                    for i in range(5)]
            await asyncio.gather(*(manager.wait(r.id) for r in recs))
            polls = [a.started for a in api.trace if a.method == "GET" and
                     a.path.startswith("/v1/jobs/")]
            gaps = [b - a for a, b in itertools.pairwise(sorted(polls))]
            assert len(polls) >= 5 and min(gaps) >= 0.095, gaps
            await manager.close()
            store.close()

    run(main())


def test_restart_resumes_and_downloads_exactly_once(tmp_path):
    """In-process restart: a manager closed mid-job; a new one (on the same store) finishes
    it. `start()` called twice still follows each take once."""
    async def first(sb: SandboxServer) -> str:
        async with Harness(sb, tmp_path) as h:
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            return rec.id

    async def second(sb: SandboxServer, job_id: str) -> None:
        async with Harness(sb, tmp_path) as h:
            assert [r.id for r in h.store.unfinished()] == [job_id]
            await h.manager.start()
            await h.manager.start()
            rec = await h.manager.wait(job_id)
            assert rec.status == "succeeded"
            assert [p.name for p in h.work.iterdir()] == ["lighthouse.mp4"]
            files = [a for a in h.api.trace if a.path.startswith("/v1/files/")]
            assert len(files) == 1
            assert h.store.unfinished() == []
            assert len(await server_jobs(h.api)) == 1
            assert await balance(h.api) == START_CREDITS - PROMPT_ONLY_COST

    with SandboxServer(tmp_path / "sb", key=KEY, credits=START_CREDITS,
                       render_seconds=1.0) as sb:
        job_id = run(first(sb))
        run(second(sb, job_id))
