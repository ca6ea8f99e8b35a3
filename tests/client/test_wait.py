"""Following a job: held reads when the server advertises them, else an ETA-aware poll; a
bounded number of requests per job either way (real sandbox on loopback)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

import app.client.api as api_module
import app.sandbox.app as sandbox_app
from app.client.api import ApiClient
from app.client.manager import JobManager, PollBudget, PollPolicy, eta_remaining
from app.client.store import JobRecord, JobStore
from app.sandbox.server import SandboxServer
from client.helpers import KEY, PROMPT_ONLY, run

MOCK = {**PROMPT_ONLY, "mock": True}


def job_reads(api: ApiClient, remote_id: str) -> int:
    return sum(1 for a in api.trace if a.method == "GET" and a.path == f"/v1/jobs/{remote_id}")


async def follow(sb: SandboxServer, root: Path, poll: PollPolicy, *, n: int = 1,
                 faults: dict[str, Any] | None = None,
                 setup: Any = None) -> list[tuple[JobRecord, float, int]]:
    """Submit `n` mock takes, follow them; per take: (settled record, when `succeeded` or
    another end was first seen, wall time), GETs of that job."""
    async with ApiClient(sb.url, KEY) as api:
        if setup is not None:
            setup(api)
        store = JobStore(root / "jobs.sqlite3")
        manager = JobManager(api, store, root / "work", poll)
        seen: dict[str, float] = {}

        def on_change(rec: JobRecord) -> None:
            if rec.finished and rec.id not in seen:
                seen[rec.id] = time.time()

        manager.subscribe(on_change)
        try:
            if faults:
                sb.set_faults(**faults)
            recs = [await manager.submit("seedance_r2v", {**MOCK, "out": f"t{i}.mp4"})
                    for i in range(n)]
            done = await asyncio.gather(*(manager.wait(r.id) for r in recs))
            return [(d, seen[d.id], job_reads(api, d.remote_id or "")) for d in done]
        finally:
            await manager.close()
            store.close()


def scaled(p: PollPolicy, k: float) -> PollPolicy:
    """The policy with every duration divided by `k` (request counts are unchanged: a job
    k times shorter followed by it costs what the full job costs with `p`)."""
    return dataclasses.replace(
        p, initial=p.initial / k, maximum=p.maximum / k, min_gap=p.min_gap / k,
        hint_cap=p.hint_cap / k, error_max=p.error_max / k, near=p.near / k,
        wait=None if p.wait is None else p.wait / k)


@pytest.fixture
def two_s(tmp_path: Path):
    with SandboxServer(tmp_path / "sb", key=KEY, render_seconds=2.0, job_timeout_s=60.0) as sb:
        yield sb


def test_with_the_wait_the_end_is_seen_within_a_second_of_finished_at(two_s, tmp_path):
    [(rec, seen, reads)] = run(follow(two_s, tmp_path, PollPolicy()))
    assert rec.status == "succeeded" and rec.result_path and Path(rec.result_path).is_file()
    late = seen - rec.finished_at  # the sandbox's own finished_at (both on this clock)
    assert 0 <= late < 1.0, late
    # held reads: one answer per status change, a progress step a second at most
    assert 2 <= reads <= 6, reads


def test_five_takes_at_once_each_end_seen_within_a_second(two_s, tmp_path):
    """Held reads are not queued behind other jobs' requests in the shared rate limit once
    the server held them: every end is still seen within a second."""
    done = run(follow(two_s, tmp_path, PollPolicy(), n=5))
    late = [seen - rec.finished_at for rec, seen, _ in done]
    assert all(rec.status == "succeeded" for rec, _, _ in done)
    assert max(late) < 1.0, late


def test_no_more_reads_held_at_once_than_the_client_allows(two_s, tmp_path):
    """Each held read keeps a connection of the pool: past `max_held` the other jobs are
    polled (ETA-aware), and every take still ends and is seen."""
    held_at_once: list[int] = []
    plain: list[str] = []

    def setup(api: ApiClient) -> None:
        api.max_held = 2

        async def note(request: Any) -> None:
            if "/v1/jobs/job_" in request.url.path:
                if "wait" in request.url.params:
                    held_at_once.append(two_s.engine.signals.waiting())
                else:
                    plain.append(request.url.path)

        api._http.event_hooks["request"].append(note)

    done = run(follow(two_s, tmp_path, PollPolicy(), n=4, setup=setup))
    assert all(rec.status == "succeeded" for rec, _, _ in done)
    assert held_at_once and max(held_at_once) <= 2 - 1, held_at_once  # before this one: ≤ 1
    assert plain  # the others were polled
    assert max(seen - rec.finished_at for rec, seen, _ in done) < 2.0


def test_without_the_wait_the_eta_aware_poll_sees_the_end_within_two_seconds(tmp_path):
    with SandboxServer(tmp_path / "sb", key=KEY, render_seconds=6.0, job_timeout_s=60.0) as sb:
        [(rec, seen, reads)] = run(follow(sb, tmp_path, PollPolicy(wait=None)))
    assert rec.status == "succeeded"
    late = seen - rec.finished_at
    assert 0 <= late < 2.0, late
    # 2, 3, 4.5 s … then aimed at the estimated end: a handful of polls, not one a second
    assert reads <= 8, reads


def test_a_server_that_refuses_the_wait_is_polled_instead(two_s, tmp_path, monkeypatch):
    # the client believes the server holds reads for 45 s; the sandbox refuses wait > 30
    monkeypatch.setattr(api_module, "_wait_max", lambda r: 45.0)
    [(rec, seen, reads)] = run(follow(two_s, tmp_path, PollPolicy(wait=45.0)))
    assert rec.status == "succeeded" and rec.error_code is None
    assert seen - rec.finished_at < 2.0
    assert reads <= 10, reads


@pytest.mark.parametrize("mode", ["wait", "poll"])
def test_a_fifteen_minute_job_costs_at_most_150_requests(tmp_path, mode, monkeypatch):
    """The 15-minute job at 1/60 of the time: a 15 s render followed with the default policy's
    durations divided by 60, the sandbox's progress hold too (so the count is what the full
    job costs). With the wait: a read per progress step and per wait that ends; without:
    the growing poll capped at `maximum`. Both far under the budget's 150."""
    k = 60.0
    monkeypatch.setattr(sandbox_app, "PROGRESS_HOLD_S", sandbox_app.PROGRESS_HOLD_S / k)
    base = PollPolicy() if mode == "wait" else PollPolicy(wait=None)
    with SandboxServer(tmp_path / "sb", key=KEY, render_seconds=900 / k,
                       job_timeout_s=960 / k) as sb:
        [(rec, seen, reads)] = run(follow(sb, tmp_path, scaled(base, k)), timeout=120)
    assert rec.status == "succeeded"
    assert reads <= 150, reads
    # and the end still seen in time at this scale (1 s and 2 s of the full job)
    assert seen - rec.finished_at < (1.0 if mode == "wait" else 2.0) / k + 0.5


def test_the_budget_bounds_any_server_on_a_fake_clock():
    """A server answering instantly to every request (a wait ignored, a progress that lies):
    over 15 minutes of its clock the bucket lets through at most 150 requests."""
    now = [0.0]
    budget = PollPolicy().budget(clock=lambda: now[0])
    while now[0] < 900:
        now[0] += budget.delay()
        if now[0] >= 900:
            break
        budget.spend()
    assert budget.spent <= 150
    assert budget.spent >= 145  # and it is not starving the follower either
    b = PollBudget(2, 1.0, clock=lambda: now[0])
    b.spend(), b.spend()
    assert b.delay() == pytest.approx(1.0)


def test_eta_and_the_delay_toward_it():
    p = PollPolicy()
    rec = dataclasses.replace(JobRecord.new("seedance_r2v", dict(MOCK)), status="running",
                              progress=0.25, started_at=100.0)
    assert eta_remaining(rec, now=110.0) == pytest.approx(30.0)  # 10 s for a quarter
    assert eta_remaining(dataclasses.replace(rec, progress=0.0), now=110.0) is None
    assert eta_remaining(dataclasses.replace(rec, status="queued"), now=110.0) is None
    assert p.toward(15.0, None) == 15.0  # nothing known: the usual interval
    assert p.toward(15.0, 4.0) == 4.0  # land on the estimated end
    assert p.toward(15.0, -3.0) == 1.0  # past it: every `near` seconds
    assert p.wait_for(30.0) == 30.0 and p.wait_for(10.0) == 10.0 and p.wait_for(None) is None
    assert PollPolicy(wait=None).wait_for(30.0) is None


def test_the_client_learns_the_wait_from_any_answer(two_s):
    async def main() -> None:
        async with ApiClient(two_s.url, KEY) as api:
            assert api.wait_max is None
            await api.account()
            assert api.wait_max == 30.0
            with pytest.raises(ValueError):
                await api.get_job_with_hint("x", wait=0)

    run(main())


@pytest.mark.parametrize(("header", "expected"), [
    ("30", 30.0), ("2.5", 2.5), ("1e9", api_module.WAIT_CAP_S), ("0", None), ("-4", None),
    ("nan", None), ("inf", api_module.WAIT_CAP_S), ("abc", None), ("", None), (None, None)])
def test_a_hostile_job_wait_max_is_capped_or_ignored(header, expected):
    import httpx

    headers = {} if header is None else {api_module.WAIT_HEADER: header}
    assert api_module._wait_max(httpx.Response(200, headers=headers)) == expected
