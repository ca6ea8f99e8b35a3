"""The window's one worker mechanism and debounce (app/ui/workers.py), with real threads."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject

from app.ui.workers import Debounce, Workers


@pytest.fixture
def workers(qapp):
    w = Workers(threads=1)
    yield w
    w.close()


def test_work_runs_off_the_gui_thread_and_its_result_comes_back_on_it(qtbot, workers):
    got: list[tuple[str, str]] = []
    gui = threading.current_thread().name
    workers.submit(lambda a, b: (threading.current_thread().name, a + b), 2, 3,
                   on_done=lambda r: got.append((threading.current_thread().name, r)))
    assert workers.busy()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    (callback_thread, (work_thread, total)), = got
    assert total == 5
    assert work_thread != gui and callback_thread == gui
    assert not workers.busy()


def test_an_exception_reaches_on_error_or_else_on_done(qtbot, workers):
    errors: list[BaseException] = []
    done: list[object] = []

    def boom() -> None:
        raise ValueError("no frame")

    workers.submit(boom, on_done=done.append, on_error=errors.append)
    workers.submit(boom, on_done=done.append)
    qtbot.waitUntil(lambda: len(errors) + len(done) == 2, timeout=5000)
    assert [str(e) for e in errors] == ["no frame"]
    assert len(done) == 1 and isinstance(done[0], ValueError)


def test_close_drops_work_not_started_and_calls_nothing_more(qtbot, workers):
    ran: list[str] = []
    called: list[object] = []
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.2)
        ran.append("slow")
        return "slow"

    workers.submit(slow, on_done=called.append)
    workers.submit(lambda: ran.append("queued"), on_done=called.append)  # one thread: waits
    assert started.wait(5)
    workers.close()  # waits for `slow`, drops the queued one
    qtbot.wait(100)
    assert ran == ["slow"] and called == []
    assert not workers.busy()
    workers.submit(lambda: ran.append("late"), on_done=called.append)  # refused after close
    workers.wait(1000)
    qtbot.wait(50)
    assert ran == ["slow"] and called == []


def test_debounce_calls_once_after_the_last_trigger(qtbot, qapp):
    owner = QObject()
    calls: list[float] = []
    debounce = Debounce(80, lambda: calls.append(time.monotonic()), owner)
    last = 0.0
    for _ in range(4):
        debounce.trigger("ignored", 1)  # connectable to any signal
        last = time.monotonic()
        qtbot.wait(20)
    qtbot.waitUntil(lambda: bool(calls), timeout=2000)
    qtbot.wait(150)
    assert len(calls) == 1
    assert calls[0] - last >= 0.07  # counted from the last trigger, not the first
    debounce.trigger()
    debounce.stop()
    qtbot.wait(150)
    assert len(calls) == 1  # a stopped wait calls nothing
