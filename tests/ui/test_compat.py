"""app/ui/compat.py: the one place a QApplication is made, and Qt Multimedia called queued."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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



def test_the_import_hook_reads_no_source_after_the_application_is_made(tmp_path):
    """After ensure_app, importing a module does not make PySide6 read its source (the
    feature scan); the app's modules still count as PySide6 users, others as ignored; Qt
    still works from a module imported afterwards."""
    (tmp_path / "plain_mod.py").write_text("VALUE = 1\n")
    (tmp_path / "qt_mod.py").write_text("from PySide6.QtCore import QObject\nOBJ = QObject\n")
    script = textwrap.dedent("""
        import inspect, os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from app.ui import compat
        app = compat.ensure_app(["probe"])
        feature = sys.modules["shibokensupport.feature"]
        reads = []
        real = inspect.getsource
        inspect.getsource = lambda obj: reads.append(getattr(obj, "__name__", obj)) or real(obj)
        import plain_mod, qt_mod
        from app.ui import palette
        assert reads == [], reads
        table = feature.pyside_feature_dict
        assert table["plain_mod"] == -1 and table["app.ui"] == 0, table
        from PySide6.QtCore import QObject
        obj = qt_mod.OBJ()
        obj.setObjectName("x")
        assert obj.objectName() == "x"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             [str(tmp_path), str(Path(__file__).resolve().parents[2])])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_no_module_of_the_app_selects_a_pyside_feature():
    """skip_feature_scan is only sound while nothing uses `from __feature__ import ...`."""
    root = Path(__file__).resolve().parents[2]
    users = [str(p.relative_to(root)) for d in ("app", "tests", "bench") for p in
             (root / d).rglob("*.py") if "__feature__ import" in p.read_text("utf-8")
             and p.name != "test_compat.py"]  # (this file names it in its script)
    assert users == []


def test_httpx_is_imported_without_its_command_line_client():
    script = "import app, httpx, sys; print('rich' in sys.modules, 'click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]

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
