"""Process start → the window's first frame, and → idle, against a bare Qt window (a bench).

Each round starts fresh interpreters (a cold start of the Python side, as a user has; the OS
file cache and the byte-code cache are warm: one warm-up round, not counted, fills them, with
``PYTHONDONTWRITEBYTECODE`` dropped as a user's shell does not set it) in a new data folder,
offscreen:

- ``bare``: a PySide6 QMainWindow shown, then one turn of its event loop (the baseline).
- ``takes``: `takes` (`app.ui.main.run_app`, which loads Qt itself, as the command does)
  until the studio window is shown with the navigation and a form, and one turn of the loop
  after it (**first frame**), then until the balance is shown (**idle**: the queue and
  history loaded, the sandbox up).

Times are from just before the interpreter is started (the parent's clock) to the moment the
child reports it. Ratios are against ``bare`` of the same round; the medians are reported.

    python3 bench/start.py [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
w = QMainWindow()
w.resize(1280, 800)
w.show()
def done():
    print("FIRST", time.time(), flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""

TAKES = r"""
import sys, time
import app.ui.main as main  # as `takes` starts: run_app first, Qt loaded inside it
real_make_app = main.make_app

def make_app(argv=None):
    app = real_make_app(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    state = {"first": None}
    def tick():
        from app.ui.window import MainWindow
        ws = [w for w in QApplication.topLevelWidgets()
              if isinstance(w, MainWindow) and w.isVisible()]
        if ws and state["first"] is None and ws[0].form is not None:
            state["first"] = True
            QTimer.singleShot(0, lambda: print("FIRST", time.time(), flush=True))
        if ws and ws[0].balance_label.text()[-1:].isdigit():
            print("IDLE", time.time(), flush=True)
            ws[0].close()
            return
        QTimer.singleShot(2, tick)
    QTimer.singleShot(0, tick)
    return app

main.make_app = make_app
sys.exit(main.run_app())
"""


def _run(code: str, data: Path) -> dict[str, float]:
    # as on a user's machine: byte code cached (pip compiles site-packages; the app's own
    # modules are compiled by the warm-up round), whatever this shell says
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {**base, "QT_QPA_PLATFORM": "offscreen", "TAKES_DATA_DIR": str(data / "data"),
           "XDG_CONFIG_HOME": str(data / "config"), "TAKES_WORK_DIR": str(data / "work"),
           "TAKES_LOG_DIR": str(data / "logs"), "PYTHONPATH": str(ROOT),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    marks = {}
    for line in out.splitlines():
        name, _, stamp = line.partition(" ")
        if name in ("FIRST", "IDLE"):
            marks[name.lower()] = (float(stamp) - t0) * 1000
    return marks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    bare, first, idle = [], [], []
    with tempfile.TemporaryDirectory(prefix="takes-start-") as tmp:  # warm-up, not counted:
        _run(BARE, Path(tmp) / "b")  # the OS file cache and the byte-code cache filled
        _run(TAKES, Path(tmp) / "t")
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="takes-start-") as tmp:
            bare.append(_run(BARE, Path(tmp) / "b")["first"])
            marks = _run(TAKES, Path(tmp) / "t")
            first.append(marks["first"])
            idle.append(marks["idle"])
    b, f, i = (statistics.median(x) for x in (bare, first, idle))
    result = {"bare_ms": round(b), "first_frame_ms": round(f), "idle_ms": round(i),
              "first_frame_ratio": round(f / b, 2), "idle_ratio": round(i / b, 2),
              "targets": {"first_frame_ratio": 1.5, "idle_ratio": 3.0}, "rounds": args.rounds}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bare Qt window shown: {b:.0f} ms (median of {args.rounds})")
        print(f"takes first frame:    {f:.0f} ms  ({f / b:.2f}× bare; target ≤ 1.5×)")
        print(f"takes idle:           {i:.0f} ms  ({i / b:.2f}× bare; target ≤ 3×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
