"""The quit question on a real window against the sandbox: takes in flight ask first (Ctrl+Q
and the title bar's close alike), each answer does what it says, a resumed take is followed
after a restart."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui.menus import install_menus
from app.ui.quitting import CANCEL_ALL, KEEP, RESUME
from app.ui.window import MainWindow

from .helpers import open_studio, until

SEEDANCE = {"prompt": "a slow pan across a foggy harbour", "duration": 4, "resolution": "480p"}


async def _window(studio, cfg) -> MainWindow:
    w = MainWindow(studio, UiSettings(cfg))
    install_menus(w)
    w.show()
    w.activateWindow()
    await w.start()
    await until(lambda: QApplication.activeWindow() is w, what="the window active")
    return w


async def _render(w: MainWindow, **extra) -> object:
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), **SEEDANCE, **extra})
    await until(w.form.is_submittable, what="a submittable form")
    await w.render()
    job = w.queue_model.job_at(0)
    await until(lambda: w.queue_model.job(job.id).status in ("queued", "running"),
                what="the take in flight")
    return job


def _ctrl_q(w: MainWindow) -> None:
    QTest.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_Q,
                   Qt.KeyboardModifier.ControlModifier)


def _title_bar_close(w: MainWindow) -> None:
    """What the window manager's close button sends: a close event to the platform window,
    handled by Qt as a spontaneous close of the widget."""
    QApplication.sendEvent(w.windowHandle(), QCloseEvent())


def test_nothing_in_flight_quits_at_once(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        job = await _render(w, mock=True)
        await until(lambda: w.queue_model.job(job.id).status == "succeeded", what="done")
        closed: list[bool] = []
        w.closed.connect(lambda: closed.append(True))
        _ctrl_q(w)
        assert closed == [True] and w.menus.quitting.box is None
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))


def test_title_bar_with_takes_in_flight_asks_then_keep_working_and_cancel_all(
        aloop, qtbot, tmp_path, quick_double_click):
    studio = open_studio(tmp_path / "data", render_seconds=60)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        before = await studio.balance()
        a = await _render(w)
        b = await _render(w, prompt="a lighthouse at night")
        guard = w.menus.quitting
        answers: list[str] = []
        guard.answered.connect(answers.append)
        closed: list[bool] = []
        w.closed.connect(lambda: closed.append(True))

        _title_bar_close(w)
        box = guard.box
        assert box is not None and box.isVisible() and w.isVisible() and not closed
        assert box.windowModality() == Qt.WindowModality.WindowModal
        assert "2 takes are still rendering" in box.text()
        assert box.defaultButton() is guard.buttons[RESUME]
        _title_bar_close(w)  # asked again while open: the same question, not a second one
        assert guard.box is box
        guard.buttons[KEEP].click()
        await until(lambda: not box.isVisible(), what="the question gone")
        assert answers == [KEEP] and w.isVisible() and not closed
        assert {w.queue_model.job(j.id).status for j in (a, b)} <= {"queued", "running"}

        # Escape is "Keep working" too
        _title_bar_close(w)
        box = guard.box
        QTest.keyClick(box, Qt.Key.Key_Escape)
        await until(lambda: answers == [KEEP, KEEP], what="Escape answered")
        assert w.isVisible()

        _title_bar_close(w)
        guard.buttons[CANCEL_ALL].click()
        await guard.wait()
        assert closed == [True]
        for job in (a, b):
            rec = await studio.read(studio.store.get, job.id)
            assert rec.status == "canceled"
        assert await studio.balance() == before  # both refunded: nothing spent
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_ctrl_q_quit_and_resume_then_a_restart_follows_the_take(aloop, qtbot, tmp_path):
    data, cfg = tmp_path / "data", tmp_path / "cfg"
    studio = open_studio(data, render_seconds=3)

    async def scenario() -> None:
        w = await _window(studio, cfg)
        job = await _render(w)
        closed: list[bool] = []
        w.closed.connect(lambda: closed.append(True))
        _ctrl_q(w)
        guard = w.menus.quitting
        assert guard.box is not None and guard.box.isVisible() and not closed
        assert "1 take is still rendering" in guard.box.text()
        QTest.keyClick(guard.box, Qt.Key.Key_Return)  # the default: quit, resume next time
        await until(lambda: closed, what="the window closed")
        assert (await studio.read(studio.store.get, job.id)).status in ("queued", "running")
        await studio.close(keep_connection=True)  # the server keeps rendering meanwhile

        again = Studio.from_connection(studio.connection, data, poll=studio.manager.poll)
        w2 = await _window(again, cfg)
        assert w2.queue_model.row_of(job.id) is not None
        assert "Resumed 1 unfinished take" in w2.status.text()
        await until(lambda: w2.queue_model.job(job.id).result_path, timeout=20,
                    what="the resumed take downloaded")
        assert (await again.read(again.store.get, job.id)).status == "succeeded"
        # nothing in flight now: Ctrl+Q quits at once
        done: list[bool] = []
        w2.closed.connect(lambda: done.append(True))
        _ctrl_q(w2)
        assert done == [True]
        await again.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_code_closing_the_window_is_not_asked(aloop, qtbot, tmp_path):
    """The app's own shutdown and tests close by code: that is not the user's close."""
    studio = open_studio(tmp_path / "data", render_seconds=60)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        job = await _render(w)
        assert w.close()
        assert w.menus.quitting.box is None
        assert (await studio.read(studio.store.get, job.id)).status in ("queued", "running")
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))


def test_a_take_waiting_in_the_local_queue_is_asked_about_and_cancelled_unsent(
        aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(studio, tmp_path / "cfg")
        lq = w.local_queue
        await studio.read(lq.queue.pause)
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), **SEEDANCE})
        await until(w.form.is_submittable, what="a submittable form")
        await w.render()
        await until(lambda: len(w.queue_model.waiting()) == 1, what="the take waiting")
        guard = w.menus.quitting
        closed: list[bool] = []
        w.closed.connect(lambda: closed.append(True))
        _title_bar_close(w)
        box = guard.box
        assert box is not None and box.text() == "1 take waits in the queue."
        assert "never sent or charged" in box.informativeText()
        guard.buttons[CANCEL_ALL].click()
        await guard.wait()
        assert closed == [True]
        assert await studio.read(lq.queue.waiting) == []
        assert await studio.read(studio.store.query) == []  # nothing was ever sent
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))
