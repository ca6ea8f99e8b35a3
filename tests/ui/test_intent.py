"""One intent = one submission: real clicks, key presses, held keys on the real window, paid
renders on the private sandbox, counted in its ledger; offline said plainly, nothing failed."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolButton

from app.client.settings import UiSettings
from app.ui.intent import RENDER, RETRY, IntentGate
from app.ui.queue import StatusTextRole
from app.ui.toolbar import OFFLINE_TEXT
from app.ui.window import MainWindow

from .helpers import open_studio, until

SEEDANCE = {"prompt": "a kite over a windy beach", "duration": 4, "resolution": "480p"}
PRICE = 108
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
LONG_MS = 4000  # long enough that "after the first submit returned" is still inside it


# ---- the gate alone ----------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_gate_one_key_per_burst_busy_until_sent_targets_apart():
    clock = Clock()
    gate = IntentGate(lambda: 0.4, clock)
    key = gate.begin("render")
    assert key and gate.busy("render")
    clock.t += 5
    assert gate.begin("render") is None  # busy: however late, still the same intent
    gate.end("render")
    clock.t += 0.3
    assert gate.begin("render") is None  # within the interval of the last press
    clock.t += 0.3
    assert gate.begin("render") is None  # a burst of presses stays one intent
    assert gate.begin("retry:a") is not None  # another target is another intent
    clock.t += 0.41
    again = gate.begin("render")
    assert again and again != key  # a new intent, a new idempotency key


# ---- the real window ---------------------------------------------------------------------------
@contextmanager
def double_click_interval(ms: int):
    hints = QApplication.styleHints()
    old = hints.mouseDoubleClickInterval()
    hints.setMouseDoubleClickInterval(ms)
    try:
        yield ms / 1000
    finally:
        hints.setMouseDoubleClickInterval(old)


async def _window(tmp, studio) -> MainWindow:
    w = MainWindow(studio, UiSettings(tmp / "cfg"))
    w.show()
    await w.start()
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), **SEEDANCE})
    await until(w.form.is_submittable, what="a submittable form")
    w.activateWindow()
    return w


def double_click(widget) -> None:
    """What a real double-click delivers: press, release, double-click (the second press),
    release. QTest.mouseDClick alone sends no press, so a button sees no click from it."""
    QTest.mouseClick(widget, LEFT)
    QTest.mouseDClick(widget, LEFT)
    QTest.mouseRelease(widget, LEFT)


def _charges(studio) -> list[dict]:
    return [e for e in studio.server.store.ledger() if e["delta"] < 0]


async def _settle(w: MainWindow, takes: int) -> None:
    """Let every press land, then wait for the takes to be confirmed by the API."""
    await asyncio.sleep(0.3)
    await until(lambda: len(w.studio.store.query()) == takes and not w.intents.busy(RENDER)
                and not w.intents.busy(RETRY)
                and all(j.remote_id for j in w.studio.store.query()), what=f"{takes} take(s)")
    await asyncio.sleep(0.3)  # a late duplicate would show up by now


async def _assert_takes(w: MainWindow, studio, start: int, takes: int) -> None:
    await _settle(w, takes)
    assert len(studio.store.query()) == takes
    assert len(_charges(studio)) == takes
    assert len({c["job_id"] for c in _charges(studio)}) == takes
    assert studio.server.store.balance() == start - takes * PRICE
    assert w.queue_model.rowCount() == takes


def _run(aloop, scenario) -> None:
    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_two_real_clicks_and_a_double_click_on_render_are_one_paid_take(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.5)

    async def scenario() -> None:
        with double_click_interval(LONG_MS) as interval:
            w = await _window(tmp_path, studio)
            start = studio.server.store.balance()
            QTest.mouseClick(w.render_btn, LEFT)
            QTest.mouseClick(w.render_btn, LEFT)
            await _settle(w, 1)
            assert w.render_btn.isEnabled()  # sent and back: only the interval holds now
            QTest.mouseClick(w.render_btn, LEFT)  # within the interval, after it returned
            double_click(w.render_btn)
            await _assert_takes(w, studio, start, 1)

            await asyncio.sleep(interval + 0.1)  # a pause: the next press is a new intent
            double_click(w.render_btn)
            await _assert_takes(w, studio, start, 2)
            w.close()
        await studio.close()

    _run(aloop, scenario)


def test_ctrl_enter_twice_and_a_held_key_are_one_paid_take(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.5)

    async def scenario() -> None:
        w = await _window(tmp_path, studio)
        start = studio.server.store.balance()
        prompt = w.form.editor("prompt").edit
        prompt.setFocus()
        with double_click_interval(LONG_MS) as interval:
            QTest.keyClick(prompt, Qt.Key.Key_Return, CTRL)
            QTest.keyClick(prompt, Qt.Key.Key_Return, CTRL)
            await _settle(w, 1)
            QTest.keyClick(w, Qt.Key.Key_Return, CTRL)  # on the window, after it returned
            await _assert_takes(w, studio, start, 1)

        await asyncio.sleep(interval + 0.1)  # the default interval again, a pause: a new intent
        # a held Ctrl+Enter: one press, then auto-repeats for longer than the interval
        QTest.keyPress(prompt, Qt.Key.Key_Return, CTRL)
        for _ in range(30):
            await asyncio.sleep(0.05)
            QApplication.sendEvent(prompt, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return,
                                                     CTRL, "\r", True))
        QTest.keyRelease(prompt, Qt.Key.Key_Return, CTRL)
        await _assert_takes(w, studio, start, 2)
        w.close()
        await studio.close()

    _run(aloop, scenario)


def _retry_button(w: MainWindow) -> QToolButton:
    return next(b for b in w.queue.findChildren(QToolButton)
                if b.defaultAction() is w.queue.act_retry)


def test_retry_and_rerun_clicked_twice_are_one_new_paid_take(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = await _window(tmp_path, studio)
        start = studio.server.store.balance()
        await w.render()
        first = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(first.id).result_path, what="the first take")

        # Retry in the queue, twice, then Re-run of the same take in history: one intent
        with double_click_interval(LONG_MS) as interval:
            w.queue.select(first.id)
            retry = _retry_button(w)
            assert retry.isEnabled()
            QTest.mouseClick(retry, LEFT)
            QTest.mouseClick(retry, LEFT)
            await _settle(w, 2)
            assert w.queue.current_job().parent_id == first.id  # the new take is selected
            QTest.mouseClick(retry, LEFT)  # after it returned, within the interval: no retry
            w.nav.choose("history")
            await until(lambda: w.history.select(first.id), what="the take in history")
            rerun = w.history.details.rerun_btn
            QTest.mouseClick(rerun, LEFT)  # Re-run of the same take: the same intent
            double_click(rerun)
            await _assert_takes(w, studio, start, 2)
            assert [j.parent_id for j in studio.store.query()].count(first.id) == 1
            await asyncio.sleep(interval + 0.1)
        QTest.mouseClick(rerun, LEFT)  # later: a new intent
        QTest.mouseClick(rerun, LEFT)
        await _assert_takes(w, studio, start, 3)
        w.close()
        await studio.close()

    _run(aloop, scenario)


def test_offline_is_said_and_nothing_fails_then_the_take_finishes(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=2.0)
    server = studio.server

    async def scenario() -> None:
        w = await _window(tmp_path, studio)
        assert not w.offline_label.isVisibleTo(w)
        await w.render()
        job = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(job.id).status == "running", what="running")
        await asyncio.to_thread(server.stop)
        await until(lambda: w.offline_label.isVisibleTo(w), what="the offline notice")
        assert w.offline_label.text() == OFFLINE_TEXT
        await asyncio.sleep(1.0)  # polls keep failing meanwhile
        assert studio.store.get(job.id).status == "running"
        assert not w.queue_model.index(0).data(StatusTextRole).startswith("Failed")
        await asyncio.to_thread(server.start)
        await until(lambda: not w.offline_label.isVisibleTo(w), timeout=20,
                    what="the notice to clear")
        await until(lambda: w.queue_model.job(job.id).result_path, timeout=30,
                    what="the take to finish")
        assert studio.store.get(job.id).status == "succeeded"
        assert len(_charges(studio)) == 1
        w.close()
        await studio.close()

    _run(aloop, scenario)


def test_render_while_offline_waits_in_the_queue_and_is_sent_once_when_back(aloop, qtbot,
                                                                             tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    server = studio.server

    async def scenario() -> None:
        w = await _window(tmp_path, studio)
        await asyncio.to_thread(server.stop)
        out = w.form.payload()["out"]
        await w.render()
        await until(lambda: w.offline_label.isVisibleTo(w), what="the offline notice")
        assert "sent by itself, once, when the API answers" in w.render_note.text()
        [job] = studio.store.query()
        assert job.status == "pending" and job.payload["out"] == out
        assert w.form.payload()["out"] != out  # the next take gets its own file
        await asyncio.to_thread(server.start)
        await until(lambda: w.queue_model.job(job.id).result_path, timeout=30,
                    what="the queued take sent and finished")
        await until(lambda: not w.offline_label.isVisibleTo(w), what="the notice to clear")
        assert len(studio.store.query()) == 1
        assert len(_charges(studio)) == 1
        w.close()
        await studio.close()

    _run(aloop, scenario)


def test_retry_while_offline_waits_in_the_queue_and_is_sent_once_when_back(aloop, qtbot,
                                                                            tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    server = studio.server

    async def scenario() -> None:
        w = await _window(tmp_path, studio)
        await w.render()
        first = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(first.id).result_path, what="the first take")
        await asyncio.to_thread(server.stop)
        await w.retry(first.id)
        assert "sent by itself, once, when the API answers" in w.status.text()
        retried = next(j for j in studio.store.query() if j.parent_id == first.id)
        assert retried.status == "pending"
        await asyncio.to_thread(server.start)
        await until(lambda: (j := w.queue_model.job(retried.id)) and j.result_path, timeout=30,
                    what="the retried take sent and finished")
        assert len(studio.store.query()) == 2
        assert len(_charges(studio)) == 2
        w.close()
        await studio.close()

    _run(aloop, scenario)
