"""No Qt object is freed off the GUI thread: closed qasync loops, the closed window."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import qasync
import shiboken6

from app.ui.main import close_loop

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
