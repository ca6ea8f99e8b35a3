"""The real app (`takes` with no arguments) in a process of its own, reporting on stdout.

Run as `python tests/ui/window_process.py` with TAKES_DATA_DIR set. Once the window is up it
prints READY and minimises it; when the window is shown again (a second start asked for it)
it prints RAISED and closes it, so the app exits. Only observes: run_app runs unchanged.

With `render` (`render3`: with × 3 beside Render): fills the Create form with a paid take and
prints `BUTTON x y` (the Render button's centre on the screen) for real input from outside;
once every press has landed and been sent it prints `TAKES n CHARGES m` (the store and the
sandbox's ledger) and closes.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.ui.intent import RENDER
from app.ui.main import make_app, run_app
from app.ui.window import MainWindow

POLL_MS = 30
SEEDANCE = {"prompt": "a kite over a windy beach", "duration": 4, "resolution": "480p"}
QUIET_S = 2.0  # after the last take appeared, for any late press to land


def window() -> MainWindow | None:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return found[0] if found else None


def wait_ready() -> None:
    w = window()
    if w is None or not w.balance_label.text()[-1:].isdigit():
        QTimer.singleShot(POLL_MS, wait_ready)
        return
    if "render" in sys.argv[1:] or "render3" in sys.argv[1:]:
        fill_form(w)
        return
    w.showMinimized()
    print("READY", flush=True)
    QTimer.singleShot(POLL_MS, wait_raised)


def fill_form(w: MainWindow) -> None:
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), **SEEDANCE})
    if "render3" in sys.argv[1:]:  # "× 3" beside Render: one press is three takes
        w.sweeps.takes_spin.setValue(3)
    w.raise_()
    w.activateWindow()
    QTimer.singleShot(POLL_MS, lambda: wait_submittable(w))


def wait_submittable(w: MainWindow) -> None:
    if not w.render_btn.isEnabled():
        QTimer.singleShot(POLL_MS, lambda: wait_submittable(w))
        return
    centre = w.render_btn.mapToGlobal(w.render_btn.rect().center())
    print(f"BUTTON {centre.x()} {centre.y()}", flush=True)
    w.submitted.connect(lambda _job: QTimer.singleShot(int(QUIET_S * 1000), lambda: report(w)),
                        Qt.ConnectionType.SingleShotConnection)


def report(w: MainWindow) -> None:
    if w.intents.busy(RENDER) or getattr(w.sweeps, "_rendering", False):
        QTimer.singleShot(POLL_MS, lambda: report(w))
        return
    takes = len(w.studio.store.query())
    charges = [e for e in w.studio.server.store.ledger() if e["delta"] < 0]
    print(f"TAKES {takes} CHARGES {len(charges)}", flush=True)
    w.close()


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
