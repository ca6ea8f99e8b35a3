"""The local queue in the window: the window's renders wait in the app while the profile's cap
is reached, in an order the user drags, paused or resumed, cancelled for free.

`install(window)` (app/ui/extensions.py, at the end of `MainWindow.__init__`; no I/O) makes the
studio's `LocalQueue` (app/client/localqueue.py) and routes the window's sends through it: the
controller submits with `studio.manager.submit(...)` on the core, and that name is pointed at
`LocalQueue.submit` on this studio's manager (an instance attribute; the class's method is what
the queue itself calls). So Render, Retry, Re-run and Promote are sent at once while a slot is
free and nothing waits ahead (the controller gets the manager's `JobRecord` as before, and a
refusal as before), and otherwise wait in the queue (the controller gets a `WaitingTake`,
shown as a waiting row). `start(window)` (once the studio is connected) opens the queue on the
core (its file is read there) and follows it: every change reaches the queue panel through one
queued signal, the panel's requests go back to the core.

It also says what a cancel did to a take's charge, and tells the desktop when the whole queue
has finished while the window is in the background (`Notifier.queue_finished`).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from app.client.localqueue import LocalQueue, QueueEvent, path_for
from app.client.profiles import SANDBOX_NAME

log = logging.getLogger(__name__)


class LocalQueueView(QObject):
    """Between one window and its studio's local queue (lives on the GUI thread)."""

    changed = Signal(object)  # a QueueEvent, on the GUI thread
    finished = Signal(str)  # the whole queue has finished: what it made
    said = Signal(str)  # a line this feature put in the window's status bar
    _in = Signal(object)  # from the core thread

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = weakref.ref(window)
        studio = window.studio
        self.studio = studio
        profile = getattr(studio, "profile", None) or (
            studio.connection.profile if studio.connection is not None else None)
        self.queue = queue_for(studio, sandbox=bool(profile is None or profile.is_sandbox))
        self.last: QueueEvent | None = None
        self.notifier: Any = None
        self._open = True
        self._started = False
        self._unsubscribe: Any = None
        self._cancels: set[str] = set()  # takes whose cancel the user asked for
        self._balance: int | None = None
        self._in.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        panel = window.queue
        panel.model.move_requested.connect(self.move)
        panel.waiting_cancel_requested.connect(self.cancel)
        panel.waiting_front_requested.connect(self.to_front)
        panel.waiting_retry_requested.connect(self.retry)
        panel.pause_requested.connect(self.set_paused)
        panel.cap_requested.connect(self.set_cap)
        panel.cancel_requested.connect(self._cancel_asked)
        refunds = getattr(studio.client, "cancel_refunds", True)
        if refunds is False:
            panel.refund_note = "this provider does not refund a render canceled once it " \
                                "has started"
        c = window.controller
        c.submitted.connect(self._on_submitted)
        c.job_changed.connect(self._on_job)
        c.balance_changed.connect(self._on_balance)
        window.closed.connect(self.close)

    # ---- start and close ---------------------------------------------------------------------
    async def start(self) -> None:
        """Open the queue on the core and follow it (once)."""
        if self._started or not self._open:
            return
        self._started = True
        q = self.queue
        self._unsubscribe = await self.studio.read(q.subscribe, self._from_core)
        await self.studio.run(q.start())
        paused, cap, waiting = await self.studio.read(lambda: (q.paused, q.cap, q.waiting()))
        self._show(waiting, paused, cap)
        if q.write_error:
            self._say(q.write_error)

    def close(self) -> None:
        """The window closed: stop taking updates. The queue goes on with its studio (a
        profile left keeps rendering: its waiting takes are sent as slots free) and ends when
        the studio's core stops; its file keeps what still waits for the next start."""
        if not self._open:
            return
        self._open = False
        if self._unsubscribe is not None:
            self.studio.core.call_soon(self._unsubscribe)
        if self.notifier is not None:
            self.notifier.enabled = False
            for task in list(self.notifier._tasks):
                task.cancel()

    # ---- the panel's requests -> the core ----------------------------------------------------
    def _core(self, fn: Any, *args: Any) -> None:
        if self._open:
            self._spawn(self._call(fn, *args))

    async def _call(self, fn: Any, *args: Any) -> None:
        try:
            await self.studio.read(fn, *args)
        except (KeyError, ValueError) as e:
            self._say(str(e).strip("'\""))

    def move(self, key: str, index: int) -> None:
        self._core(self.queue.move, key, index)

    def to_front(self, key: str) -> None:
        self._core(self.queue.to_front, key)

    def cancel(self, key: str) -> None:
        self._spawn(self._cancel(key))

    async def _cancel(self, key: str) -> None:
        if not await self.studio.read(self.queue.cancel, key):
            self._say("That take is being sent already: cancel it once it shows as sent.")

    def retry(self, key: str) -> None:
        self._core(self.queue.retry, key)

    def set_paused(self, paused: bool) -> None:
        self._core(self.queue.pause if paused else self.queue.resume)

    def set_cap(self, cap: int) -> None:
        self._core(self.queue.set_cap, int(cap))

    # ---- the core's news -> the panel ----------------------------------------------------------
    def _from_core(self, event: QueueEvent) -> None:  # on the core thread
        if self._open:
            with contextlib.suppress(RuntimeError):  # the window is being torn down
                self._in.emit(event)

    def _deliver(self, event: QueueEvent) -> None:
        if not self._open:
            return
        self.last = event
        self._show(list(event.waiting), event.paused, event.cap)
        if event.message and event.kind != "sent":
            self._say(event.message)
        self.changed.emit(event)
        if event.kind == "finished":
            self.finished.emit(event.message)
            self._notify(event.message)

    def _show(self, waiting: list[Any], paused: bool, cap: int) -> None:
        window = self._window()
        if window is None:
            return
        with contextlib.suppress(RuntimeError):
            panel = window.queue
            current = panel.current_job()
            panel.model.set_waiting(waiting)
            panel.set_local_state(paused, cap)
            if current is not None and panel.current_job() is not current:
                panel.select(current.id)

    def _on_submitted(self, job: Any) -> None:
        """The controller said "Sent": a take that waits here says where it waits."""
        if getattr(job, "is_waiting", False):
            n = sum(1 for t in self._window().queue_model.waiting()) if self._window() else 0
            self._say(f"Waiting in the queue (#{n}): it is sent when a slot is free; nothing "
                      "is sent or charged until then.")

    def _cancel_asked(self, job_id: str) -> None:
        self._cancels.add(str(job_id))

    def _on_job(self, job: Any) -> None:
        """What a cancel the user asked for did to the take's charge."""
        if job.id not in self._cancels or not job.finished:
            return
        self._cancels.discard(job.id)
        if job.status != "canceled":
            self._say(f"It had finished already ({job.status}): nothing to cancel.")
        elif job.credits_refunded:
            self._say(f"Canceled: the provider refunded {job.credits_refunded:,} credits.")
        elif job.credits_charged:
            self._say(f"Canceled: {job.credits_charged:,} credits were charged and not "
                      "refunded.")
        else:
            self._say("Canceled: nothing was charged.")

    def _on_balance(self, credits: Any) -> None:
        """More credits than last seen (a top-up, a refund): held takes are checked again."""
        before, self._balance = self._balance, credits
        if isinstance(credits, int) and isinstance(before, int) and credits > before:
            self._core(self.queue.recheck)

    # ---- helpers --------------------------------------------------------------------------
    def _notify(self, text: str) -> None:
        window = self._window()
        if window is None:
            return
        from app.ui.notify import Notifier, in_background

        if not in_background(window):
            return  # in front: the status line says it
        if self.notifier is None:
            wref = self._window

            def background() -> bool:  # the window held weakly: no cycle through it
                return in_background(wref())

            self.notifier = Notifier(None, parent=self, background=background)
        self.notifier.queue_finished(text)

    def _say(self, text: str) -> None:
        window = self._window()
        if window is not None:
            with contextlib.suppress(RuntimeError):
                window.status.setText(text)
                self.said.emit(text)

    def _spawn(self, coro: Any) -> None:
        window = self._window()
        if window is None:
            coro.close()
            return
        window.controller.spawn(coro, "Queue")


def queue_for(studio: Any, *, sandbox: bool = True) -> LocalQueue:
    """The studio's local queue, made once: the manager's `submit` is pointed at it (so a
    second window on the same studio, after a profile switch and back, finds it there)."""
    manager = studio.manager
    queue = getattr(getattr(manager, "submit", None), "__self__", None)
    if isinstance(queue, LocalQueue) and queue.manager is manager:
        return queue
    queue = LocalQueue(manager, path_for(studio.data_dir, studio.profile_name or SANDBOX_NAME),
                       sandbox=sandbox)
    # the controller's submit (Render, Retry, Re-run, Promote) goes through the queue
    manager.submit = queue.submit
    return queue


def install(window: Any) -> LocalQueueView:
    """The window's local queue (once per window; nothing read or sent here)."""
    view = getattr(window, "local_queue", None)
    if isinstance(view, LocalQueueView):
        return view
    return LocalQueueView(window)


def start(window: Any) -> None:
    """Open the queue on the core once the window has started."""
    view = install(window)
    with contextlib.suppress(RuntimeError):
        window.controller.spawn(view.start(), "Queue")


__all__ = ["LocalQueueView", "install", "queue_for", "start"]
