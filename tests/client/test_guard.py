"""The guard-rails gate against a real sandbox: the confirm threshold, the daily cap, the
balance; a refused job is never sent (no upload, no POST, nothing stored, nothing charged)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from app.client.guard import Gate, Refused, day_bounds, promoted
from app.client.manager import JobManager
from app.client.profiles import SANDBOX, Profile
from app.client.store import JobRecord, JobStore
from app.sandbox.server import SandboxServer
from client.helpers import (
    FAST,
    FAST_POLL,
    KEY,
    PROMPT_ONLY,
    PROMPT_ONLY_COST,
    balance,
    fast_client,
    run,
    server_jobs,
)


def _manager(sb: SandboxServer, tmp_path, profile: Profile) -> tuple[JobManager, JobStore]:
    store = JobStore(tmp_path / "jobs.sqlite3")
    api = fast_client(sb.url)
    return JobManager(api, store, tmp_path / "work", FAST_POLL, profile=profile.name,
                      gate=Gate(store, profile)), store


async def _close(m: JobManager) -> None:
    await m.close()
    await m.client.close()
    m.store.close()


def _uploads_and_posts(api) -> list[str]:
    return [f"{a.method} {a.path}" for a in api.trace if a.method == "POST"]


def test_above_the_threshold_nothing_is_sent_until_confirmed(sandbox, tmp_path, media):
    profile = Profile("Work", "api", sandbox.url, confirm_above=80, daily_cap=0)
    payload = {"prompt": "pan left", "start_image_url": str(media["img_640x480"]),
               "duration": "5", "out": "pan.mp4"}  # kling std i2v: a local image to upload

    async def main() -> None:
        m, store = _manager(sandbox, tmp_path, profile)
        try:
            with pytest.raises(Refused) as e:
                await m.submit("kling_v3_std_i2v", payload)
            v = e.value.verdict
            assert v.needs_confirm and not v.allowed and e.value.code == "confirm_needed"
            assert v.estimate.max == 84 and v.threshold == 80
            assert v.estimate.breakdown in str(e.value) and "Confirm" in str(e.value)
            # nothing uploaded, nothing POSTed, nothing stored, nothing charged
            assert _uploads_and_posts(m.client) == []
            assert store.count() == 0 and store.all_takes() == []
            assert await server_jobs(m.client) == []
            assert await balance(m.client) == FAST["credits"]
            rec = await m.submit("kling_v3_std_i2v", payload, confirmed=True)
            assert rec.remote_id and rec.profile == "Work"
            assert await balance(m.client) == FAST["credits"] - v.estimate.max
            # a mock take is free: never confirmed, never counted
            mock = await m.submit("kling_v3_std_i2v", {**payload, "mock": True,
                                                       "out": "mock.mp4"})
            assert mock.remote_id and mock.mock
            assert m.gate.spent_today() == v.estimate.max
            # a retry passes the same gate: refused without the confirmation
            with pytest.raises(Refused, match="Confirm"):
                await m.retry(rec.id)
            assert len(await server_jobs(m.client)) == 2
        finally:
            await _close(m)

    run(main())


def test_the_daily_cap_counts_the_maximum_then_the_charge(sandbox, tmp_path):
    profile = Profile("Work", "api", sandbox.url, confirm_above=0, daily_cap=300)

    async def main() -> None:
        m, store = _manager(sandbox, tmp_path, profile)
        try:
            first = await m.submit("seedance_r2v", PROMPT_ONLY)  # 108
            assert m.gate.spent_today() == PROMPT_ONLY_COST
            second = await m.submit("seedance_r2v", {**PROMPT_ONLY, "out": "b.mp4"})  # 216
            with pytest.raises(Refused) as e:
                await m.submit("seedance_r2v", {**PROMPT_ONLY, "out": "c.mp4"})  # 324 > 300
            v = e.value.verdict
            assert v.reason == "daily_cap" and e.value.code == "daily_cap_reached"
            assert (v.cap, v.spent_today) == (300, 2 * PROMPT_ONLY_COST)
            assert "300 credits" in v.message and "216 credits" in v.message and \
                "84 credits left" in v.message and "108 credits" in v.message
            assert store.count() == 2 and len(await server_jobs(m.client)) == 2
            # a cancel refunds: the day's count is corrected by what is charged
            await m.cancel(second.id)
            assert store.get(second.id).credits_refunded == PROMPT_ONLY_COST
            assert m.gate.spent_today() == PROMPT_ONLY_COST
            third = await m.submit("seedance_r2v", {**PROMPT_ONLY, "out": "c.mp4"})
            assert third.remote_id and m.gate.spent_today() == 2 * PROMPT_ONLY_COST
            await m.wait(first.id)
            await m.wait(third.id)
            assert await balance(m.client) == FAST["credits"] - 2 * PROMPT_ONLY_COST
        finally:
            await _close(m)

    run(main())


def test_a_job_the_balance_cannot_cover_is_not_sent(tmp_path):
    with SandboxServer(tmp_path / "sb", key=KEY, **{**FAST, "credits": 150}) as sb:
        async def main() -> None:
            m, store = _manager(sb, tmp_path, SANDBOX)  # limits off, the balance check stays
            try:
                ok = await m.submit("seedance_r2v", PROMPT_ONLY)  # 108 of 150
                with pytest.raises(Refused) as e:
                    await m.submit("seedance_r2v", {**PROMPT_ONLY, "out": "b.mp4"})
                v = e.value.verdict
                assert v.reason == "balance" and e.value.code == "insufficient_credits"
                assert v.balance == 42 and "42 credits" in v.message and \
                    "66 credits short" in v.message and "Nothing was uploaded" in v.message
                assert [r.id for r in store.all_takes()] == [ok.id]
                assert len(await server_jobs(m.client)) == 1
                assert await balance(m.client) == 42
                # mock renders need no balance
                mock = await m.submit("seedance_r2v", {**PROMPT_ONLY, "mock": True,
                                                       "out": "m.mp4"})
                assert mock.remote_id
            finally:
                await _close(m)

        run(main())


def test_the_sandbox_has_the_limits_off_by_default_and_tests_turn_them_on(sandbox, tmp_path):
    assert SANDBOX.confirm_threshold is None and SANDBOX.day_cap is None
    api = Profile("Work", "api", "https://api.example")
    assert (api.confirm_threshold, api.day_cap) == (500, 5000)
    assert replace(api, confirm_above=0, daily_cap=0).day_cap is None
    on = replace(SANDBOX, confirm_above=50)

    async def main() -> None:
        m, _ = _manager(sandbox, tmp_path, SANDBOX)
        try:
            await m.submit("seedance_r2v", {**PROMPT_ONLY, "resolution": "720p"})  # no ask
            v = await Gate(m.store, on).check(m.client, "seedance_r2v", PROMPT_ONLY)
            assert v.needs_confirm and v.balance is not None
            assert (await Gate(m.store, on).check(m.client, "seedance_r2v", PROMPT_ONLY,
                                                   confirmed=True)).allowed
        finally:
            await _close(m)

    run(main())


def test_an_api_that_does_not_answer_leaves_the_balance_unchecked(tmp_path):
    store = JobStore(tmp_path / "j.sqlite3")
    confirm = replace(SANDBOX, confirm_above=50)

    async def main() -> None:
        api = fast_client("http://127.0.0.1:9", max_retries=0)
        try:
            v = await Gate(store, SANDBOX).check(api, "seedance_r2v", PROMPT_ONLY)
            assert not v.allowed and v.reason == "offline" and v.offline
            assert "Nothing" in v.message and e_code(v) == "balance_unknown"
            # above the threshold, offline still asks first
            v = await Gate(store, confirm).check(api, "seedance_r2v", PROMPT_ONLY)
            assert v.needs_confirm and v.balance is None and "not known" in v.message
            v = await Gate(store, confirm).check(api, "seedance_r2v", PROMPT_ONLY,
                                                 confirmed=True)
            assert v.offline
        finally:
            await api.close()

    run(main())
    store.close()


def e_code(v) -> str:
    return Refused(v).code


def test_a_take_stored_offline_is_checked_against_the_balance_before_it_is_sent(tmp_path):
    """Stored while the API did not answer; once it answers, a balance that cannot cover the
    take fails it with nothing uploaded, sent or charged — and one that can sends it once."""
    sb = SandboxServer(tmp_path / "sandbox", key=KEY, **{**FAST, "credits": PROMPT_ONLY_COST + 10})
    sb.start()
    url = sb.url
    sb.stop()

    async def main() -> None:
        m, store = _manager_at(url, tmp_path)
        try:
            from app.client.manager import TRANSIENT

            big = {**PROMPT_ONLY, "resolution": "1080p", "out": "big.mp4"}
            small = {**PROMPT_ONLY, "out": "small.mp4"}
            for payload in (big, small):
                with pytest.raises(TRANSIENT):
                    await m.submit("seedance_r2v", payload, idempotency_key=f"k-{payload['out']}")
            pending = store.query()
            assert [r.status for r in pending] == ["pending", "pending"]
            sb.start()
            for rec in pending:
                await m.resume(rec.id)
            done = {r.payload["out"]: await m.wait(r.id) for r in pending}
            assert done["big.mp4"].status == "failed"
            assert done["big.mp4"].error_code == "insufficient_credits"
            assert "Nothing was uploaded" in done["big.mp4"].error_message
            assert not done["big.mp4"].credits_charged
            assert done["small.mp4"].status == "succeeded"
            jobs = await server_jobs(m.client)
            assert len(jobs) == 1  # only the one the balance covered
            assert await balance(m.client) == 10
        finally:
            await _close(m)
            sb.stop()

    run(main())


def _manager_at(url: str, tmp_path) -> tuple[JobManager, JobStore]:
    store = JobStore(tmp_path / "jobs.sqlite3")
    api = fast_client(url, max_retries=0)
    return JobManager(api, store, tmp_path / "work", FAST_POLL, gate=Gate(store, SANDBOX)), \
        store


def test_the_day_is_the_local_calendar_day(tmp_path):
    store = JobStore(tmp_path / "j.sqlite3")
    now = datetime(2026, 12, 3, 23, 59).timestamp()
    start, end = day_bounds(now)
    assert datetime.fromtimestamp(start) == datetime(2026, 12, 3)
    assert datetime.fromtimestamp(end) == datetime(2026, 12, 4)
    for at, charged, status, mock in [(start - 1, 500, "succeeded", False),  # yesterday
                                      (start + 5, 100, "succeeded", False),
                                      (start + 6, None, "pending", False),  # counts its max
                                      (start + 7, None, "failed", False),  # never charged
                                      (start + 8, 0, "canceled", False),  # refunded
                                      (start + 9, None, "queued", True)]:  # mock
        rec = JobRecord.new("seedance_r2v", {"mock": mock}, credits_estimated=70,
                            created_at=at, profile="Work")
        rec.status, rec.credits_charged = status, charged
        store.add(rec)
    store.add(JobRecord.new("seedance_r2v", {}, credits_estimated=999, created_at=start + 1,
                            profile="Other"))
    gate = Gate(store, Profile("Work", "api", "https://x.example"), clock=lambda: now)
    assert gate.spent_today() == 170
    assert Gate(store, Profile("Work", "api", "https://x.example"),
                clock=lambda: now + 120).spent_today() == 0  # tomorrow
    store.close()


def test_promote_to_paid_shows_the_price_and_passes_the_gate(sandbox, tmp_path):
    profile = Profile("Work", "api", sandbox.url, confirm_above=100, daily_cap=0)

    async def main() -> None:
        m, _ = _manager(sandbox, tmp_path, profile)
        try:
            mock = await m.wait((await m.submit("seedance_r2v", {**PROMPT_ONLY,
                                                                 "mock": True})).id)
            paid = promoted(mock.payload)
            assert "mock" not in paid and mock.payload["mock"] is True
            price = await m.gate.check(m.client, "seedance_r2v", paid)
            assert price.needs_confirm and price.estimate.max == PROMPT_ONLY_COST
            with pytest.raises(Refused):
                await m.submit("seedance_r2v", paid, parent_id=mock.id)
            rec = await m.submit("seedance_r2v", paid, parent_id=mock.id, confirmed=True)
            rec = await m.wait(rec.id)
            assert rec.parent_id == mock.id and not rec.mock
            assert rec.credits_charged == PROMPT_ONLY_COST
            assert await balance(m.client) == FAST["credits"] - PROMPT_ONLY_COST
        finally:
            await _close(m)

    run(main())


# ---- prices unknown until the provider charges (imported models without a published price)


def _unknown(note: str = "price unknown until the provider charges"):
    from app.catalog.importer import UnknownEstimate

    return UnknownEstimate(0, 0, note, [])


def test_an_unknown_price_always_needs_the_confirmation_even_on_the_sandbox(sandbox,
                                                                             tmp_path):
    store = JobStore(tmp_path / "j.sqlite3")
    payload = {"prompt": "p", "out": "a.mp4"}

    async def main() -> None:
        api = fast_client(sandbox.url)
        try:
            assert SANDBOX.confirm_threshold is None  # no threshold on the sandbox
            v = await Gate(store, SANDBOX).check(api, "some/imported", payload, _unknown())
            assert not v.allowed and v.needs_confirm and v.unknown
            assert "unknown until the provider charges" in v.message and "Confirm" in v.message
            assert f"balance {FAST['credits']:,} credits" in v.message
            assert v.to_dict()["estimate"] == {"min": None, "max": None, "known": False,
                                               "breakdown": _unknown().breakdown}
            v = await Gate(store, SANDBOX).check(api, "some/imported", payload, _unknown(),
                                                 confirmed=True)
            assert v.allowed and v.reason == "ok" and "Price unknown" in v.message
            # a mock render of it is free: nothing to confirm
            v = await Gate(store, SANDBOX).check(api, "some/imported",
                                                 {**payload, "mock": True}, _unknown())
            assert v.allowed and v.reason == "free"
            # a known price below the threshold still goes without asking (unchanged)
            v = await Gate(store, SANDBOX).check(api, "seedance_r2v", PROMPT_ONLY)
            assert v.allowed and not v.unknown
        finally:
            await api.close()

    run(main())
    store.close()


def test_an_unknown_price_counts_as_plus_unknown_under_the_daily_cap(sandbox, tmp_path):
    profile = Profile("Work", "api", sandbox.url, confirm_above=0,
                      daily_cap=2 * PROMPT_ONLY_COST)
    payload = {"prompt": "p", "out": "a.mp4"}

    async def main() -> None:
        m, _store = _manager(sandbox, tmp_path, profile)
        try:
            await m.submit("seedance_r2v", PROMPT_ONLY)  # 108 of the 216
            v = await m.gate.check(m.client, "some/imported", payload, _unknown())
            assert v.needs_confirm and v.spent_today == PROMPT_ONLY_COST
            assert "108 credits + unknown of today's 216 credits cap" in v.message
            v = await m.gate.check(m.client, "some/imported", payload, _unknown(),
                                   confirmed=True)
            assert v.allowed and "+ unknown" in v.message
            # once the cap is reached nothing of unknown price is sent, confirmed or not
            await m.submit("seedance_r2v", {**PROMPT_ONLY, "out": "b.mp4"})  # 216 of 216
            with pytest.raises(Refused) as e:
                await m.gate.enforce(m.client, "some/imported", payload, _unknown(),
                                     confirmed=True)
            assert e.value.verdict.reason == "daily_cap"
            assert e.value.code == "daily_cap_reached"
            assert "none left" in str(e.value) and "unknown until the provider charges" in \
                str(e.value)
        finally:
            await _close(m)

    run(main())


def test_an_unknown_price_needs_a_balance_above_zero(tmp_path):
    with SandboxServer(tmp_path / "sb", key=KEY, render_seconds=0.3, credits=0) as sb:
        store = JobStore(tmp_path / "j.sqlite3")

        async def main() -> None:
            api = fast_client(sb.url)
            try:
                v = await Gate(store, SANDBOX).check(api, "x", {"out": "a.mp4"}, _unknown(),
                                                     confirmed=True)
                assert v.reason == "balance" and not v.allowed
                assert "the balance is 0 credits" in v.message
            finally:
                await api.close()

        run(main())
        store.close()
