"""Restart safety, and taking a take from history back into the form."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox

from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui.queue import StatusTextRole
from app.ui.window import MainWindow

from .helpers import open_studio, until

SEEDANCE = {"prompt": "a slow pan across a foggy harbour", "duration": 4, "resolution": "480p"}


def test_closing_mid_render_then_reopening_resumes_and_downloads_once(aloop, qtbot, tmp_path):
    data, cfg = tmp_path / "data", tmp_path / "cfg"
    studio = open_studio(data, render_seconds=2.5)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(cfg))
        w.show()
        await w.start()
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), **SEEDANCE})
        await until(w.form.is_submittable)
        await w.render()
        job = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(job.id).status == "running", what="running")
        w.close()
        await studio.close(keep_connection=True)  # the app quits; the server keeps rendering

        again = Studio.from_connection(studio.connection, data, poll=studio.manager.poll)
        w2 = MainWindow(again, UiSettings(cfg))
        w2.show()
        await w2.start()
        row = w2.queue_model.row_of(job.id)
        assert row is not None
        assert w2.queue_model.index(row).data(StatusTextRole).startswith("Rendering")
        assert "Resumed 1 unfinished take" in w2.status.text()
        await until(lambda: w2.queue_model.job(job.id).result_path, timeout=15,
                    what="the resumed take downloaded")
        done = again.store.get(job.id)
        assert done.status == "succeeded"
        files = [p for p in again.download_dir.rglob("*") if p.is_file()]
        assert [str(p) for p in files] == [done.result_path]  # downloaded exactly once
        assert not any(p.name.endswith(".part") for p in files)
        await asyncio.sleep(0.5)  # nothing follows it any more
        assert [p for p in again.download_dir.rglob("*") if p.is_file()] == files
        w2.close()
        await again.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_open_in_form_asks_first_and_compare_highlights(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        manager = studio.manager  # it lives on the studio's core loop: run it there
        a = await studio.run(manager.submit("seedance_r2v", {**SEEDANCE, "out": "a.mp4"}))
        b = await studio.run(manager.submit(
            "seedance_r2v", {**SEEDANCE, "prompt": "a lighthouse at night", "duration": 6,
                             "out": "b.mp4"}))
        await studio.run(manager.wait(a.id))
        await studio.run(manager.wait(b.id))
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), "prompt": "my unsaved idea"})

        w.choose_task("history")
        await until(lambda: w.history_model.rowCount() == 2 and not w.history_model.loading)
        hist = w.history
        assert hist.select(a.id)
        hist.details.open_btn.click()
        box = w.confirm_box
        assert box is not None and box.isVisible()
        box.button(QMessageBox.StandardButton.Cancel).click()
        w.choose_task("create")
        assert w.form.payload()["prompt"] == "my unsaved idea"  # nothing lost

        w.choose_task("history")
        assert hist.select(a.id)
        hist.details.open_btn.click()
        w.confirm_box.button(QMessageBox.StandardButton.Yes).click()
        assert w.center.currentWidget() is w.create_page
        assert w.form.model_id == "seedance_r2v"
        assert w.form.payload()["prompt"] == SEEDANCE["prompt"]
        assert w.form.payload()["duration"] == 4

        w.choose_task("history")
        assert hist.select(a.id)
        hist.details.compare_btn.click()
        assert hist.select(b.id)
        dlg = hist.compare_dialog
        assert dlg is not None and dlg.isVisible()
        assert set(dlg.differing()) == {"prompt", "duration", "out"}
        row = next(i for i, r in enumerate(dlg.rows) if r[0] == "duration")
        assert dlg.table.item(row, 1).font().bold()
        same = next(i for i, r in enumerate(dlg.rows) if r[0] == "resolution")
        assert not dlg.table.item(same, 1).font().bold()
        dlg.close()

        # re-run from history: a new take of the same parameters
        hist.details.rerun_btn.click()
        await until(lambda: w.queue_model.rowCount() == 3, what="the re-run take")
        await until(lambda: w.history_model.rowCount() == 3, what="re-run in history")
        new = w.queue_model.job_at(0)
        assert new.parent_id == b.id and new.payload["prompt"] == b.payload["prompt"]
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_a_deleted_take_leaves_the_queue_and_the_preview(aloop, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), **SEEDANCE, "mock": True})
        await until(w.form.is_submittable)
        await w.render()
        job = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(job.id).result_path, what="the take")
        await until(lambda: w.preview.result_path, what="the preview")
        w.queue.select(job.id)
        assert w.queue.act_reveal.isEnabled()
        w.nav.choose("history")
        await until(lambda: w.history.select(job.id), what="the take in history")
        box = w.history.ask_delete()
        box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: w.queue_model.rowCount() == 0, what="the row to leave the queue")
        assert w.queue_model.job(job.id) is None
        assert not w.queue.act_reveal.isEnabled() and not w.queue.act_retry.isEnabled()
        assert w.preview.result_path is None  # it no longer plays a trashed file
        assert studio.store.get(job.id) is None
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))
