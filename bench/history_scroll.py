"""How smooth the history gallery is with 10,000 takes (a bench, not a test).

A real JobStore (SQLite) is filled with N takes whose results cycle through a few real MP4
files; the real HistoryPanel (lazy model, grid view, delegate, thumbnail cache) is shown
offscreen and scrolled from the top to the very end one viewport at a time, the way a user
flicks through it. Measured:

- first page: from `reload()` until the first rows are in the view;
- per scroll step ("frame"): the scroll and one turn of the event loop, which lays out and
  paints the viewport (counted: every step must paint), including any page that arrives
  (pages are read on a worker thread);
- the longest stall of the GUI thread during the whole scroll (a 1 ms timer's largest gap);
- the rows loaded: only pages scrolled into view are read.

Targets: median frame < 16 ms, p95 < 33 ms, longest stall < 100 ms, first page < 200 ms.

    python3 bench/history_scroll.py [--takes 10000] [--clips 24] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGETS = {"frame_median_ms": 16.0, "frame_p95_ms": 33.0, "max_stall_ms": 100.0,
           "first_page_ms": 200.0}
MODELS = ["seedance_r2v", "kling_v3_std_i2v", "kling_v3_pro_i2v", "kling_o3_video_edit",
          "pixverse_swap", "wan_27_video_edit", "topaz_upscale_video"]


def fill_store(store, n: int, clips: list[Path]) -> float:
    """N takes, newest last, all statuses, a few favourites; returns seconds spent."""
    from app.client.store import JobRecord
    from app.ui.demo import PROMPTS

    t0 = time.perf_counter()
    start = time.time() - n * 60
    for i in range(n):
        model = MODELS[i % len(MODELS)]
        rec = JobRecord.new(model, {"prompt": f"{PROMPTS[i % len(PROMPTS)]} (take {i})",
                                    "out": f"takes/take-{i:05d}.mp4"},
                            created_at=start + i * 60)
        rec.status = "failed" if i % 13 == 0 else "succeeded"
        rec.started_at, rec.finished_at = rec.created_at + 1, rec.created_at + 40
        rec.credits_charged = 0 if rec.status == "failed" else 100
        rec.result_path = None if rec.status == "failed" else str(clips[i % len(clips)])
        rec.favourite = i % 50 == 0
        rec.mock = i % 9 == 0
        store.add(rec)
    return time.perf_counter() - t0


def paint_counter(widget):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent, QObject

    class _Counter(QObject):
        def __init__(self) -> None:
            super().__init__(widget)
            self.count = 0
            widget.installEventFilter(self)

        def eventFilter(self, obj, event):  # type: ignore[no-untyped-def]
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    return _Counter()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=10_000)
    parser.add_argument("--clips", type=int, default=24, help="distinct result files")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import mediafactory as mf
    from PySide6.QtCore import QElapsedTimer, QModelIndex, QTimer
    from PySide6.QtWidgets import QApplication

    from app.client.store import JobStore
    from app.ui.history import HistoryModel
    from app.ui.history_panel import HistoryPanel
    from app.ui.thumbs import ThumbnailCache

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="takes-bench-"))
    clips = [mf.video(tmp / f"clip{i}.mp4", 320, 180, seconds=1.0) for i in range(args.clips)]
    store = JobStore(tmp / "jobs.sqlite3")
    fill_s = fill_store(store, args.takes, clips)

    thumbs = ThumbnailCache(tmp / "thumbs")
    model = HistoryModel(store, thumbs)
    panel = HistoryPanel(model)
    panel.resize(1100, 800)
    panel.show()
    app.processEvents()

    def pump_until(cond, timeout=10.0) -> None:
        end = time.perf_counter() + timeout
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)

    t0 = time.perf_counter()
    model.reload()
    pump_until(lambda: model.rowCount() > 0)
    first_page_ms = (time.perf_counter() - t0) * 1000
    pump_until(lambda: model.total == args.takes)

    # the longest gap between two turns of the event loop while scrolling
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(tick)
    heartbeat.start()

    bar = panel.view.verticalScrollBar()
    viewport = panel.view.viewport()
    paints = paint_counter(viewport)
    frames: list[float] = []
    t_scroll = time.perf_counter()
    steps = 0
    while True:
        t = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        app.processEvents()
        frames.append((time.perf_counter() - t) * 1000)
        steps += 1
        # a user's next flick comes a frame later: let workers deliver meanwhile
        end = time.perf_counter() + 0.016
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        at_end = bar.value() >= bar.maximum()
        if at_end and not model.canFetchMore(QModelIndex()) and not model.loading:
            break
        if at_end and not model.loading:
            model.fetchMore(QModelIndex())  # what the view asks for at the bottom
        if steps > 20_000:
            break
    scroll_s = time.perf_counter() - t_scroll
    heartbeat.stop()
    result = {
        "takes": args.takes,
        "fill_store_s": round(fill_s, 2),
        "first_page_ms": round(first_page_ms, 1),
        "rows_loaded": model.rowCount(),
        "page_size": model.page_size,
        "scroll_steps": steps,
        "paints": paints.count,
        "scroll_total_s": round(scroll_s, 2),
        "frame_median_ms": round(statistics.median(frames), 2),
        "frame_p95_ms": round(percentile(frames, 0.95), 2),
        "frame_max_ms": round(max(frames), 2),
        "max_stall_ms": round(max(gaps[1:]) if len(gaps) > 1 else 0.0, 1),
        "thumbnails_decoded": thumbs.decoded,
    }
    result["ok"] = all(result[k] <= v for k, v in TARGETS.items()) and \
        result["rows_loaded"] == args.takes and paints.count >= steps
    model.close()
    thumbs.close()
    store.close()
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            target = f"  (target ≤ {TARGETS[k]:g})" if k in TARGETS else ""
            print(f"{k:>20}: {v}{target}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
