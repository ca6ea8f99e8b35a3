"""Soak: the real window renders many takes across all seven models in one process.

Mock renders on a private sandbox, the preview playing, the form switched each take and the
history scrolled every round of models: no crash, no growth of threads, and the resident
memory after N renders within 30 MB of what it was after the warm-up (50 renders when N ≥ 300,
else N/3). CI runs N = 42; the full run is
`TAKES_SOAK_RENDERS=300 python3 -m pytest -s tests/ui/test_soak.py`, which prints its figures.
`TAKES_SOAK_GC=python` runs it with Python's own collection policy instead of
`gui_thread_collection` (for comparison: it reports, rather than forbids, collections run off
the GUI thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mediafactory as mf
import pytest
import shiboken6
from PySide6.QtCore import QEvent, QObject, QThreadPool
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication

from app.catalog import MODELS
from app.client.settings import UiSettings
from app.ui.compat import gui_thread_collection, post
from app.ui.thumbs import ThumbnailCache
from app.ui.window import MainWindow

from .helpers import open_studio, until

RENDERS = int(os.environ.get("TAKES_SOAK_RENDERS", "42"))
WARM = 50 if RENDERS >= 300 else max(1, RENDERS // 3)  # renders before the first mark
MARK_EVERY = 50  # figures printed along the way in a long run
PYTHON_GC = os.environ.get("TAKES_SOAK_GC") == "python"
RSS_SLACK_MB = 30
IN_FLIGHT = 3  # takes rendering at once


def payloads(d: Path) -> dict[str, dict[str, Any]]:
    """One valid take per model, with local media files (the window uploads them)."""
    img = str(mf.image(d / "img_640x480.png", 640, 480))
    tall = str(mf.image(d / "img_480x640.jpg", 480, 640))
    clip = str(mf.video(d / "clip_320x240.mp4", 320, 240, 2.0, 24, audio=True))
    hd = str(mf.video(d / "clip_720p.mp4", 1280, 720, 3.2, 24, audio=True))  # O3's minimum
    return {
        "seedance_r2v": {"prompt": "a cat looks at @Image1", "image_urls": [img],
                         "duration": 4, "resolution": "480p"},
        "kling_v3_std_i2v": {"start_image_url": tall, "prompt": "wave", "duration": "4"},
        "kling_v3_pro_i2v": {"start_image_url": img, "prompt": "a slow pan", "duration": "4"},
        "kling_o3_video_edit": {"prompt": "make @Video1 night", "video_url": hd},
        "pixverse_swap": {"video_url": clip, "image_url": img},
        "wan_27_video_edit": {"prompt": "as a watercolour", "video_url": clip},
        "topaz_upscale_video": {"video_url": clip, "upscale_factor": 2},
    }


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


POOLED = "Thread (pooled)"  # the name Qt gives a QThreadPool's threads


#: FFmpeg's frame threads of a decode a pool worker runs (thumbnails: `thread_type = "AUTO"`,
#: named av:<codec>:df<n>): they live as long as that decode, so they are bounded with the
#: pools (at most one decode per worker, cpu_count + 1 threads each), not counted with the rest
DECODE_PREFIX = "av:"


def os_threads() -> int:
    """OS threads other than QThreadPool workers and their decodes' frame threads (those are
    bounded below, not counted here)."""
    names = os_thread_names()
    return sum(names.values()) - names.get(POOLED, 0) - decode_threads(names)


def pooled_threads() -> int:
    return os_thread_names().get(POOLED, 0)


def decode_threads(names: dict[str, int] | None = None) -> int:
    names = os_thread_names() if names is None else names
    return sum(n for name, n in names.items() if name.startswith(DECODE_PREFIX))


def pool_bound(window: QObject) -> tuple[int, int]:
    """(how many QThreadPools the app holds, how many threads they may run at most)."""
    pools = [QThreadPool.globalInstance(), *QApplication.instance().findChildren(QThreadPool),
             *window.findChildren(QThreadPool)]
    return len(pools), sum(p.maxThreadCount() for p in pools)


def os_thread_names() -> dict[str, int]:
    """How many OS threads of each name the process has (Qt, FFmpeg and pools name theirs)."""
    names: dict[str, int] = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/comm") as f:
            name = f.read().strip()
            names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items()))


def live_qt_objects_in_garbage() -> list[str]:
    """Qt objects that only the cycle collector would free (so on whichever thread runs it).

    A wrapper whose C++ object Qt already deleted is harmless wherever it is freed; a live one
    (a parentless widget or timer, a QPixmap) would be destroyed by the collecting thread.
    """
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return sorted(type(o).__name__ for o in gc.garbage
                      if isinstance(o, shiboken6.Object) and shiboken6.isValid(o))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()  # what DEBUG_SAVEALL kept, freed now (here, on the GUI thread)


class Collections:
    """Garbage collections seen (gc.callbacks): on the GUI thread (count and longest pause per
    generation, explicit `gc.collect()` calls left out) and elsewhere (thread names)."""

    def __init__(self) -> None:
        self.gui = threading.main_thread()
        self.longest_ms = [0.0, 0.0, 0.0]  # wall clock (a loaded machine stretches it)
        self.longest_cpu_ms = [0.0, 0.0, 0.0]  # this thread's CPU time: the work itself
        self.count = [0, 0, 0]
        self.elsewhere: list[str] = []
        self.elsewhere_longest_ms = 0.0
        self._t0 = self._cpu0 = 0.0
        self._explicit = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        me = threading.current_thread()
        if me.name == "offthread-gc" or (me is self.gui and self._explicit):
            return  # TAKES_TEST_OFFTHREAD_GC's collections, the test's own
        if phase == "start":
            self._t0, self._cpu0 = time.perf_counter(), time.thread_time()
            if me is not self.gui:
                self.elsewhere.append(me.name)
            return
        wall = (time.perf_counter() - self._t0) * 1000
        cpu = (time.thread_time() - self._cpu0) * 1000
        if me is not self.gui:  # the GIL held: the GUI thread waited all the same
            self.elsewhere_longest_ms = max(self.elsewhere_longest_ms, wall)
            return
        gen = info["generation"]
        self.count[gen] += 1
        self.longest_ms[gen] = max(self.longest_ms[gen], wall)
        self.longest_cpu_ms[gen] = max(self.longest_cpu_ms[gen], cpu)

    @contextlib.contextmanager
    def explicit(self) -> Iterator[None]:
        """The test's own full collections: not pauses the policy causes."""
        self._explicit = True
        try:
            yield
        finally:
            self._explicit = False

    def summary(self) -> str:
        where = {n: self.elsewhere.count(n) for n in sorted(set(self.elsewhere))}
        return (f"GUI-thread automatic collections per generation {self.count}, longest "
                f"{[round(ms, 1) for ms in self.longest_ms]} ms (CPU "
                f"{[round(ms, 1) for ms in self.longest_cpu_ms]} ms); off the GUI thread "
                f"{len(self.elsewhere)} {where}, longest {self.elsewhere_longest_ms:.1f} ms")


class Soak:
    """Drives the window: one take after another, the preview and history kept busy."""

    def __init__(self, w: MainWindow, takes: dict[str, dict[str, Any]],
                 seen: Collections) -> None:
        self.w = w
        self.takes = takes
        self.seen = seen
        self.models = list(MODELS)
        self.marks: dict[int, tuple[float, int, int]] = {}  # renders → (RSS, threads, py)
        self.pools: dict[int, tuple[int, int, int]] = {}  # renders → (pools, bound, pooled)
        self.names: dict[int, dict[str, int]] = {}  # renders → OS threads by name
        self.warm_peak = (0, 0)  # most OS / Python threads seen during the warm-up
        self.peak_names: dict[str, int] = {}  # the OS threads at that peak, by name

    async def render(self, i: int) -> None:
        w = self.w
        model_id = self.models[i % len(self.models)]
        w.choose_task(MODELS[model_id].task, MODELS[model_id].tier)
        form = w.form
        form.set_payload({**form.payload(), **self.takes[model_id]})
        await until(form.is_submittable, timeout=20, what=f"{model_id} submittable")
        await until(lambda: self.in_flight() < IN_FLIGHT, timeout=30, what="a free slot")
        task = w.render()
        assert task is not None, f"render {i} ({model_id}) was not sent"
        await task
        if i < WARM:
            if os_threads() > self.warm_peak[0]:
                self.peak_names = os_thread_names()
            self.warm_peak = (max(self.warm_peak[0], os_threads()),
                              max(self.warm_peak[1], threading.active_count()))

    def in_flight(self) -> int:
        qm = self.w.queue_model
        return sum(1 for r in range(qm.rowCount())
                   if qm.job_at(r).status in ("pending", "queued", "running"))

    def play_latest(self) -> None:
        player = self.w.preview.player
        if player.playbackState() != QMediaPlayer.PlaybackState.PlayingState and \
                self.w.preview.result_path:
            self.w.preview.play_btn.click()

    async def scroll_history(self) -> None:
        w = self.w
        w.choose_task("history")
        await until(lambda: not w.history_model.loading, what="history loaded")
        bar = w.history.view.verticalScrollBar()
        for value in range(0, bar.maximum() + 1, max(1, bar.maximum() // 8)):
            bar.setValue(value)
            await asyncio.sleep(0.01)

    async def settle(self) -> None:
        """Every take finished and downloaded, the GUI thread's garbage collected."""
        await until(lambda: self.in_flight() == 0, timeout=60, what="renders to finish")
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        with self.seen.explicit():
            gc.collect()

    async def mark(self, n: int) -> None:
        await self.settle()
        # threads come and go with playback and decoding (FFmpeg's, the thumbnailers'): a
        # leak is what stays, so playback is stopped (the next render plays again) and the
        # fewest seen over a short settle is what is compared
        for player in self.w.preview._players():
            post(player, "stop")
        fewest, names = os_threads(), os_thread_names()
        for i in range(40):
            await asyncio.sleep(0.05)
            if i % 10 == 9:  # a decoder's frame threads end when its garbage is collected
                with self.seen.explicit():
                    gc.collect()
            if (now := os_threads()) < fewest:
                fewest, names = now, os_thread_names()
        self.marks[n] = (rss_mb(), fewest, threading.active_count())
        self.pools[n] = (*pool_bound(self.w), pooled_threads())
        self.names[n] = names
        rss, threads, py = self.marks[n]
        print(f"\nsoak: after {n} renders RSS {rss:.1f} MB, OS threads {threads} (+ pooled "
              f"{self.pools[n][2]} of at most {self.pools[n][1]} in {self.pools[n][0]} pools), "
              f"Python threads {py}; {self.seen.summary()}", flush=True)


@pytest.mark.skipif(os.environ.get("TAKES_TEST_OFFTHREAD_GC") == "1",
                    reason="a full collection every 50 ms makes 42 renders outlast the budget")
@pytest.mark.timeout(120 + RENDERS * 5)  # the full run outlasts the suite's 300 s default
def test_soak_many_renders_all_models(aloop, qtbot, tmp_path, quick_double_click):
    studio = open_studio(tmp_path / "data", render_seconds=0.05)
    seen = Collections()
    t0 = time.monotonic()

    async def scenario() -> Soak:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 900)
        w.show()
        await w.start()
        w.set_mock(True)
        soak = Soak(w, payloads(tmp_path), seen)
        for i in range(RENDERS):
            await soak.render(i)
            soak.play_latest()
            if i % len(soak.models) == len(soak.models) - 1:  # once per round of models
                await soak.scroll_history()
            if i + 1 in (WARM, RENDERS) or (i + 1) % MARK_EVERY == 0:
                await soak.mark(i + 1)
        assert w.queue_model.rowCount() == RENDERS
        assert all(j.status == "succeeded" for j in studio.store.query(limit=RENDERS + 1))
        w.close()
        await studio.close()
        return soak

    gc.callbacks.append(seen)
    try:
        with contextlib.ExitStack() as policy:
            if not PYTHON_GC:
                policy.enter_context(gui_thread_collection(QApplication.instance()))
            soak = aloop.run_until_complete(asyncio.wait_for(scenario(), 60 + RENDERS * 5))
    finally:
        gc.callbacks.remove(seen)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    (rss_a, threads_a, py_a), (rss_b, threads_b, py_b) = soak.marks[WARM], soak.marks[RENDERS]
    print(f"\nsoak ({'Python' if PYTHON_GC else 'GUI-thread'} collection): {RENDERS} renders "
          f"in {time.monotonic() - t0:.0f} s; RSS after {WARM} {rss_a:.1f} MB, after "
          f"{RENDERS} {rss_b:.1f} MB ({rss_b - rss_a:+.1f}); OS threads {threads_a} → "
          f"{threads_b} (warm-up peak {soak.warm_peak[0]}); Python threads {py_a} → {py_b} "
          f"(peak {soak.warm_peak[1]}); {seen.summary()}")
    if not PYTHON_GC:
        assert seen.elsewhere == []  # no automatic collection off the GUI thread
    assert rss_b - rss_a <= RSS_SLACK_MB
    # no growth: after N renders no more threads than the warm-up had at its busiest, outside
    # Qt's thread pools; those may fill up to their bound later (Qt ends idle ones after 30 s),
    # but no pool is added per take
    assert threads_b <= max(threads_a, soak.warm_peak[0]), \
        f"OS threads after {WARM}: {soak.names[WARM]}, at the warm-up peak: " \
        f"{soak.peak_names}, after {RENDERS}: {soak.names[RENDERS]}"
    (pools_a, _, _), (pools_b, bound_b, pooled_b) = soak.pools[WARM], soak.pools[RENDERS]
    assert pools_b == pools_a
    assert pooled_b <= bound_b
    decoding = decode_threads(soak.names[RENDERS])
    assert decoding <= bound_b * ((os.cpu_count() or 1) + 1), soak.names[RENDERS]
    assert py_b <= max(py_a, soak.warm_peak[1])
    assert live_qt_objects_in_garbage() == []


def test_thumbnails_held_in_memory_are_bounded(qapp, qtbot, tmp_path):
    """What keeps a long session flat: the least recently used pictures leave memory (a view
    asking again gets them back from the disk cache), and close() drops the rest."""
    paths = [str(mf.image(tmp_path / f"take{n}.png", 64, 48)) for n in range(5)]
    cache = ThumbnailCache(tmp_path / "thumbs", memory_limit=3)
    try:
        for path in paths:
            with qtbot.waitSignal(cache.thumbnail_ready, timeout=10000):
                assert cache.get(path) is None  # queued
        assert all(cache.get(p) is not None for p in paths[2:])
        assert cache.get(paths[0]) is None  # evicted: asked again, read back from disk
        with qtbot.waitSignal(cache.thumbnail_ready, timeout=10000):
            pass
        assert cache.get(paths[0]) is not None
        assert cache.get(paths[2]) is None  # now the least recently used one left
        assert cache.decoded == 5  # the re-reads came from the disk cache
    finally:
        cache.close()
    assert all(cache.get(p) is None for p in paths)
