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


def run_app(argv: list[str] | None = None) -> int:
    """Open the window against the active profile (the embedded sandbox by default); a second
    start on the same data folder brings the first window to the front instead."""
    from app.client.paths import data_dir
    from app.ui.instance import SingleInstance, hand_over

    app = make_app(argv)
    instance = SingleInstance(data_dir())
    try:
        first = instance.acquire()
    except OSError as e:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "Takes", f"Takes cannot start: {e}")
        return 2
    if not first:
        return hand_over(instance)
    try:
        return _run_window(app, instance)
    finally:
        instance.release()


def _run_window(app: Any, instance: Any) -> int:
    from PySide6.QtWidgets import QMessageBox

    from app.client.settings import UiSettings
    from app.client.studio import Studio
    from app.ui.window import MainWindow

    try:
        studio = Studio.open_profile()
    except Exception as e:  # a profile without a key, no keyring, a sandbox that won't start
        QMessageBox.critical(None, "Takes", f"Takes cannot start: {e}")
        return 2

    async def main() -> int:
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        window = MainWindow(studio, UiSettings())
        window.closed.connect(lambda: closed.done() or closed.set_result(None))
        window.show()
        instance.show_requested.connect(window.bring_to_front)
        try:
            await window.start()
            await closed
        finally:
            with contextlib.suppress(RuntimeError):
                if window.isVisible():
                    window.close()
            await studio.close()
        return 0

    with gui_thread_collection(app):  # a long session: collect on the GUI thread only
        return int(run_loop(app, main) or 0)
