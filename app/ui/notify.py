"""Desktop notifications when a take ends while the window is in the background.

    notifier = Notifier(window)                 # GUI thread, on the qasync loop
    store_updates.connect(notifier.job_changed)  # every job update; it picks what to say
    ...
    await notifier.close()                       # before the loop closes

What is said comes from `app.client.notices.notification_for` (a take ready, failed or
timed out; nothing for a canceled or unfinished one), once per take and final state, and
only when the window is hidden, minimised or not the active window.

How: on Linux (and the BSDs) the freedesktop notification service,
`org.freedesktop.Notifications.Notify` on the session bus, spoken with jeepney's asyncio
client on the app's own event loop: no thread, and the GUI thread never waits (each
notification is a task, bounded by `timeout_s`). jeepney is pure Python, maintained, and
already installed beside `keyring` (SecretStorage uses it), so it adds nothing; the
desktop-notifier package would bring dbus-fast and more for the same call, and Qt's
`QSystemTrayIcon.showMessage` needs a tray icon shown first (no tray: no message). Elsewhere
(macOS, Windows) the tray icon's message is used when the system has a tray. A missing bus, a
missing service, an error reply or a service that does not answer is one log line, never an
exception or a traceback: notifications are a courtesy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.client.notices import notification_for

log = logging.getLogger(__name__)

APP_NAME = "Takes"
ICON = "takes"  # the icon name `takes install-desktop` installs
DESKTOP_ENTRY = "takes"
TIMEOUT_S = 5.0
EXPIRE_MS = -1  # the server's default
SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


def in_background(window: QWidget | None) -> bool:
    """True when the user is not looking at the window (none, hidden, minimised, inactive)."""
    if window is None:
        return True
    try:
        return (not window.isVisible()) or window.isMinimized() or not window.isActiveWindow()
    except RuntimeError:  # its C++ side is gone
        return True


def markup_escaped(text: str) -> str:
    """The body as plain text for servers that read a subset of HTML in it (the spec's
    "body-markup" capability): &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def send_dbus(title: str, body: str, *, bus: str = "SESSION", app_name: str = APP_NAME,
                    timeout_s: float = TIMEOUT_S, urgency: int = 1) -> int | None:
    """Notify over D-Bus; the server's notification id, or None (and a log line) when no
    notification could be shown. Never raises but for cancellation."""
    try:
        from jeepney import DBusAddress, HeaderFields, MessageType, new_method_call
        from jeepney.io.asyncio import DBusRouter
    except ImportError as e:
        log.info("no desktop notification: jeepney is not installed (%s)", e)
        return None
    address = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
    hints = {"desktop-entry": ("s", DESKTOP_ENTRY), "urgency": ("y", urgency)}
    message = new_method_call(address, "Notify", "susssasa{sv}i",
                              (app_name, 0, ICON, title, markup_escaped(body), [], hints,
                               EXPIRE_MS))

    async def call() -> Any:
        conn = await _open_connection(bus)
        try:
            async with DBusRouter(conn) as router:
                return await router.send_and_get_reply(message)
        finally:
            await conn.close()

    try:
        reply = await asyncio.wait_for(call(), timeout_s)
    except TimeoutError:
        log.warning("no desktop notification: the notification service did not answer in "
                    "%.0f s", timeout_s)
        return None
    except (KeyError, FileNotFoundError, ConnectionError) as e:  # no session bus here
        log.info("no desktop notification: no D-Bus session bus (%s: %s)",
                 type(e).__name__, e)
        return None
    except Exception as e:  # deliberate: a courtesy never breaks the app
        log.warning("no desktop notification: %s: %s", type(e).__name__, e)
        return None
    if reply.header.message_type == MessageType.error:
        name = reply.header.fields.get(HeaderFields.error_name, "?")
        text = reply.body[0] if reply.body else ""
        log.info("no desktop notification: %s %s", name, text)
        return None
    return int(reply.body[0])


async def _open_connection(bus: str) -> Any:
    """jeepney's `open_dbus_connection`, closing the socket when the handshake fails or is
    cancelled (jeepney's own leaves it to the garbage collector then)."""
    from jeepney.auth import BEGIN, Authenticator
    from jeepney.bus import get_bus
    from jeepney.bus_messages import message_bus
    from jeepney.io.asyncio import DBusConnection, DBusRouter, Proxy

    reader, writer = await asyncio.open_unix_connection(get_bus(bus))
    try:
        auth = Authenticator()
        for request in auth:
            writer.write(request)
            await writer.drain()
            data = await reader.read(1024)
            if not data:
                raise ConnectionError("the bus closed the connection while authenticating")
            auth.feed(data)
        writer.write(BEGIN)
        await writer.drain()
        conn = DBusConnection(reader, writer)
        async with DBusRouter(conn) as router:  # Hello first: the bus gives a unique name
            conn.unique_name = (await Proxy(message_bus, router).Hello())[0]
    except BaseException:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        raise
    return conn


class _TrayBackend:
    """Qt's tray icon message (macOS, Windows): made on first use, GUI thread."""

    def __init__(self, parent: QObject) -> None:
        self._parent = parent
        self._tray: Any = None

    async def send(self, title: str, body: str) -> int | None:
        from PySide6.QtWidgets import QApplication, QSystemTrayIcon

        if not (QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()):
            log.info("no desktop notification: this system has no tray for messages")
            return None
        if self._tray is None:
            self._tray = QSystemTrayIcon(QApplication.windowIcon(), self._parent)
            self._tray.setToolTip(APP_NAME)
            self._tray.show()
        self._tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information)
        return 0


class Notifier(QObject):
    """Tells the desktop when a take ends while the window is in the background."""

    sent = Signal(str, str)  # title, body: a notification the desktop accepted

    def __init__(self, window: QWidget | None = None, *, bus: str = "SESSION",
                 timeout_s: float = TIMEOUT_S, parent: QObject | None = None,
                 background: Callable[[], bool] | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self._window = window
        self._bus = bus
        self._timeout_s = timeout_s
        self._background = background or (lambda: in_background(self._window))
        self._told: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tray = None if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) \
            else _TrayBackend(self)
        self.enabled = True

    def job_changed(self, job: Any) -> None:
        """A take changed: notify if it just ended and the window is in the background.
        Returns at once (the notification is sent by a task on the running loop)."""
        said = notification_for(job)
        if said is None:
            return
        key = (str(job.id), str(job.status))
        if key in self._told:
            return
        self._told.add(key)  # once per take and state, seen or not
        if self.enabled and self._background():
            self.notify(*said, urgency=2 if job.status != "succeeded" else 1)

    def queue_finished(self, text: str) -> None:
        """The whole local queue has finished (app.ui.local_queue): told when the window is
        in the background (in front, its status line says it)."""
        if self.enabled and self._background():
            self.notify("Takes: the queue has finished", text)

    def notify(self, title: str, body: str, *, urgency: int = 1) -> None:
        """Send a notification from a task on the running loop (a log line without one)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            try:
                loop = asyncio.get_event_loop_policy().get_event_loop()
            except RuntimeError:
                loop = None
            if loop is None or loop.is_closed():
                log.info("no desktop notification: no event loop")
                return
        task = loop.create_task(self._send(title, body, urgency), name="takes-notify")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, title: str, body: str, urgency: int) -> None:
        if self._tray is not None:
            shown = await self._tray.send(title, body)
        else:
            shown = await send_dbus(title, body, bus=self._bus, timeout_s=self._timeout_s,
                                    urgency=urgency)
        if shown is not None:
            log.info("notified: %s", title)
            self.sent.emit(title, body)

    async def drain(self) -> None:
        """Wait for the notifications under way (tests; a clean exit)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop: what is still being sent is canceled (at most `timeout_s` old)."""
        self.enabled = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tasks.clear()
