"""The core loop: one asyncio loop on its own thread, where the client, the job manager and the
job store live and work.

The window's thread never runs network, SQLite or file work: it hands coroutines to the core
(`submit` → a `concurrent.futures.Future`, or `await run(coro)` from any other asyncio loop,
such as the window's qasync loop) and plain functions (`call`, `await run_sync(fn)`), which
run on the core thread in the order they were handed over — a store read queued after a store
write sees it. What comes back is plain data (`JobRecord`s, numbers, lists).

`stop()`/`aclose()` end the loop cleanly: every task still pending is cancelled and awaited,
async generators are shut down, the default executor (the manager's `asyncio.to_thread` work)
is joined, the loop closed and the thread joined, so nothing is left running behind it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
STOP_TIMEOUT_S = 30.0  # closing waits this long for the core's pending work to wind down
# The core's blocking work (`asyncio.to_thread`: probes, file placement) runs on a pool this
# size, all started with the core, so a long session never grows its thread count.
WORKERS = min(32, (os.cpu_count() or 1) + 4)


class CoreStopped(RuntimeError):
    """Work was handed to a core loop that is not running (not started yet, or stopped)."""


class Core:
    """An asyncio loop running on a thread of its own. `start()` once, `stop()` once."""

    def __init__(self, name: str = "takes-core", workers: int = WORKERS) -> None:
        self.name = name
        self.workers = workers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Core({self.name!r}, {state})"

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Core:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_started_pool(self.workers, f"{self.name}-worker"))
        started = threading.Event()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        started.wait()
        return self

    @property
    def running(self) -> bool:
        return (self._thread is not None and self._thread.is_alive() and not self._stopping
                and self._loop is not None and not self._loop.is_closed())

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise CoreStopped("the core loop was not started")
        return self._loop

    def in_core(self) -> bool:
        """True on the core thread itself."""
        return self._thread is not None and threading.current_thread() is self._thread

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cancel and await what is pending, then end the loop and join its thread (blocking:
        from an asyncio loop use `await aclose()`)."""
        fut = self._begin_stop()
        if fut is None:
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, CoreStopped):
            fut.result(timeout)
        self._join(timeout)

    async def aclose(self) -> None:
        """`stop()` for a caller on another asyncio loop: waits without blocking that loop."""
        fut = self._begin_stop()
        if fut is None:
            return
        with contextlib.suppress(asyncio.TimeoutError, CoreStopped):
            await asyncio.wait_for(asyncio.wrap_future(fut), STOP_TIMEOUT_S)
        self._join(STOP_TIMEOUT_S)

    def _begin_stop(self) -> concurrent.futures.Future[None] | None:
        if self._thread is None or self._loop is None or self._stopping:
            return None
        if self.in_core():
            raise RuntimeError("the core loop cannot stop itself from its own thread")
        self._stopping = True
        if not self._thread.is_alive() or self._loop.is_closed():
            return None
        return asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks(loop) if t is not me and not t.done()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()
        loop.call_soon(loop.stop)

    def _join(self, timeout: float) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    # ---- handing work over -------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the core loop; its result (or error) comes back in the future."""
        if not self.running:
            coro.close()
            raise CoreStopped("the core loop is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> concurrent.futures.Future[T]:
        """Run a plain function on the core thread, in order with everything handed over."""
        if not self.running:
            raise CoreStopped("the core loop is not running")
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(fn(*args, **kw))
            except BaseException as e:
                fut.set_exception(e)

        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError as e:  # the loop closed between the check and the call
            raise CoreStopped("the core loop is not running") from e
        return fut

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Fire and forget a plain function on the core thread; False if the core is gone."""
        if not self.running:
            return False
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            return False
        return True

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that runs on the core loop, from any loop (or the core's own)."""
        if self.in_core():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Await a plain function that runs on the core thread, from any loop."""
        if self.in_core():
            return fn(*args, **kw)
        return await asyncio.wrap_future(self.call(fn, *args, **kw))


def _started_pool(workers: int, prefix: str) -> concurrent.futures.ThreadPoolExecutor:
    """A thread pool with all its threads already running (a pool grows one thread per task
    submitted while the others are busy: `workers` tasks that wait for each other do it)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    barrier = threading.Barrier(workers)
    waits = [pool.submit(barrier.wait, 10.0) for _ in range(workers)]
    concurrent.futures.wait(waits)
    return pool
