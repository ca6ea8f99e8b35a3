"""The GUI thread's heartbeat while the studio works: a 60 Hz timer in the real window (a bench).

The window (offscreen) on the built-in sandbox (its child process), a precise 16 ms QTimer on
the GUI thread recording when it fires. First the window idle (the baseline), then the same
window while the core moves a 200 MB upload and a 200 MB download at once and follows 20
running takes (mock renders of 30 s, so they are polled or held the whole time). Reported: the
p99 and the longest gap between two beats in each phase, and the ratio of the p99s; the job
updates the window got under load (takes, in how many batches); and the same two figures for
a bare Qt timer in a process of its own beside it (the machine's share of the ratio: other
work on a shared machine delays it too, but it shares no GIL with the core).

Targets (the speed issue): p99 under load ≤ 1.25× the idle p99; longest stall < 50 ms.

    python3 bench/heartbeat.py [--mb 200] [--jobs 20] [--idle-s 5] [--rounds 1] [--json]
                               [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MB = 1_000_000


class Heartbeat:
    """A precise 16 ms timer on the GUI thread; `gaps()` between its beats, in ms."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(16)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self) -> None:
        self.beats.clear()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return [(b - a) * 1000 for a, b in zip(self.beats, self.beats[1:], strict=False)]


PROBE = """
import json, sys, time
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
beats = []
t = QTimer(); t.setTimerType(Qt.TimerType.PreciseTimer); t.setInterval(16)
t.timeout.connect(lambda: beats.append(time.time())); t.start()
import threading
threading.Thread(target=lambda: (sys.stdin.read(), app.quit()), daemon=True).start()
app.exec()
json.dump(beats, open(sys.argv[1], "w"))
"""


def probe_gaps(beats: list[float], start: float, end: float) -> list[float]:
    inside = [b for b in beats if start <= b <= end]
    return [(b - a) * 1000 for a, b in itertools.pairwise(inside)]


def p99(gaps: list[float]) -> float:
    return statistics.quantiles(gaps, n=100)[98] if len(gaps) > 2 else max(gaps, default=0.0)


async def phases(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    import mediafactory as mf

    from app.client.settings import UiSettings
    from app.client.studio import Studio
    from app.ui.window import MainWindow

    big = mf.video(tmp / "big.mp4", 320, 240, 1.0, 24, pad_to_bytes=args.mb * MB)
    clip = mf.video(tmp / "clip.mp4", 320, 240, 2.0, 24)
    studio = await asyncio.to_thread(Studio.open_sandbox, tmp / "data", render_seconds=30.0,
                                     credits=1_000_000)
    window = MainWindow(studio, UiSettings(tmp / "cfg"))
    window.resize(1280, 800)
    window.show()
    await window.start()
    beat = Heartbeat()
    delivered = {"takes": 0, "batches": 0}

    def got(n: int) -> None:
        delivered["takes"] += n
        delivered["batches"] += 1

    window.controller.updates_delivered.connect(got)
    probe_out = tmp / "probe.json"
    probe = await asyncio.create_subprocess_exec(sys.executable, "-c", PROBE, str(probe_out),
                                                 stdin=asyncio.subprocess.PIPE)
    marks: list[float] = []
    try:
        client = studio.client
        served = await studio.run(client.upload(big))  # the file the download fetches
        await asyncio.sleep(1.0)
        marks.append(time.time())
        beat.start()
        await asyncio.sleep(args.idle_s)
        idle = beat.stop()
        marks.append(time.time())

        async def load() -> float:
            takes = [studio.manager.submit("topaz_upscale_video", {
                "video_url": str(clip), "upscale_factor": 2, "mock": True,
                "out": f"beat-{n}.mp4"}) for n in range(args.jobs)]
            await asyncio.gather(*takes)
            t = time.perf_counter()
            for _ in range(args.rounds):
                await asyncio.gather(client.upload(big),
                                     client.download(served, tmp / "out" / "copy.mp4"))
            return (time.perf_counter() - t) / args.rounds

        prof = None
        if args.profile:
            import cProfile

            prof = cProfile.Profile()  # the GUI thread only: where its time goes under load
            prof.enable()
        delivered.update(takes=0, batches=0)
        marks.append(time.time())
        beat.start()
        transfer_s = await studio.run(load())
        await asyncio.sleep(0.5)
        busy = beat.stop()
        marks.append(time.time())
        if prof is not None:
            prof.disable()
            prof.dump_stats(args.profile)
    finally:
        window.close()
        await studio.close()
        assert probe.stdin is not None
        probe.stdin.close()
        await probe.wait()
    beats = json.loads(probe_out.read_text())
    p_idle, p_busy = probe_gaps(beats, *marks[:2]), probe_gaps(beats, *marks[2:])
    return {"probe_ratio": p99(p_busy) / p99(p_idle), "probe_load_max_ms": max(p_busy),
            "updates_takes": delivered["takes"], "updates_batches": delivered["batches"],
            "idle_p99_ms": p99(idle), "idle_max_ms": max(idle),
            "load_p99_ms": p99(busy), "load_max_ms": max(busy),
            "load_median_ms": statistics.median(busy), "idle_median_ms": statistics.median(idle),
            "ratio": p99(busy) / p99(idle), "transfer_s": transfer_s,
            "beats_idle": len(idle), "beats_load": len(busy)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--idle-s", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=1,
                    help="transfers one after another under load (more beats: a steadier p99)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", metavar="PATH", help="cProfile the GUI thread under load")
    args = ap.parse_args(argv)
    from app.ui.main import make_app, run_loop

    app = make_app([])
    with tempfile.TemporaryDirectory(prefix="takes-heartbeat-") as tmp:
        r = run_loop(app, lambda: phases(args, Path(tmp)))
    r["targets"] = {"ratio": 1.25, "load_max_ms": 50}
    if args.json:
        print(json.dumps(r))
    else:
        print(f"idle window:  p99 {r['idle_p99_ms']:.1f} ms, longest {r['idle_max_ms']:.1f} ms "
              f"(median {r['idle_median_ms']:.1f} ms, {r['beats_idle']} beats)")
        print(f"under load:   p99 {r['load_p99_ms']:.1f} ms, longest {r['load_max_ms']:.1f} ms "
              f"(median {r['load_median_ms']:.1f} ms, {r['beats_load']} beats; "
              f"{args.mb} MB up + down in {r['transfer_s']:.1f} s × {args.rounds}, "
              f"{args.jobs} takes running)")
        print(f"p99 ratio:    {r['ratio']:.2f}× idle (target ≤ 1.25×); longest stall "
              f"{r['load_max_ms']:.0f} ms (target < 50 ms)")
        print(f"job updates:  {r['updates_takes']} take updates in {r['updates_batches']} "
              f"batches under load")
        print(f"beside it:    a bare Qt timer in its own process: p99 ratio "
              f"{r['probe_ratio']:.2f}×, longest {r['probe_load_max_ms']:.0f} ms (the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
