"""The quit question: closing with takes in flight asks first (GUI thread only).

Quit (Ctrl+Q, `QuitGuard.request_quit`) and the title bar's close (a spontaneous close event)
come here. With no take in flight the window closes at once. Otherwise the close is ignored
and a window-modal question is opened (never `exec()`):

- "Quit and let them resume next time" (the default): the window closes; the takes stay in
  the store, unfinished, and the next start follows them again (they keep rendering on the
  server meanwhile);
- "Cancel them all and quit": each is cancelled through the window (refunded by the API),
  the cancels are awaited, then the window closes; a cancel that fails keeps the window open
  and says so, so no render is left spending behind the user's back;
- "Keep working" (also Escape): nothing happens.

What is in flight is read from the window's queue model (in memory: no I/O here).
`window.close()` called by code (tests, the app's own shutdown) is not a user's close: it
closes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton

from app.catalog.status import ACTIVE

if TYPE_CHECKING:
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)

RESUME = "resume"
CANCEL_ALL = "cancel"
KEEP = "keep"


class QuitGuard(QObject):
    """An event filter on the window's close events that asks before takes are left."""

    answered = Signal(str)  # RESUME, CANCEL_ALL or KEEP

    def __init__(self, window: MainWindow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = weakref.ref(window)  # no cycle through the window's wrapper
        self.box: QMessageBox | None = None
        self.buttons: dict[str, QPushButton] = {}
        self._closing = False  # the user has answered: the next close goes through
        self._task: asyncio.Task[None] | None = None
        window.installEventFilter(self)

    @property
    def window(self) -> MainWindow:
        w = self._window()
        if w is None:
            raise RuntimeError("the window is gone")
        return w

    def in_flight(self) -> list[Any]:
        return list(self.window.queue_model.unfinished())

    # ---- the two ways in -----------------------------------------------------------------
    def request_quit(self) -> bool:
        """Quit as the user asked (Ctrl+Q): close now, or ask first. True if it closed."""
        if self._ask_needed():
            self.ask()
            return False
        return bool(self.window.close())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.Close and watched is self._window()
                and event.spontaneous() and self._ask_needed()):
            event.ignore()
            self.ask()
            return True
        return False

    def waiting(self) -> list[Any]:
        """Takes waiting in the app's local queue (nothing sent yet)."""
        return list(getattr(self.window.queue_model, "waiting", list)())

    def _ask_needed(self) -> bool:
        return not self._closing and bool(self.in_flight() or self.waiting())

    # ---- the question --------------------------------------------------------------------
    def ask(self) -> QMessageBox:
        """Open the question (once: asking again brings the open one to the front)."""
        if self.box is not None:
            with contextlib.suppress(RuntimeError):
                self.box.raise_()
                self.box.activateWindow()
                return self.box
        jobs = self.in_flight()
        waits = len(self.waiting())
        n = len(jobs) + waits
        takes = f"{len(jobs)} take{'s are' if len(jobs) != 1 else ' is'} still rendering"
        queued = f"{waits} take{'s wait' if waits != 1 else ' waits'} in the queue"
        box = QMessageBox(self.window)
        box.setObjectName("quitQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit Takes")
        box.setText(f"{takes}." if not waits else f"{queued}." if not jobs else
                    f"{takes}; {queued}.")
        box.setInformativeText(
            "Quit and they resume next time you start Takes: they keep rendering "
            "meanwhile and are downloaded then"
            + (", and the waiting ones are sent then" if waits else "")
            + ". Cancelled takes are refunded" + (" (waiting ones were never sent or charged)"
                                                  if waits else "") + ".")
        self.buttons = {
            RESUME: box.addButton("Quit and let them resume next time",
                                  QMessageBox.ButtonRole.AcceptRole),
            CANCEL_ALL: box.addButton(f"Cancel {'them all' if n != 1 else 'it'} and quit",
                                      QMessageBox.ButtonRole.DestructiveRole),
            KEEP: box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole),
        }
        box.setDefaultButton(self.buttons[RESUME])
        box.setEscapeButton(self.buttons[KEEP])
        box.finished.connect(lambda _r: self._answer(box))
        self.box = box
        box.open()  # window-modal; the loop keeps running (takes keep updating)
        return box

    def _answer(self, box: QMessageBox) -> None:
        clicked = box.clickedButton()
        choice = next((k for k, b in self.buttons.items() if b is clicked), KEEP)
        self.box = None
        self.buttons = {}
        box.deleteLater()
        self.answered.emit(choice)
        if choice == RESUME:
            self._close_now()
        elif choice == CANCEL_ALL:
            self._task = asyncio.ensure_future(self._cancel_all())

    def _close_now(self) -> None:
        self._closing = True
        with contextlib.suppress(RuntimeError):  # already gone
            if not self.window.close():
                self._closing = False

    async def _cancel_all(self) -> None:
        jobs = self.in_flight()
        waits = self.waiting()
        n = len(jobs) + len(waits)
        self.window._say(f"Cancelling {n} take{'s' if n != 1 else ''} before quitting…")
        tasks = [self.window.cancel(j.id) for j in jobs]
        lq = getattr(self.window, "local_queue", None)
        queue = getattr(lq, "queue", None)
        if queue is not None:  # waiting ones: dropped from the queue, nothing was sent
            tasks += [self.window.studio.read(queue.cancel, w.key) for w in waits]
        await asyncio.gather(*tasks, return_exceptions=True)
        left = [j for j in jobs if (now := self.window.queue_model.job(j.id)) is not None
                and now.status in ACTIVE]
        if left:
            k = len(left)
            log.info("quit: %d take(s) could not be cancelled", k)
            self.window._say(f"{k} take{'s' if k != 1 else ''} could not be cancelled and "
                             "keep rendering: quit again to let them resume next time.")
            return
        self._close_now()

    async def wait(self) -> None:
        """Await a running "cancel them all" (tests)."""
        if self._task is not None:
            await self._task
