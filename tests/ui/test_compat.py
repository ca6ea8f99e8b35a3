"""app/ui/compat.py: the one place a QApplication is made, and Qt Multimedia called queued."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from PySide6.QtCore import QObject, Signal, Slot

from app.ui import compat


def test_every_creator_gets_the_one_application(qapp):
    from app.ui.main import make_app

    assert compat.ensure_app() is qapp
    assert compat.ensure_app(["other"]) is qapp  # made once: later callers share it
    assert make_app([]) is qapp


def test_a_fresh_process_is_prepared_before_its_application_is_made():
    """In a new interpreter ensure_app runs prepare_process (malloc tuned) exactly once, then
    makes the QApplication; make_app adds the app's names on the same object."""
    script = textwrap.dedent("""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from app.ui import compat
        calls = []
        real = compat.tune_malloc
        compat.tune_malloc = lambda *a, **k: calls.append(1) or real(*a, **k)
        from PySide6.QtWidgets import QApplication
        assert QApplication.instance() is None
        app = compat.ensure_app(["probe"])
        assert QApplication.instance() is app and calls == [1]
        from app.ui.main import make_app
        assert make_app() is app and calls == [1]  # prepared once a process
        assert app.applicationName() == "Takes"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


class _Target(QObject):
    hit = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    @Slot(int)
    def record(self, n: int) -> None:
        self.seen.append(n)


def test_post_runs_the_slot_later_from_the_event_loop_in_order(qtbot):
    from PySide6.QtCore import Q_ARG

    target = _Target()
    for n in (1, 2, 3):
        compat.post(target, "record", Q_ARG(int, n))
    assert target.seen == []  # queued: not called from Python, under the GIL
    qtbot.waitUntil(lambda: target.seen == [1, 2, 3], timeout=2000)
