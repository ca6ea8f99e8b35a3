"""The real window on a fal profile pointed at the fake fal queue (tests/falqueue.py): the
fal form (from fal's shipped schema) under More models, filled with real input, the unknown
price confirmed, one POST to the queue, the result downloaded at once and played; a mock on
the same profile is a local placeholder (no fal call), badged and free. The same steps as
tests/ui/test_window_e2e.py renders against the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import mediafactory as mf
from falqueue import FalQueue
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest

from app.client.connection import connect
from app.client.profiles import KeyStorage, Profile, Profiles
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui.nav import more_key
from app.ui.queue import CreditsTextRole, StatusTextRole
from app.ui.window import MainWindow

from .helpers import drop_files, fast_poll, until

FAL_KEY = "fal-key-WINDOW-77aa:99bb"
MODEL = "fal_kling_v3_pro_i2v"
ENDPOINT = "fal-ai/kling-video/v3/pro/image-to-video"
PROMPT = "a slow pan over the harbour"


def _click_row(w: MainWindow, key: str) -> None:
    item = w.nav.item_for(key)
    assert item is not None, key
    w.nav.scrollToItem(item)
    rect = w.nav.visualItemRect(item)
    QTest.mouseClick(w.nav.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0),
                     rect.center())


def test_a_fal_profile_renders_in_the_window_through_the_fake_queue(aloop, qtbot, tmp_path,
                                                                    media, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    result = mf.video(tmp_path / "result.mp4", 320, 240, 1.5, 12)
    fq = FalQueue(FAL_KEY, result, queue_s=0.3, run_s=0.4)
    fq.start()
    data = tmp_path / "data"
    profiles = Profiles(data / "profiles.json")
    profile = profiles.add(Profile("Fal", "fal", fq.url), FAL_KEY, KeyStorage.FILE)
    profiles.set_active(profile.name)
    studio = Studio.from_connection(connect(profile), data, poll=fast_poll(),
                                    work_dir=tmp_path / "work")

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 900)
        w.show()
        await w.start()
        await until(lambda: w.nav.item_for(more_key(MODEL)) is not None,
                    what="the fal form under More models")
        assert await studio.balance() == 1234  # fal's $12.34, in cents

        # the curated task gives way to its fal form (app/ui/fal.py): fal's own inputs
        from app.ui.fal import FalExtras

        assert isinstance(w.fal, FalExtras)
        _click_row(w, "animate")
        w.tier.buttons["pro"].click()
        await until(lambda: w.form is not None and w.form.model_id == MODEL,
                    what="the fal form instead of the catalog's")
        _click_row(w, more_key(MODEL))
        await until(lambda: w.form is not None and w.form.model_id == MODEL,
                    what="the fal form")
        form = w.form
        assert list(form.fields)[:3] == ["prompt", "multi_prompt", "start_image_url"]
        assert "shot_type" in form.fields  # fal's own inputs, not the reference's
        assert not w.render_btn.isEnabled()
        assert drop_files(form.editor("start_image_url").drop_zone, media.start)
        prompt = form.editor("prompt").edit
        prompt.setFocus()
        QTest.keyClicks(prompt, PROMPT)
        await until(form.is_submittable, what="a submittable form")
        await until(w.render_btn.isEnabled, what="Render on")
        assert w.render_btn.text() == "Render · price unknown"

        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        await until(lambda: w.confirm_dialog is not None, what="the confirm dialog")
        assert w.confirm_dialog.render_button.text() == "Render at an unknown price"
        QTest.mouseClick(w.confirm_dialog.render_button, Qt.MouseButton.LeftButton)
        seen: list[str] = []
        w.queue_model.dataChanged.connect(
            lambda top, *_: seen.append(w.queue_model.job_at(top.row()).status))
        await until(lambda: w.queue_model.rowCount() == 1 and
                    w.queue_model.job_at(0).status == "succeeded" and
                    w.queue_model.job_at(0).result_path, timeout=30,
                    what="the fal take to finish")
        job = w.queue_model.job_at(0)
        assert job.model_id == MODEL and job.profile == "Fal" and not job.mock
        assert [h[0] for h in job.history] == \
            ["pending", "sending", "queued", "running", "succeeded"]
        assert Path(job.result_path).read_bytes() == result.read_bytes()  # noqa: ASYNC240
        assert len(fq.seen.posts) == 1 and fq.seen.posts[0].endpoint == ENDPOINT
        assert fq.seen.posts[0].body["prompt"] == PROMPT
        assert fq.seen.posts[0].body["start_image_url"].startswith(fq.cdn_url)
        assert set(fq.seen.status_logs) == {"0"}
        assert fq.seen.file_auth == [None]  # the key never went to the result's host
        idx = w.queue_model.index(0)
        assert idx.data(StatusTextRole) == "Done"

        # the preview plays the downloaded result
        await until(lambda: w.preview.result_path == job.result_path, what="the preview")
        player = w.preview.player
        await until(lambda: player.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                     QMediaPlayer.MediaStatus.BufferedMedia),
                    what="the media to load")

        # Mock on the fal profile: a local placeholder, no POST, badged and free
        w.set_mock(True)
        assert w.mock_badge.isVisible()
        await until(w.render_btn.isEnabled, what="Render (mock) on")
        QTest.mouseClick(w.render_btn, Qt.MouseButton.LeftButton)
        def rows() -> list[tuple[str, bool, str | None, str | None]]:
            return [(j.status, j.mock, j.result_path, j.error_message) for j in
                    (w.queue_model.job_at(i) for i in range(w.queue_model.rowCount()))]

        try:
            await until(lambda: len(rows()) == 2 and all(r[0] == "succeeded" and r[2]
                                                         for r in rows()),
                        timeout=30, what="the mock take")
        except AssertionError as e:  # what the queue shows against what the store holds
            rec = [await studio.read(studio.store.get, j.id) for j in
                   (w.queue_model.job_at(i) for i in range(w.queue_model.rowCount()))]
            raise AssertionError(f"{e}: queue {rows()}; store "
                                 f"{[(r.status, r.result_path) for r in rec]}") from None
        mock = next(w.queue_model.job_at(i) for i in range(2) if w.queue_model.job_at(i).mock)
        assert mock.credits_charged == 0 and Path(mock.result_path).stat().st_size > 1000  # noqa: ASYNC240
        row = next(i for i in range(2) if w.queue_model.job_at(i).mock)
        assert w.queue_model.index(row).data(CreditsTextRole) == "MOCK · free"
        assert len(fq.seen.posts) == 1  # fal was not called for the mock
        w.close()
        await studio.close()

    try:
        aloop.run_until_complete(asyncio.wait_for(scenario(), 90))
    finally:
        fq.stop()


def test_the_profile_editor_adds_a_fal_profile_tested_against_the_fake(aloop, qtbot, tmp_path,
                                                                       media):
    from .test_profile_editor import click, opened, settled, type_in, widget_texts

    result = mf.video(tmp_path / "result.mp4", 320, 240, 0.5, 12)
    profiles = Profiles(tmp_path / "data" / "profiles.json")
    with FalQueue(FAL_KEY, result) as fq:
        async def scenario() -> None:
            ed = await opened(profiles)
            qtbot.addWidget(ed)
            assert ed.kind_box.isVisible() and ed.kind == "api"
            ed.kind_box.setFocus()
            QTest.keyClick(ed.kind_box, Qt.Key.Key_Down)  # the keyboard chooses fal
            assert ed.kind == "fal"
            assert "fal's own hosts" in ed.url_edit.placeholderText()
            assert "fal key" in ed.key_edit.placeholderText()
            type_in(ed.name_edit, "My fal")
            type_in(ed.url_edit, fq.url)  # the fake plays every fal host
            type_in(ed.key_edit, "fal-wrong-key")
            click(ed.file_radio)
            click(ed.file_ack)
            click(ed.save_btn)
            await settled(ed)
            assert "fal refused the key (HTTP 401)" in ed.key_msg.text()
            assert ed.result is None and profiles.find("My fal") is None
            type_in(ed.key_edit, FAL_KEY)
            click(ed.save_btn)
            await until(lambda: ed.result is not None, what="the save")
            saved = ed.result
            assert "Connected to fal: balance 12.34 USD" in ed.result_label.text()
            assert saved.kind == "fal" and saved.base_url == fq.url
            assert profiles.get("My fal").kind == "fal"
            assert FAL_KEY not in " ".join(widget_texts(ed))

        aloop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert Profiles(tmp_path / "data" / "profiles.json").get("My fal").is_fal
