"""The core loop (app/client/core.py): work handed over runs on its thread, in order; results
and errors come back; stopping cancels what is pending, joins the executor and the thread."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from app.client.core import Core, CoreStopped


@pytest.fixture
def core():
    c = Core("test-core").start()
    yield c
    c.stop()


def test_work_runs_on_the_core_thread_in_order_and_results_come_back(core):
    seen: list[tuple[str, str]] = []

    def note(what: str) -> str:
        seen.append((what, threading.current_thread().name))
        return what

    async def coro(what: str) -> str:
        await asyncio.sleep(0)
        return note(what)

    futures = [core.call(note, "a"), core.submit(coro("b")), core.call(note, "c")]
    assert [f.result(5) for f in futures] == ["a", "b", "c"]
    assert {t for _, t in seen} == {"test-core"}
    assert seen[0][0] == "a"  # handed over first, ran first
    assert core.call(lambda: core.in_core()).result(5) is True
    assert not core.in_core()


def test_errors_come_back_to_the_caller(core):
    def boom() -> None:
        raise ValueError("no such take")

    async def aboom() -> None:
        raise KeyError("gone")

    with pytest.raises(ValueError, match="no such take"):
        core.call(boom).result(5)
    with pytest.raises(KeyError):
        core.submit(aboom()).result(5)
    assert core.running  # one failure does not stop the loop
    assert core.call(lambda: 42).result(5) == 42


def test_awaited_from_another_loop_without_blocking_it(core):
    ticks: list[float] = []

    async def slow() -> str:
        await asyncio.sleep(0.3)
        return threading.current_thread().name

    async def main() -> tuple[str, int]:
        async def tick() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        ticker = asyncio.ensure_future(tick())
        try:
            name = await core.run(slow())
            value = await core.run_sync(lambda: threading.current_thread().name == "test-core")
        finally:
            ticker.cancel()
        return name, int(value)

    assert asyncio.run(main()) == ("test-core", 1)
    assert len(ticks) >= 5  # the caller's loop kept running while the core worked


def test_stop_cancels_pending_tasks_joins_the_executor_and_the_thread():
    c = Core("stopping-core").start()
    cancelled = threading.Event()
    in_executor = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def uses_executor() -> None:
        await asyncio.to_thread(in_executor.set)

    fut = c.submit(forever())
    c.submit(uses_executor()).result(5)
    assert in_executor.is_set()
    thread = c.thread
    c.stop()
    assert cancelled.is_set() and fut.cancelled()
    assert thread is not None and not thread.is_alive()
    assert c.loop.is_closed()
    assert not any(t.name.startswith(("stopping-core", "asyncio_")) and t.is_alive()
                   for t in threading.enumerate())
    c.stop()  # twice is fine


def test_work_after_stop_is_refused_plainly():
    c = Core().start()
    c.stop()
    assert not c.running

    async def never() -> None:
        raise AssertionError("ran after stop")

    coro = never()
    with pytest.raises(CoreStopped):
        c.submit(coro)
    assert coro.cr_frame is None  # closed: no "never awaited" warning
    with pytest.raises(CoreStopped):
        c.call(lambda: None)
    assert c.call_soon(lambda: None) is False


def test_aclose_from_a_loop_and_not_from_the_core_itself():
    c = Core().start()

    async def self_stop() -> None:
        c.stop()

    with pytest.raises(RuntimeError, match="cannot stop itself"):
        c.submit(self_stop()).result(5)

    async def main() -> None:
        await c.aclose()

    asyncio.run(main())
    assert c.thread is not None and not c.thread.is_alive()


def test_blocking_work_runs_on_a_pool_started_with_the_core_that_never_grows():
    c = Core("pool-core", workers=3).start()

    def workers() -> list[str]:
        return sorted(t.name for t in threading.enumerate() if t.name.startswith("pool-core-"))

    try:
        assert len(workers()) == 3  # all there from the start

        async def burst() -> set[str]:
            names = await asyncio.gather(*(asyncio.to_thread(
                lambda: (time.sleep(0.01), threading.current_thread().name)[1])
                for _ in range(30)))
            return set(names)

        used = c.submit(burst()).result(10)
        assert used <= set(workers()) and len(workers()) == 3
    finally:
        c.stop()
    assert workers() == []
