"""How long switching between the seven model forms takes (a bench, not a test).

The forms are built once into a QStackedWidget (the window does the same); a switch is
``setCurrentIndex`` plus one turn of the event loop, which lays out and paints the newly shown
form (offscreen Qt paints a newly shown page twice; that is counted). Median must stay under
one frame (16 ms). ``--sync-repaint`` adds a forced synchronous ``repaint()`` (a stricter,
artificial measure: a third paint).

    python3 bench/forms_switch.py [--rounds 30] [--json]
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
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sync-repaint", action="store_true")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication, QStackedWidget

    from app.catalog import MODELS
    from app.forms import build_form

    app = QApplication.instance() or QApplication([])
    stack = QStackedWidget()
    t0 = time.perf_counter()
    forms = [build_form(model_id) for model_id in MODELS]
    build_ms = (time.perf_counter() - t0) * 1000
    for form in forms:
        stack.addWidget(form)
    stack.resize(820, 1000)
    stack.show()
    app.processEvents()
    for i in range(len(forms)):  # warm-up: first layout and paint of each form
        stack.setCurrentIndex(i)
        app.processEvents()

    samples: list[float] = []
    cpu: list[float] = []
    per_model: dict[str, list[float]] = {m: [] for m in MODELS}
    order = list(range(len(forms)))
    for r in range(args.rounds):
        for i in order[r % 2 :: 1] + order[: r % 2]:
            t = time.perf_counter()
            c = time.process_time()
            stack.setCurrentIndex(i)
            if args.sync_repaint:
                stack.repaint()
            app.processEvents()  # layout + paint of the shown form: what the user waits for
            ms = (time.perf_counter() - t) * 1000
            cpu.append((time.process_time() - c) * 1000)
            samples.append(ms)
            per_model[forms[i].model_id].append(ms)

    median = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    result = {
        "switches": len(samples),
        "median_ms": round(median, 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(samples), 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "load_average": round(os.getloadavg()[0], 2),
        "build_all_ms": round(build_ms, 1),
        "per_model_median_ms": {m: round(statistics.median(v), 2) for m, v in per_model.items()},
        "budget_ms": FRAME_MS,
        "ok": median < FRAME_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(samples)} switches: median {median:.2f} ms, p95 {p95:.2f} ms, "
              f"max {max(samples):.2f} ms (budget {FRAME_MS:g} ms) "
              f"{'OK' if result['ok'] else 'TOO SLOW'}")
        print(f"CPU time per switch: median {result['cpu_median_ms']} ms; machine load "
              f"{result['load_average']} on {os.cpu_count()} cores (wall time grows with load)")
        print(f"building all seven forms once: {build_ms:.0f} ms")
        for m, v in result["per_model_median_ms"].items():  # type: ignore[union-attr]
            print(f"  {m:<22} {v:6.2f} ms")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
