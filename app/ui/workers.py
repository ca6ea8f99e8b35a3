"""The window's one way to run CPU-bound media work (probes, thumbnails) off the GUI thread and
its one debounce.

`Workers` runs plain functions on a QThreadPool and hands each result (or the exception it
raised) to a callback on the GUI thread, through one queued signal. Work functions may build
QImage (a value type, safe on any thread) but no QObject, QPixmap or widget: the callback, on
the GUI thread, turns a QImage into a QPixmap. Callbacks stay on the GUI side (keyed by a ticket),
so a worker never holds, and never frees, a reference to a Qt object.

Why not superqt.utils (`thread_worker`, `qdebounced`): importing any superqt submodule runs
superqt's package `__init__`, which imports all its widgets (~130 ms on the start path), and
`thread_worker` starts a QThread per call. Why not `concurrent.futures`: its threads are Python
threads that each owner must shut down and join; QThreadPool's are Qt's, reused, and ended by
Qt when idle (the shared probe service lives as long as the app).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal

Callback = Callable[[Any], None]


class Workers(QObject):
    """A small thread pool whose results come back on the GUI thread (make it there)."""

    _finished = Signal(object, object, object)  # ticket, result, exception or None

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._callbacks: dict[int, tuple[Callback, Callback | None]] = {}
        self._tickets = itertools.count()
        self._closed = False
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callback,
               on_error: Callback | None = None) -> None:
        """Run `fn(*args)` on a worker; then `on_done(result)` or `on_error(exception)` here.

        Without `on_error`, an exception is handed to `on_done` (so a failure still ends the
        work it was for). Nothing is called after `close()`.
        """
        if self._closed:
            return
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_error)
        emit = self._finished.emit

        def run() -> None:
            try:
                result, error = fn(*args), None
            except Exception as e:  # handed to the GUI thread, never lost in a worker
                result, error = None, e
            try:
                with contextlib.suppress(RuntimeError):  # the owner died at exit: nobody to tell
                    emit(ticket, result, error)
            finally:
                # The exception's traceback holds this frame: without these locals there is no
                # garbage cycle (which could hold a Qt wrapper) through it.
                del result, error

        self._pool.start(run)

    def busy(self) -> bool:
        """Work submitted whose callback has not run yet."""
        return bool(self._callbacks)

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the workers are idle (tests, shutdown and the screenshot command only);
        their callbacks run when the event loop next runs."""
        return self._pool.waitForDone(msecs)

    def close(self) -> None:
        """Drop work not started, wait for the running, and call nothing more."""
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone()
        self._callbacks.clear()

    def _deliver(self, ticket: int, result: Any, error: BaseException | None) -> None:
        callbacks = self._callbacks.pop(ticket, None)
        if callbacks is None or self._closed:
            return
        on_done, on_error = callbacks
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(error)
        else:
            on_done(error)


class Debounce(QTimer):
    """Calls `fn` once, `ms` after the last `trigger()`: typing re-validates or searches once
    it pauses. `stop()` drops a pending call."""

    def __init__(self, ms: int, fn: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self.setSingleShot(True)
        self.setInterval(ms)
        self.timeout.connect(fn)

    def trigger(self, *_args: Any) -> None:
        """(Re)start the wait; connectable to any signal, its arguments ignored."""
        self.start()
