"""The history model and page against a real JobStore (SQLite) and real files."""

from __future__ import annotations

import time

import mediafactory as mf
import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QMessageBox

from app.client.store import JobRecord, JobStore
from app.ui.history import HistoryFilter, HistoryModel, fetch_page
from app.ui.history_panel import HistoryPanel
from app.ui.thumbs import ThumbnailCache

MODEL_CYCLE = ["seedance_r2v", "kling_v3_std_i2v", "kling_v3_pro_i2v", "wan_27_video_edit"]


def _fill(store: JobStore, n: int, result: str | None = None) -> list[JobRecord]:
    t0 = time.time() - n
    recs = []
    for i in range(n):
        model = MODEL_CYCLE[i % len(MODEL_CYCLE)]
        rec = JobRecord.new(model, {"prompt": f"take number {i} {'cat' if i % 5 == 0 else 'dog'}",
                                    "out": f"out/{i}.mp4"},
                            created_at=t0 + i)
        rec.status = "failed" if i % 7 == 0 else "succeeded"
        rec.started_at, rec.finished_at = t0 + i, t0 + i + 3
        rec.result_path = result
        rec.favourite = i % 10 == 0
        recs.append(store.add(rec))
    return recs


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "jobs.sqlite3")
    yield s
    s.close()


@pytest.fixture
def thumbs(tmp_path):
    t = ThumbnailCache(tmp_path / "thumbs")
    yield t
    t.close()


def _wait_loaded(qtbot, model, n):
    qtbot.waitUntil(lambda: model.rowCount() >= n and not model.loading, timeout=5000)


def test_pages_lazily_newest_first_and_merges_task_sources(qtbot, store, thumbs):
    _fill(store, 300)
    model = HistoryModel(store, thumbs, page_size=50)
    try:
        model.reload()
        _wait_loaded(qtbot, model, 50)
        assert model.rowCount() == 50  # only one page, not 300
        assert model.canFetchMore(QModelIndex())
        assert model.job_at(0).payload["prompt"].startswith("take number 299")
        qtbot.waitUntil(lambda: model.total == 300, timeout=5000)
        while model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
            qtbot.waitUntil(lambda: not model.loading, timeout=5000)
        assert model.rowCount() == 300
        ids = [model.job_at(i).id for i in range(300)]
        assert len(set(ids)) == 300

        # Animate = two models (standard + pro) merged by date across pages
        model.set_filter(HistoryFilter(task="animate"))
        while model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
            qtbot.waitUntil(lambda: not model.loading, timeout=5000)
        rows = [model.job_at(i) for i in range(model.rowCount())]
        assert len(rows) == 150 == model.total
        assert {r.model_id for r in rows} == {"kling_v3_std_i2v", "kling_v3_pro_i2v"}
        created = [r.created_at for r in rows]
        assert created == sorted(created, reverse=True)
    finally:
        model.close()


def test_filters_search_status_favourite(qtbot, store, thumbs):
    _fill(store, 70)
    model = HistoryModel(store, thumbs)
    try:
        model.set_filter(HistoryFilter(search="cat"))
        qtbot.waitUntil(lambda: model.total == 14 and model.rowCount() == 14, timeout=5000)
        assert all("cat" in model.job_at(i).payload["prompt"] for i in range(14))
        model.set_filter(HistoryFilter(status=("failed",)))
        qtbot.waitUntil(lambda: model.rowCount() == 10, timeout=5000)
        model.set_filter(HistoryFilter(favourite=True, model_id="seedance_r2v"))
        qtbot.waitUntil(lambda: model.total == 4, timeout=5000)
        assert {model.job_at(i).model_id for i in range(model.rowCount())} == {"seedance_r2v"}
    finally:
        model.close()


def test_fetch_page_offsets_are_exact():
    class Fake:
        def __init__(self, items):
            self.items = items

        def query(self, model_id=None, limit=100, offset=0, **_):
            got = [r for r in self.items if model_id in (None, r.model_id)]
            return got[offset: offset + limit]

    items = [JobRecord.new(MODEL_CYCLE[1 + (i % 2)], {}, created_at=1000 - i) for i in range(7)]
    flt = HistoryFilter(task="animate")
    page, offs, done = fetch_page(Fake(items), flt, {}, limit=3)
    assert [r.created_at for r in page] == [1000, 999, 998]
    assert not done
    page2, offs2, _ = fetch_page(Fake(items), flt, offs, limit=3)
    assert [r.created_at for r in page2] == [997, 996, 995]
    page3, _, done3 = fetch_page(Fake(items), flt, offs2, limit=3)
    assert [r.created_at for r in page3] == [994]
    assert done3


def test_new_take_appears_on_top_and_updates_in_place(qtbot, store, thumbs):
    _fill(store, 5)
    model = HistoryModel(store, thumbs)
    try:
        model.reload()
        _wait_loaded(qtbot, model, 5)
        rec = store.add(JobRecord.new("seedance_r2v", {"prompt": "brand new", "out": "x.mp4"}))
        model.upsert(rec)
        assert model.rowCount() == 6 and model.job_at(0).id == rec.id
        rec = store.update(rec.id, status="running", progress=0.5)
        model.upsert(rec)
        assert model.rowCount() == 6 and model.job_at(0).status == "running"
        model.set_filter(HistoryFilter(status=("succeeded",)))
        qtbot.waitUntil(lambda: not model.loading and model.total > 0, timeout=5000)
        n = model.rowCount()
        model.upsert(rec)  # running: not shown under "Done"
        assert model.rowCount() == n
    finally:
        model.close()


def test_panel_details_favourite_compare_delete(qtbot, store, thumbs, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    clip = mf.video(tmp_path / "result.mp4", seconds=1.0)
    recs = _fill(store, 3, result=None)
    store.update(recs[2].id, result_path=str(clip))
    model = HistoryModel(store, thumbs)
    panel = HistoryPanel(model)
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    try:
        model.reload()
        _wait_loaded(qtbot, model, 3)
        newest = model.job_at(0)
        assert newest.id == recs[2].id
        assert panel.select(newest.id)
        params = panel.details.param_dict()
        assert params["prompt"] == newest.payload["prompt"]
        assert params["out"] == "out/2.mp4"
        shown = panel.details.title_dict()  # the form's words, the API names secondary
        assert shown["Prompt"] == newest.payload["prompt"] and shown["File"] == "out/2.mp4"
        assert "prompt" not in shown and "out" not in shown
        assert "API name: prompt" in panel.details.params.item(0, 0).toolTip() or any(
            "API name: prompt" in panel.details.params.item(i, 0).toolTip()
            for i in range(panel.details.params.rowCount()))
        assert "Model: " in panel.details.meta.text() and "(" in panel.details.meta.text()
        assert panel.details.play_btn.isEnabled()

        panel.details.fav_btn.setChecked(True)
        qtbot.waitUntil(lambda: store.get(newest.id).favourite, timeout=5000)
        assert model.job_at(0).favourite

        panel.details.compare_btn.setChecked(True)
        assert panel.select(model.job_at(1).id)
        dlg = panel.compare_dialog
        assert dlg is not None and dlg.isVisible()
        assert set(dlg.differing()) == {"model", "prompt", "out"}
        dlg.close()

        assert panel.select(newest.id)
        box = panel.ask_delete()
        box.checkBox().setChecked(True)
        box.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: not clip.exists(), timeout=5000)
        qtbot.waitUntil(lambda: store.query(limit=10) and len(store.query(limit=10)) == 2,
                        timeout=5000)
        assert store.get(newest.id) is not None and store.get(newest.id).deleted  # row kept
        assert model.rowCount() == 2
        trashed = list((tmp_path / "xdg" / "Trash" / "files").glob("result*.mp4"))
        assert trashed, "the file went to the trash, not gone for good"

        assert panel.select(model.job_at(0).id)
        box = panel.ask_delete()
        box.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: len(store.query(limit=10)) == 1, timeout=5000)
        assert store.get(recs[1].id) is None  # row gone too
    finally:
        model.close()


def test_date_filter_bounds():
    from app.ui.history import since_for

    now = time.mktime((2026, 3, 10, 15, 30, 0, 0, 0, -1))
    assert since_for("Today", now) == time.mktime((2026, 3, 10, 0, 0, 0, 0, 0, -1))
    assert since_for("Last 7 days", now) == now - 7 * 86400
    assert since_for("Any time", now) is None
    old = JobRecord.new("seedance_r2v", {"prompt": "x"}, created_at=now - 8 * 86400)
    assert not HistoryFilter(since=since_for("Last 7 days", now)).matches(old)
    assert HistoryFilter(since=since_for("Last 30 days", now)).matches(old)
