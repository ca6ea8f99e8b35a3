"""`takes` with no arguments: the studio window on the qasync loop, the active profile's API.

Two loops: the window's (qasync, the GUI thread: widgets, and awaiting what it asked for) and
the studio's core loop (app/client/core.py, its own thread: client, job manager, store). The
window closes first; `studio.close()` then stops the core with nothing left running."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.ui.compat import ensure_app, gui_thread_collection, release_loop_qobjects

log = logging.getLogger(__name__)


def make_app(argv: list[str] | None = None) -> Any:
    app = ensure_app(argv)  # the one place a QApplication is made (see app.ui.compat)
    app.setApplicationName("Takes")
    app.setOrganizationName("Takes")
    app.setDesktopFileName("takes")  # the menu entry `takes install-desktop` writes
    from app.ui.icons import app_icon

    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the loop ends after the async shutdown, not before
    return app


def run_loop(app: Any, main: Any) -> Any:
    """Run `main()` on a qasync loop bound to `app`, then tear the loop down cleanly."""
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        close_loop(loop)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending, shut down async generators, close and unset the loop,
    then destroy its Qt objects here, on the GUI thread (see app.ui.compat)."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)
    release_loop_qobjects(loop)


def run_app(argv: list[str] | None = None, *, quiet: bool = True) -> int:
    """Open the window against the active profile (the embedded sandbox by default); a second
    start on the same data folder brings the first window to the front instead. `quiet`: the
    log file gets what the terminal would print (Qt's multimedia lines, FFmpeg's dumps); the
    terminal hears only of errors."""
    from app.client import logs
    from app.client.paths import data_dir
    from app.client.studio import EarlyConnection
    from app.ui import qtlog
    from app.ui.instance import SingleInstance, hand_over

    logging_done = logs.setup() if quiet else None
    # the active profile's connection begun before the window is built (before Qt is even
    # loaded, under `takes`): the built-in sandbox's child process starts meanwhile
    early = EarlyConnection()
    if quiet:
        qtlog.start()  # Qt's own messages to the log, not the terminal
    app = make_app(argv)
    if quiet:
        qtlog.start(defer_ffmpeg=True)  # FFmpeg's level before the first player is made
    instance = SingleInstance(data_dir())
    try:
        try:
            first = instance.acquire()
        except OSError as e:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "Takes", f"Takes cannot start: {e}")
            return 2
        if not first:
            return hand_over(instance)
        try:
            return _run_window(app, instance, early)
        finally:
            instance.release()
    finally:
        early.close()  # when the window did not take it (a second start, an error)
        if logging_done is not None:
            logging_done.close()


def open_studio(name: str | None, settings: Any, *, wait: bool = True, early: Any = None
                ) -> Any:
    """A profile's studio (the active one for None), its results in the chosen work folder.
    `wait`: blocking until the connection is made (the sandbox's child process starts, the
    keyring is read): call it off the GUI thread. Without: the store and the job manager at
    once, the connection made meanwhile (what the first window opens with)."""
    from pathlib import Path

    from app.client.studio import Studio

    folder = settings.get("work_folder")
    work = Path(folder) if isinstance(folder, str) and folder.strip() else None
    if wait:
        return Studio.open_profile(None, name, work_dir=work)
    return Studio.begin_profile(None, name, work_dir=work, early=early)


def start_theme(app: Any, settings: Any) -> None:
    """The theme the user chose (dark by default), Fusion and Qt's own colour scheme."""
    from app.ui.theme import CHOICES, apply_theme

    choice = settings.get("theme", "dark")
    apply_theme(app, choice if choice in CHOICES else "dark")


def _run_window(app: Any, instance: Any, early: Any = None) -> int:
    from PySide6.QtWidgets import QMessageBox

    from app.client.settings import UiSettings

    settings = UiSettings()
    start_theme(app, settings)
    try:  # the window paints while the connection is made (the sandbox starts)
        studio = open_studio(None, settings, wait=False, early=early)
    except Exception as e:  # an unreadable profile file, a store that cannot be opened
        QMessageBox.critical(None, "Takes", f"Takes cannot start: {e}")
        return 2

    shown: dict[str, Any] = {}  # the window on screen, which a second start brings to front

    def to_front() -> None:
        with contextlib.suppress(RuntimeError, KeyError):  # between two windows
            shown["window"].bring_to_front()

    instance.show_requested.connect(to_front)

    async def main() -> int:
        studios = {studio.profile_name: studio}
        current = studio
        try:
            while True:
                nxt = await _one_window(current, settings, shown, studios)
                if nxt is None:
                    return 0
                current = nxt
        finally:
            for s in studios.values():
                with contextlib.suppress(Exception):
                    await s.close()

    with gui_thread_collection(app):  # a long session: collect on the GUI thread only
        return int(run_loop(app, main) or 0)


async def _one_window(studio: Any, settings: Any, shown: dict[str, Any],
                      studios: dict[str | None, Any]) -> Any:
    """Show `studio`'s window until it closes; the studio of the profile it switched to, or
    None when the user quit. Studios stay open (their renders keep going) until the app
    ends."""
    from app.ui.notify import Notifier
    from app.ui.window import MainWindow

    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    window = MainWindow(studio, settings)
    notifier = Notifier(window)
    window.controller.job_changed.connect(notifier.job_changed)
    window.closed.connect(lambda: closed.done() or closed.set_result(None))
    switching: dict[str, Any] = {}

    async def switch(name: str) -> None:
        try:
            other = studios.get(name) or await asyncio.to_thread(open_studio, name, settings)
        except Exception as e:
            with contextlib.suppress(RuntimeError):
                window.status.setText(f"Could not open profile {name}: {e}")
            return
        studios[other.profile_name] = other
        await asyncio.to_thread(_remember_active, other)
        window.switch_to = name
        switching["to"] = other
        window.close()

    def on_switch(name: str) -> None:
        task = switching.get("task")
        if task is None or task.done():  # one switch at a time
            switching["task"] = asyncio.ensure_future(switch(name))

    window.switch_requested.connect(on_switch)
    window.show()
    shown["window"] = window
    try:
        await window.start()
        await closed
    finally:
        shown.pop("window", None)
        with contextlib.suppress(RuntimeError):
            if window.isVisible():
                window.close()
        await notifier.close()
    return switching.get("to")


def _remember_active(studio: Any) -> None:
    """The next start opens this profile (profiles.json, written off the GUI thread)."""
    from pathlib import Path

    from app.client.profiles import Profiles

    with contextlib.suppress(Exception):
        Profiles(Path(studio.data_dir) / "profiles.json").set_active(studio.profile_name)
