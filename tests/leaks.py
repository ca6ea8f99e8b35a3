"""Fail a test that leaves work running behind it (a pytest plugin, loaded by conftest.py).

After each test, every Python thread it started must end within LINGER_S; the qasync loop
of the Qt tests (tests/ui/conftest.py's `aloop`) must have no task still pending when it is
closed. Left-overs are what make a later test flaky or crash at exit, so they fail the test
that left them, with their names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

LINGER_S = 5.0  # a thread told to stop at teardown gets this long to end


def _exempt(thread: threading.Thread) -> bool:
    # Threads Python did not start (QThreadPool's workers calling into Python show up as
    # "Dummy-N"): Qt owns and reuses them, so they cannot be joined and are not a leak.
    if isinstance(thread, threading._DummyThread):  # type: ignore[attr-defined]
        return True
    # anyio's to_thread pool (Starlette/FastAPI's sync endpoints) keeps an idle worker for
    # 10 s by design and ends it itself; schemathesis' in-process runs use it.
    return thread.name == "AnyIO worker thread"


@pytest.fixture(autouse=True)
def no_leftover_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + LINGER_S
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not _exempt(t)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if left:
        pytest.fail(f"{request.node.nodeid} left threads running: "
                    f"{', '.join(sorted(t.name for t in left))}", pytrace=False)


def pending_tasks_message(names: list[str]) -> str:
    return f"tasks still pending when the test's event loop closed: {', '.join(sorted(names))}"
