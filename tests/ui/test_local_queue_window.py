"""The local queue in the real window against the sandbox: renders wait in the app while the queue
is paused, are dragged into a new order, moved to the front, cancelled unsent, and are sent in
the new order one at a time (cap 1); the desktop hears when the whole queue has finished."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.client.settings import UiSettings
from app.ui.local_queue import LocalQueueView
from app.ui.queue import WAITING_MIME, OrderRole, StatusTextRole
from app.ui.window import MainWindow

from .helpers import open_studio, until
from .test_notify import needs_dbus, received, start_service, stop_service

COST = 108  # seedance, 4 s at 480p


@pytest.fixture(autouse=True)
def only_the_local_queue(monkeypatch):
    """This feature alone on the window (the others land on their own, with their tests)."""
    from app.ui import extensions

    monkeypatch.setattr(extensions, "FEATURES", (("local_queue", "app.ui.local_queue"),))


def _drag_waiting_row(w: MainWindow, row: int, onto_row: int) -> None:
    """A drag of a waiting row's own mime (what the view's drag carries) entered, moved and
    dropped on the top edge of another row, through the event system."""
    view, model = w.queue.view, w.queue_model
    mime = model.mimeData([model.index(row)])
    assert mime.hasFormat(WAITING_MIME)
    view.scrollTo(model.index(onto_row))  # as a user would, to see where it goes
    rect = view.visualRect(model.index(onto_row))
    assert view.viewport().rect().contains(rect.topLeft() + QPoint(0, 2))
    pos = QPoint(rect.center().x(), rect.top() + 2)
    move, left = Qt.DropAction.MoveAction, Qt.MouseButton.LeftButton
    mods = Qt.KeyboardModifier.NoModifier
    target = view.viewport()

    def event(cls):
        try:
            return cls(pos, move, mime, left, mods)
        except TypeError:  # a release that takes a QPointF
            return cls(QPointF(pos), move, mime, left, mods)

    enter = event(QDragEnterEvent)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, event(QDragMoveEvent))
    QApplication.sendEvent(target, QDropEvent(QPointF(pos), move, mime, left, mods))


def _click_row(w: MainWindow, row: int) -> None:
    view = w.queue.view
    view.scrollTo(w.queue_model.index(row))
    rect = view.visualRect(w.queue_model.index(row))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _waiting_prompts(w: MainWindow) -> list[str]:
    return [t.payload["prompt"] for t in w.queue_model.waiting()]


@needs_dbus
def test_paused_takes_are_reordered_by_drag_and_sent_in_the_new_order(
        aloop, qtbot, tmp_path, quick_double_click, monkeypatch):
    service = tmp_path / "notifications.jsonl"
    proc, address = start_service("serve", service)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    studio = open_studio(tmp_path / "data", render_seconds=0.4)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 800)
        w.show()
        await w.start()
        view = w.local_queue
        assert isinstance(view, LocalQueueView)
        panel = w.queue
        await until(lambda: view.last is not None and panel.cap_spin.isVisible(),
                    what="the local queue attached")
        assert panel.cap_spin.value() == 4  # the sandbox's default
        panel.cap_spin.setValue(1)
        await until(lambda: view.last.cap == 1, what="cap 1")
        QTest.mouseClick(panel.pause_btn, Qt.MouseButton.LeftButton)
        await until(lambda: view.last.paused, what="paused")
        assert panel.pause_btn.text() == "Resume queue"

        w.choose_task("create")
        form = w.form
        for name in "ABCD":
            form.set_payload({**form.payload(), "prompt": f"take {name}", "duration": 4,
                              "resolution": "480p"})
            await until(form.is_submittable, what="a sendable form")
            await until(lambda: w.render_btn.isEnabled(), what="Render on")
            task = w.render()
            assert task is not None
            await task
            await until(lambda n=name: f"take {n}" in _waiting_prompts(w), what=name)
            assert "Waiting in the queue" in w.status.text()
        assert _waiting_prompts(w) == ["take A", "take B", "take C", "take D"]
        model = w.queue_model
        assert [model.index(r).data(OrderRole) for r in range(4)] == [1, 2, 3, 4]
        assert model.index(0).data(StatusTextRole).startswith("#1 · Waiting")
        assert await studio.read(studio.store.count) == 0  # nothing stored, nothing sent
        assert (await studio.run(studio.client.list_jobs()))["jobs"] == []

        _drag_waiting_row(w, 3, 0)  # D to the front
        await until(lambda: _waiting_prompts(w)[0] == "take D", what="D dragged first")
        assert _waiting_prompts(w) == ["take D", "take A", "take B", "take C"]
        _click_row(w, 3)  # C, then "Move to front"
        assert panel.current_job().payload["prompt"] == "take C"
        assert panel.act_front.isEnabled()
        panel.act_front.trigger()
        await until(lambda: _waiting_prompts(w)[0] == "take C", what="C to the front")
        _click_row(w, 3)  # B: cancelled before it was sent
        assert panel.current_job().payload["prompt"] == "take B"
        assert "nothing has been sent" in panel.act_cancel.toolTip()
        panel.act_cancel.trigger()
        await until(lambda: len(model.waiting()) == 3, what="B cancelled")
        assert "nothing was sent or charged" in w.status.text()
        assert _waiting_prompts(w) == ["take C", "take D", "take A"]
        shot = Path(os.environ.get("TAKES_QUEUE_SHOT", tmp_path / "queue.png"))
        assert w.grab().save(str(shot))

        before = await studio.balance()
        finished: list[str] = []
        view.finished.connect(finished.append)
        QTest.mouseClick(panel.pause_btn, Qt.MouseButton.LeftButton)  # resume
        w.showMinimized()  # in the background when it finishes: the desktop is told
        await until(lambda: finished, timeout=60, what="the queue finished")
        assert "3 takes (3 ready)" in finished[0]
        await until(lambda: view.notifier is not None and received(service), timeout=15,
                    what="the notification")
        [note] = received(service)
        assert note["summary"] == "Takes: the queue has finished" and "3 ready" in note["body"]

        jobs = sorted((await studio.run(studio.client.list_jobs()))["jobs"],
                      key=lambda j: j["created_at"])
        stored = {r.remote_id: r for r in await studio.read(studio.store.query)}
        assert [stored[j["id"]].payload["prompt"] for j in jobs] == \
            ["take C", "take D", "take A"]
        for a, b in itertools.pairwise(jobs):  # one at a time: cap 1
            assert b["created_at"] >= a["finished_at"]
        assert model.waiting() == [] and model.rowCount() == 3
        await until(lambda: w.balance_label.text() == f"Credits: {before - 3 * COST:,}",
                    what="three charges")

        # a take already on the provider: Cancel says the provider refunds it, then what it
        # did (the sandbox refunds a canceled job, as docs/api.md says)
        w.showNormal()
        studio.server.set_faults(stuck_jobs=1)
        form.set_payload({**form.payload(), "prompt": "take E"})
        await until(lambda: w.render_btn.isEnabled(), what="Render on")
        await w.render()  # nothing waits and a slot is free: sent at once
        stuck = model.job_at(0)
        assert not getattr(stuck, "is_waiting", False) and stuck.payload["prompt"] == "take E"
        await until(lambda: model.job(stuck.id).status == "running", what="running")
        panel.select(stuck.id)
        assert "refunds" in panel.act_cancel.toolTip()
        said: list[str] = []
        view.said.connect(said.append)
        panel.act_cancel.trigger()
        await until(lambda: "Canceled: the provider refunded 108 credits." in said,
                    what="the refund said")
        w.close()

    try:
        aloop.run_until_complete(scenario())
    finally:
        aloop.run_until_complete(studio.close())
        stop_service(proc)


def test_install_is_idempotent_and_cheap(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.4)
    try:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        from app.ui import local_queue

        assert local_queue.install(w) is w.local_queue  # installed once, at construction
        assert studio.manager.submit.__self__ is w.local_queue.queue
        assert not w.local_queue.queue.path.exists()  # nothing read or written yet
        # a held take reads why it waits; a waiting one its place; only waiting rows drag
        from app.client.localqueue import HELD, WaitingTake
        from app.ui.queue import ErrorTextRole

        why = "Not sent: today's cap for Work is 250 credits; 216 credits are spent"
        held = WaitingTake("k-held", "seedance_r2v", {"prompt": "held"}, state=HELD,
                           reason="daily_cap_reached", message=why)
        waiting = WaitingTake("k-wait", "seedance_r2v", {"prompt": "waits"})
        m = w.queue_model
        m.set_waiting([held, waiting])
        assert m.index(0).data(StatusTextRole) == f"#1 · Held: {why}"
        assert m.index(0).data(ErrorTextRole) == why
        assert m.index(1).data(StatusTextRole).startswith("#2 · Waiting")
        assert m.flags(m.index(1)) & Qt.ItemFlag.ItemIsDragEnabled
        w.queue.select(held.id)
        assert w.queue.act_retry.isEnabled() and "again" in w.queue.act_retry.toolTip()
        assert w.queue.act_cancel.isEnabled() and "nothing has been sent" in \
            w.queue.act_cancel.toolTip()
        w.close()
    finally:
        aloop.run_until_complete(studio.close())

