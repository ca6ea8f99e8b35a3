"""No Qt object is freed off the GUI thread: closed qasync loops, the closed window, the
GUI-thread collection policy (app.ui.compat)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from app.client.settings import UiSettings
from app.ui.compat import gui_thread_collection
from app.ui.main import close_loop
from app.ui.window import MainWindow

from .helpers import open_studio, until
from .test_soak import Collections, Soak, live_qt_objects_in_garbage, payloads

# Loops opened and closed with Qt timers still pending (wait_for timeouts that never fired),
# while another thread collects garbage every 5 ms; then the GUI thread runs Qt's timers for
# a second. Before close_loop destroyed the loop's Qt objects on the GUI thread this printed
# "Timers cannot be stopped from another thread" and died with SIGSEGV in activateTimers.
LOOPS_COLLECTED_OFF_THREAD = textwrap.dedent("""
    import asyncio, gc, threading, time
    import qasync
    from PySide6.QtWidgets import QApplication
    from app.ui.main import close_loop

    app = QApplication([])
    stop = threading.Event()

    def collect():
        while not stop.wait(0.005):
            gc.collect()

    async def work():
        for _ in range(20):
            await asyncio.wait_for(asyncio.sleep(0), timeout=0.2)
            await asyncio.sleep(0.001)

    def one_loop(coro):
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        loop.run_until_complete(coro)
        close_loop(loop)

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    for _ in range(30):
        one_loop(work())
        time.sleep(0.02)
    one_loop(asyncio.sleep(1.0))  # the dead loops' timers would fire now
    stop.set()
    collector.join()
    print("clean exit")
""")


def test_loops_collected_on_another_thread_exit_cleanly():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", LOOPS_COLLECTED_OFF_THREAD], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "clean exit"
    assert "another thread" not in run.stderr


def test_close_loop_destroys_the_loops_qt_objects(qapp):
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(asyncio.wait_for(asyncio.sleep(0), timeout=60))
    timer = loop._timer  # the qasync object whose Qt timers outlive close()
    close_loop(loop)
    assert not shiboken6.isValid(timer)
    assert not timer._SimpleTimer__callbacks  # no handle left for a collector thread


# TAKES_TEST_OFFTHREAD_GC=1 collects every 50 ms on a thread of its own, by design: what these
# tests look for (cycles left for the collector, generation counts) it has taken already.
OWN_COLLECTION = pytest.mark.skipif(os.environ.get("TAKES_TEST_OFFTHREAD_GC") == "1",
                                    reason="the forced off-thread pass collects by itself")


def live_pixmaps() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, QPixmap))


@contextlib.contextmanager
def no_automatic_collection():
    """Every cycle made meanwhile is still there at the end, for the check to find."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@OWN_COLLECTION
def test_a_closed_window_leaves_no_live_qt_object_to_the_collector(
        aloop, qtbot, tmp_path, quick_double_click):
    """Takes rendered, played and shown in the history (thumbnails), the window closed: what
    only the cycle collector would free holds no live Qt object, neither before Qt deleted
    the window nor after, and no QPixmap outlives the window (they die at close, here)."""
    studio = open_studio(tmp_path / "data", render_seconds=0.05)
    found: dict[str, object] = {}

    async def exercise(w: MainWindow) -> None:
        soak = Soak(w, payloads(tmp_path), Collections())
        for i in range(3):
            await soak.render(i)
        await until(lambda: soak.in_flight() == 0, timeout=60, what="renders to finish")
        await until(lambda: w.preview.result_path, what="a result in the preview")
        soak.play_latest()
        await soak.scroll_history()
        await until(lambda: not w.thumbs.busy() and live_pixmaps() >= 3, what="thumbnails")

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.set_mock(True)
        await exercise(w)
        found["pixmaps before close"] = live_pixmaps()
        found["window"] = weakref.ref(w)
        w.close()
        del w
        found["in garbage at close"] = live_qt_objects_in_garbage()  # Qt has not deleted it yet
        await studio.close()

    gc.collect()  # what earlier tests left to the collector is not this test's to find
    # Nor what they left alive and let go meanwhile (a qasync loop's Signaller class of an earlier
    # test was seen released during this scenario in one-process runs): every object that exists
    # now is held until the checks are done, so the garbage found is what this scenario made.
    earlier = gc.get_objects()
    with no_automatic_collection():
        aloop.run_until_complete(asyncio.wait_for(scenario(), 120))
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        window = found["window"]()
        assert window is None or not shiboken6.isValid(window)  # deleted by Qt, on this thread
        del window
        assert found["pixmaps before close"] >= 3
        assert found["in garbage at close"] == []
        assert live_qt_objects_in_garbage() == []
        assert live_pixmaps() == 0
    del earlier


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@contextlib.contextmanager
def thresholds(*values: int):
    before = gc.get_threshold()
    gc.set_threshold(*values)
    try:
        yield
    finally:
        gc.set_threshold(*before)


DUE_COLLECTOR_PROBE = """
import gc, weakref
from app.ui.compat import DueCollector


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the collector frees it


gc.disable()
gc.set_threshold(1000, 2, 2)
gc.collect()
collect = DueCollector()
assert collect() is None  # nothing due
cycles = [weakref.ref(Node()) for _ in range(2000)]
assert collect() == 0
assert all(r() is None for r in cycles)
kept, seen = [], []
while len(kept) < collect.long_lived_total // 4 + 5000:  # survivors pile up in gen 2
    kept += [Node() for _ in range(1500)]
    seen.append(collect())
    if gc.get_count()[2] > 2:
        assert 2 not in seen, seen  # due by count, not by size: CPython waits too
for _ in range(10):  # allocation goes on: the full collection comes due
    kept += [Node() for _ in range(1500)]
    seen.append(collect())
assert 2 in seen, seen
print("ok")
"""


def test_due_collector_collects_what_python_would_collect():
    """In a fresh interpreter: the heap earlier tests leave would change what is due."""
    proc = subprocess.run([sys.executable, "-c", DUE_COLLECTOR_PROBE], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@OWN_COLLECTION
def test_gui_thread_collection_collects_on_the_gui_thread_only(qapp, qtbot):
    threads: list[str] = []

    def note(phase: str, info: dict) -> None:
        name = threading.current_thread().name
        if phase == "start" and name != "offthread-gc":  # TAKES_TEST_OFFTHREAD_GC's own
            threads.append(name)

    def make_garbage_elsewhere() -> None:
        for _ in range(20000):
            Node()

    gc.callbacks.append(note)
    try:
        with gui_thread_collection(qapp) as timer:
            assert not gc.isenabled()
            worker = threading.Thread(target=make_garbage_elsewhere, name="worker")
            worker.start()
            worker.join()
            qtbot.waitUntil(lambda: bool(threads), timeout=5000)  # the timer collected
            assert timer.isActive()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(note)
    assert set(threads) == {threading.main_thread().name}
