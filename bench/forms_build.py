"""How long building and showing each model's form takes (`build_form`; a bench).

Each round builds every form anew (the app builds a form the first time its task is chosen),
shows it in a window and turns the event loop once, which lays it out and paints it; then
deletes it. The first round is a warm-up (imports, the schemas' and field specs' one-time
caches) and is reported apart. Target (the speed issue): every form's median < 16 ms.
The CPU time of each build is printed too: on a loaded machine (other processes on the two
cores) wall time grows with the load, CPU time much less, so compare runs by it.

    python3 bench/forms_build.py [--rounds 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRAME_MS = 16.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication, QMainWindow

    from app.catalog import MODELS
    from app.forms import build_form

    app = QApplication.instance() or QApplication([])
    win = QMainWindow()
    win.resize(900, 900)
    win.show()
    app.processEvents()
    times: dict[str, list[float]] = {m: [] for m in MODELS}
    cpu: dict[str, list[float]] = {m: [] for m in MODELS}
    first: dict[str, float] = {}
    for r in range(args.rounds + 1):
        for model_id in MODELS:
            t0, c0 = time.perf_counter(), time.process_time()
            form = build_form(model_id)
            win.setCentralWidget(form)
            form.show()
            app.processEvents()
            ms = (time.perf_counter() - t0) * 1000
            (times[model_id].append(ms) if r else first.__setitem__(model_id, ms))
            if r:
                cpu[model_id].append((time.process_time() - c0) * 1000)
            win.takeCentralWidget()
            form.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    medians = {m: statistics.median(v) for m, v in times.items()}
    cpu_medians = {m: statistics.median(v) for m, v in cpu.items()}
    result = {"median_ms": {m: round(v, 1) for m, v in medians.items()},
              "worst_median_ms": round(max(medians.values()), 1),
              "cpu_median_ms": {m: round(v, 1) for m, v in cpu_medians.items()},
              "worst_cpu_median_ms": round(max(cpu_medians.values()), 1),
              "load_average": round(os.getloadavg()[0], 2),
              "first_build_ms": {m: round(v, 1) for m, v in first.items()},
              "target_ms": FRAME_MS, "rounds": args.rounds}
    if args.json:
        print(json.dumps(result))
    else:
        for m in MODELS:
            print(f"{m:24s} median {medians[m]:5.1f} ms, CPU {cpu_medians[m]:5.1f} ms  "
                  f"(first build {first[m]:5.1f} ms)")
        print(f"worst form's median: {max(medians.values()):.1f} ms (target < {FRAME_MS:g}); "
              f"CPU {max(cpu_medians.values()):.1f} ms; machine load "
              f"{result['load_average']} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
