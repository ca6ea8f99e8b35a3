"""Work-arounds for the libraries under the window, each with its reason.

Qt objects must be destroyed on the thread they live on (the GUI thread). Python's cycle
collector runs on whichever thread happens to allocate when a threshold is crossed (the
embedded sandbox's uvicorn thread, httpx and worker threads), so a Qt object that dies with
a garbage cycle can be destroyed off the GUI thread: Qt warns "Timers cannot be stopped from
another thread" and later fires those timers at freed memory (SIGSEGV in
`QTimerInfoList::activateTimers`). The two helpers here keep that from happening.
"""

from __future__ import annotations

import asyncio


def release_loop_qobjects(loop: asyncio.AbstractEventLoop) -> None:
    """Destroy a closed qasync loop's Qt objects now, on this (the GUI) thread.

    qasync's `close()` only flags its timer object as stopped: every `call_later` still
    pending (a `wait_for` timeout, a sleep) keeps a Qt timer registered, and the handles
    behind them (holding socket notifiers, tasks, widgets) stay alive with the loop, which
    sits in a reference cycle (loop ↔ selector) that only the collector frees.
    """
    import shiboken6

    timer = loop._timer  # type: ignore[attr-defined]
    timer._SimpleTimer__callbacks.clear()  # drop the handles here, not on a collector thread
    for qobject in (timer, loop._QEventLoop__call_soon_signaller):  # type: ignore[attr-defined]
        if shiboken6.isValid(qobject):
            shiboken6.delete(qobject)  # its destructor unregisters its timers

