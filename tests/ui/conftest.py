"""UI test fixtures: one qasync loop per test and real media (helpers in helpers.py)."""

from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace

import mediafactory as mf
import pytest
from leaks import pending_tasks_message
from PySide6.QtCore import QEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.ui.main import close_loop
from app.ui.offscreen import use_offscreen

# The offscreen plugin's screen is 800×800 and clamps restored window geometry; the
# QApplication is created later (by pytest-qt), so a larger screen can still be chosen here.
use_offscreen()


@pytest.fixture
def aloop(qapp):
    """A qasync loop on the test's QApplication, driven with run_until_complete."""
    import qasync

    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        left = [repr(t.get_coro()) for t in asyncio.all_tasks(loop) if not t.done()]
        close_loop(loop)
        # Qt objects in reference cycles must die here, on the GUI thread, not whenever the
        # cycle collector happens to run on some worker thread.
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        gc.collect()
    if left:
        pytest.fail(pending_tasks_message(left), pytrace=False)


@pytest.fixture
def quick_double_click():
    """Takes sent back to back by a test: one press per intent, further apart than this."""
    hints = QGuiApplication.styleHints()
    before = hints.mouseDoubleClickInterval()
    hints.setMouseDoubleClickInterval(20)
    yield
    hints.setMouseDoubleClickInterval(before)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("ui-media")
    return SimpleNamespace(
        start=mf.image(d / "start.png", 800, 600),
        face=mf.image(d / "face.png", 600, 600),
        side=mf.image(d / "side.jpg", 640, 640),
        clip=mf.video(d / "clip.mp4", 320, 240, seconds=2.0),
    )

