"""The real app (`takes` with no arguments) in a process of its own, reporting on stdout.

Run as `python tests/ui/window_process.py` with TAKES_DATA_DIR set. Once the window is up it
prints READY and minimises it; when the window is shown again (a second start asked for it)
it prints RAISED and closes it, so the app exits. Only observes: run_app runs unchanged.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.ui.main import make_app, run_app
from app.ui.window import MainWindow

POLL_MS = 30


def window() -> MainWindow | None:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return found[0] if found else None


def wait_ready() -> None:
    w = window()
    if w is None or not w.balance_label.text()[-1:].isdigit():
        QTimer.singleShot(POLL_MS, wait_ready)
        return
    w.showMinimized()
    print("READY", flush=True)
    QTimer.singleShot(POLL_MS, wait_raised)


def wait_raised() -> None:
    w = window()
    if w is not None and w.isVisible() and not w.isMinimized():
        print("RAISED", flush=True)
        w.close()
        return
    QTimer.singleShot(POLL_MS, wait_raised)


if __name__ == "__main__":
    make_app()  # the QApplication run_app will use, so the timer can start first
    QTimer.singleShot(POLL_MS, wait_ready)
    sys.exit(run_app())
