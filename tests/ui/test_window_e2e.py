"""The real window against the real sandbox: render a take, watch it, play it, find it again."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.ui.queue import CreditsTextRole, StatusTextRole
from app.ui.window import MainWindow

from .helpers import drop_files, open_studio, until

PROMPT = "@Element1 waves at the camera"


def _row_texts(window: MainWindow, row: int = 0) -> tuple[str, str]:
    idx = window.queue_model.index(row)
    return idx.data(StatusTextRole), idx.data(CreditsTextRole)


def test_animate_pro_render_watch_play_restart_history(aloop, qtbot, tmp_path, media):
    data, cfg = tmp_path / "data", tmp_path / "config"
    studio = open_studio(data, render_seconds=1.5)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(cfg))
        w.show()
        await w.start()
        seen: list[str] = []
        w.queue_model.dataChanged.connect(
            lambda top, *_: seen.append(w.queue_model.job_at(top.row()).status))
        w.queue_model.rowsInserted.connect(
            lambda _p, first, _l: seen.append(w.queue_model.job_at(first).status))

        # choose Animate, then the pro tier
        w.nav.setCurrentItem(w.nav.item_for("animate"))
        assert w.tier.isVisible()
        w.tier.buttons["pro"].click()
        form = w.form
        assert form.model_id == "kling_v3_pro_i2v"
        assert "kling_v3_pro_i2v" in w.model_label.text()
        assert not w.render_btn.isEnabled()  # nothing filled in yet

        # drop a start image, add an element, write a prompt that mentions it
        assert drop_files(form.editor("start_image_url").drop_zone, media.start)
        elements = form.editor("elements")
        elements.add_images.click()
        card = elements.cards[0]
        assert drop_files(card.fields.editors["frontal_image_url"].drop_zone, media.face)
        assert drop_files(card.fields.editors["reference_image_urls"].drop_zone, media.side)
        prompt = form.editor("prompt").edit
        prompt.setFocus()
        QTest.keyClicks(prompt, PROMPT)
        await until(form.is_submittable, what="a submittable form")

        # the estimate: 5 s × 33.6 cr/s with audio on
        est = form.estimate()
        assert (est.min, est.max) == (168, 168)
        assert w.render_btn.isEnabled() and "168 cr" in w.render_btn.text()
        before = await studio.balance()

        # Ctrl+Enter renders once; pressing again while it is sent does nothing
        QTest.keyClick(prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert not w.render_btn.isEnabled()
        QTest.keyClick(prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert w.render() is None
        await until(lambda: w.queue_model.rowCount() == 1 and
                    w.queue_model.job_at(0).status == "succeeded" and
                    w.queue_model.job_at(0).result_path, timeout=20, what="the take to finish")
        assert w.queue_model.rowCount() == 1
        assert len(studio.store.query()) == 1  # one click, one take
        job = w.queue_model.job_at(0)
        order = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
        assert [s for s in order if s in ("queued", "running", "succeeded")] == \
            ["queued", "running", "succeeded"]
        status, credits = _row_texts(w)
        assert status == "Done" and credits == "168 cr"
        assert job.payload["prompt"] == PROMPT
        assert await studio.balance() == before - 168

        # the preview plays the result (selected on submit)
        await until(lambda: w.preview.result_path == job.result_path, what="the preview")
        player = w.preview.player
        await until(lambda: player.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                     QMediaPlayer.MediaStatus.BufferedMedia),
                    what="the media to load")
        w.preview.set_rate(4)
        w.preview.play_btn.click()
        await until(lambda: player.position() > 800, what="playback to advance")
        w.preview.play_btn.click()
        await until(lambda: player.playbackState() != QMediaPlayer.PlaybackState.PlayingState,
                    what="pause")
        w.resize(1500, 900)
        w.main_split.setSizes([200, 700, 600])
        split = w.main_split.sizes()
        w.close()
        await studio.close(keep_connection=True)

        # restart: a new window on the same data and settings
        from app.client.studio import Studio

        again = Studio.from_connection(studio.connection, data)
        w2 = MainWindow(again, UiSettings(cfg))
        w2.show()
        await w2.start()
        assert (w2.width(), w2.height()) == (1500, 900)  # the layout came back
        assert w2.main_split.sizes() == split
        assert w2.form.model_id == "kling_v3_pro_i2v"  # same task and tier as before
        assert w2.form.payload()["prompt"] == PROMPT  # last-used values restored
        assert w2.queue_model.rowCount() == 1
        w2.nav.setCurrentItem(w2.nav.item_for("history"))
        hist = w2.history
        hist.search.setText("waves")
        hist.apply_filter()
        await until(lambda: w2.history_model.rowCount() == 1 and not w2.history_model.loading,
                    what="the take in history")
        assert hist.select(job.id)
        params = hist.details.param_dict()
        assert params["prompt"] == PROMPT
        assert params["start_image_url"] == str(media.start)
        assert params["elements.1.frontal_image_url"] == str(media.face)
        assert params["duration"] == "5"
        assert "168 cr" in hist.details.meta.text()
        await until(lambda: w2.preview.result_path == job.result_path, what="history preview")
        w2.close()
        await again.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_failed_and_canceled_jobs_say_why_and_refund(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=1.0)
    server = studio.server

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        start = await studio.balance()
        w.choose_task("create")
        form = w.form
        assert form.model_id == "seedance_r2v"
        form.set_payload({**form.payload(), "prompt": "a paper boat in the rain",
                          "duration": 4, "resolution": "480p"})
        await until(form.is_submittable, what="a submittable form")
        assert w.render_btn.text() == "Render · 108 cr"

        # 1. the sandbox fails the job: the row says why, the credits come back
        server.set_faults(fail_jobs=1, fail_message="The model refused this prompt.")
        await w.render()
        await until(lambda: w.queue_model.job_at(0).status == "failed", timeout=15,
                    what="the failure")
        status, credits = _row_texts(w)
        assert status == "Failed: The model refused this prompt."
        assert credits == "refunded"
        w.queue.select(w.queue_model.job_at(0).id)
        assert w.queue.act_copy_error.isEnabled() and w.queue.act_retry.isEnabled()
        assert not w.queue.act_cancel.isEnabled()
        w.queue.act_copy_error.trigger()
        from PySide6.QtGui import QGuiApplication

        assert "The model refused this prompt." in QGuiApplication.clipboard().text()
        await until(lambda: w.balance_label.text() == f"Credits: {start:,}",
                    what="the refund in the balance")
        assert await studio.balance() == start
        assert "refused" in w.preview.message.text()

        # 2. a stuck job is canceled from the queue: charged while it runs, refunded after
        server.set_faults(stuck_jobs=1)
        await w.render()
        stuck = w.queue_model.job_at(0)
        await until(lambda: w.queue_model.job(stuck.id).status == "running", what="running")
        assert await studio.balance() == start - 108
        assert _row_texts(w)[1] == "108 cr"
        w.queue.select(stuck.id)
        assert w.queue.act_cancel.isEnabled()
        w.queue.act_cancel.trigger()
        await until(lambda: w.queue_model.job(stuck.id).status == "canceled", what="cancel")
        status, credits = _row_texts(w, w.queue_model.row_of(stuck.id))
        assert status == "Canceled" and credits == "refunded"
        assert await studio.balance() == start

        # 3. retry the failed one: a new take with the same parameters, which now succeeds
        failed = next(w.queue_model.job_at(i) for i in range(w.queue_model.rowCount())
                      if w.queue_model.job_at(i).status == "failed")
        w.queue.select(failed.id)
        w.queue.act_retry.trigger()
        await until(lambda: w.queue_model.rowCount() == 3, what="the retried take")
        new = w.queue_model.job_at(0)
        assert new.parent_id == failed.id and new.payload["prompt"] == failed.payload["prompt"]
        await until(lambda: w.queue_model.job(new.id).result_path, timeout=15, what="retry done")
        assert await studio.balance() == start - 108

        # reveal the file and copy the job id of the finished take
        revealed: list[str] = []
        w.queue.reveal = revealed.append
        w.queue.select(new.id)
        assert w.queue.act_reveal.isEnabled() and not w.queue.act_copy_error.isEnabled()
        w.queue.act_reveal.trigger()
        done = w.queue_model.job(new.id)
        assert revealed == [done.result_path]
        w.queue.act_copy_id.trigger()
        assert QGuiApplication.clipboard().text() == done.remote_id

        # hide finished: every row here is finished
        w.queue.hide_finished.setChecked(True)
        assert w.queue_model.rowCount() == 0
        w.queue.hide_finished.setChecked(False)
        assert w.queue_model.rowCount() == 3
        w.close()
        await studio.close()

    aloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_mock_renders_are_free_and_badged(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.5)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        start = await studio.balance()
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), "prompt": "a free placeholder"})
        w.mock_action.trigger()
        assert w.mock_badge.isVisibleTo(w) and "MOCK" in w.windowTitle()
        await until(w.form.is_submittable)
        assert w.render_btn.text() == "Render mock (free)"
        await w.render()
        await until(lambda: w.queue_model.job_at(0).result_path, timeout=15, what="mock take")
        job = w.queue_model.job_at(0)
        assert job.mock and job.payload["mock"] is True
        assert _row_texts(w)[1] == "MOCK · free"
        assert w.queue_model.index(0).data().startswith("MOCK")
        await until(lambda: w.preview.result_path == job.result_path)
        assert w.preview.mock_badge.isVisibleTo(w.preview)
        assert await studio.balance() == start
        w.close()
        await studio.close()
        assert UiSettings(tmp_path / "cfg").get("mock") is True

    aloop.run_until_complete(asyncio.wait_for(scenario(), 40))
