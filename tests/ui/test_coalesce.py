"""Job updates reach the window a frame's worth at a time (the speed issue's heartbeat).

The job manager on the core thread can change many takes within one frame (20 takes polled
at once); the window gets each take's latest record once per batch, at most one batch per
16 ms, and each model repaints its changed rows as one range per batch."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.client.store import JobRecord
from app.ui import coalesce
from app.ui.controller import FRAME_MS
from app.ui.queue import JobRole, QueueModel, TimeTextRole
from app.ui.thumbs import ThumbnailCache
from app.ui.window import MainWindow

from .helpers import open_studio, until

JOBS, STEPS = 8, 30  # 240 updates


def _take(n: int, profile: str) -> JobRecord:
    return JobRecord(id=f"burst-{n}", model_id="topaz_upscale_video",
                     payload={"video_url": "/nowhere/clip.mp4", "upscale_factor": 2},
                     idempotency_key=f"key-{n}", status="running", mock=True,
                     created_at=time.time() + n, profile=profile)


def _steps(take: JobRecord) -> list[JobRecord]:
    """Running at growing progress, then succeeded: each record newer than the one before."""
    recs = [replace(take, progress=k / STEPS, history=[("running", 0.0)])
            for k in range(1, STEPS)]
    return [*recs, replace(take, status="succeeded", progress=1.0,
                           history=[("running", 0.0), ("succeeded", 1.0)])]


def test_a_burst_of_updates_is_delivered_once_per_frame_with_every_final_state(
        aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=30.0)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1100, 760)
        w.show()
        await w.start()
        c = w.controller
        seen: list[tuple[int, str, str, float]] = []  # (batch, id, status, progress)
        batches: list[float] = []
        c.job_changed.connect(lambda j: seen.append((len(batches), j.id, j.status, j.progress)))
        c.updates_delivered.connect(lambda n: batches.append(time.perf_counter()))
        repaints: list[tuple[int, int]] = []

        def changed(a: QModelIndex, b: QModelIndex, roles: list[int]) -> None:
            if TimeTextRole not in roles:  # not the running clocks' tick
                repaints.append((a.row(), b.row()))

        w.queue_model.dataChanged.connect(changed)
        takes = [_take(n, studio.profile_name) for n in range(JOBS)]
        manager = studio.manager

        async def burst() -> None:  # on the core thread, through the manager's listeners
            for k in range(STEPS):
                for t in takes:
                    manager._emit(_steps(t)[k])
                if k % 6 == 5:
                    await asyncio.sleep(0.004)  # the burst spans a few frames

        t0 = time.perf_counter()
        await studio.run(burst())
        await until(lambda: all(w.queue_model.job(t.id) is not None and
                                w.queue_model.job(t.id).status == "succeeded" for t in takes),
                    what="every take's final state in the queue")
        await asyncio.sleep(0.1)
        span_ms = (batches[-1] - t0) * 1000 if batches else 0.0

        ours = [s for s in seen if s[1].startswith("burst-")]
        assert len(ours) < JOBS * STEPS / 5, f"{len(ours)} deliveries for 240 updates"
        assert len(batches) <= span_ms / FRAME_MS + 2, (len(batches), span_ms)
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(batches)]
        assert all(g >= FRAME_MS - 2 for g in gaps), gaps  # at most one batch per frame
        for t in takes:  # each take's last delivery is its final state, none lost
            last = [s for s in ours if s[1] == t.id][-1]
            assert last[2:] == ("succeeded", 1.0)
        def changed_at(s: tuple[int, str, str, float]) -> tuple[int, int]:
            return round(s[3] * STEPS), int(s[1].split("-")[1])  # (round, take) it was sent

        for b in {s[0] for s in ours}:  # within a batch: once per take, in the order changed
            got = [s for s in ours if s[0] == b]
            assert len({s[1] for s in got}) == len(got), got
            assert got == sorted(got, key=changed_at), got
        # one range per batch for the rows changed in place, not one repaint per take
        assert len(repaints) <= len(batches), (repaints, len(batches))
        assert any(b - a >= 1 for a, b in repaints), repaints
        # the rows say so, and a click on one shows that take's final record
        row = w.queue_model.row_of("burst-3")
        view = w.queue.view
        rect = view.visualRect(w.queue_model.index(row))
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        picked = view.currentIndex().data(JobRole)
        assert picked.id == "burst-3" and picked.status == "succeeded"
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 90))


def test_rows_changed_in_a_batch_follow_their_takes_and_repaint_as_one_range(qtbot, tmp_path):
    model = QueueModel(ThumbnailCache(tmp_path / "thumbs"))
    a, b = _take(1, "sandbox"), _take(2, "sandbox")
    model.load([a, b])  # newest first: b at row 0, a at row 1
    emitted: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda x, y, _roles: emitted.append((x.row(), y.row())))
    model.upsert(replace(a, progress=0.5))
    assert emitted == [(1, 1)]  # outside a batch: at once, as before
    emitted.clear()
    with coalesce.batch():
        model.upsert(replace(a, progress=0.6))
        model.upsert(replace(b, progress=0.6))
        model.upsert(_take(3, "sandbox"))  # a newer take inserted on top: a and b move down
        assert emitted == []
        assert model.job(a.id).progress == 0.6  # the data is there at once
    assert emitted == [(1, 2)]  # one range, over the rows they hold now
    assert model.job_at(2).id == a.id


def test_queue_rows_drawn_from_kept_pictures_match_rows_drawn_afresh(qtbot, tmp_path,
                                                                    monkeypatch):
    """The queue's delegate keeps each row's picture (all but its info line): after new
    progress, a new status and a click that selects it, the row looks exactly as one drawn
    afresh (the clock held still, so only the kept picture can differ)."""
    from PySide6.QtWidgets import QListView

    from app.ui.queue import QueueDelegate

    data = QueueModel.data
    monkeypatch.setattr(QueueModel, "data", lambda self, index, role=0: "0:05" if role ==
                        TimeTextRole else data(self, index, role))
    model = QueueModel(ThumbnailCache(tmp_path / "thumbs"))
    take = replace(_take(1, "sandbox"), progress=0.2)
    model.load([take, _take(2, "sandbox")])

    def view() -> QListView:
        v = QListView()
        qtbot.addWidget(v)
        v.setModel(model)
        v.setItemDelegate(QueueDelegate(v))
        v.resize(420, 240)
        v.show()
        return v

    def looks(v: QListView) -> Any:
        return v.viewport().grab().toImage()

    kept = view()
    first = looks(kept)
    assert kept.itemDelegate()._rows  # pictures kept
    model.upsert(replace(take, progress=0.8, history=[("running", 0.0)]))
    assert looks(kept) != first
    assert looks(kept) == looks(view())  # the new progress, not a stale picture
    QTest.mouseClick(kept.viewport(), Qt.MouseButton.LeftButton,
                     pos=kept.visualRect(model.index(model.row_of(take.id))).center())
    assert kept.currentIndex().data(JobRole).id == take.id
    fresh = view()
    fresh.selectionModel().select(kept.currentIndex(),
                                  fresh.selectionModel().SelectionFlag.ClearAndSelect)
    assert looks(kept) == looks(fresh)  # drawn selected
    model.upsert(replace(take, status="succeeded", progress=1.0,
                         history=[("running", 0.0), ("succeeded", 1.0)]))
    assert looks(kept) == looks(fresh)  # done
    assert len(kept.itemDelegate()._rows) <= QueueDelegate.CACHE_ROWS
