"""The preview's media objects are made with the first result it loads, not with the window: a
window that has started and shown has no player, audio output, video widget or video sink
(the first of them loads Qt's multimedia backend); the transport's keys before then do nothing
and make none; the first take shown still opens on its first frame, and loop and speed chosen
before the players existed are theirs once they do."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoSink
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.ui.preview import PreviewWidget
from app.ui.window import MainWindow

from .helpers import open_studio, until

MEDIA_TYPES = (QMediaPlayer, QAudioOutput, QVideoWidget, QVideoSink)


def media_objects(widget) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t.__name__: len(widget.findChildren(t)) for t in MEDIA_TYPES
            if widget.findChildren(t)}


def test_no_player_until_a_take_is_shown_then_its_first_frame(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 860)
        w.show()
        await w.start()
        await until(lambda: w.balance_label.text()[-1:].isdigit(), what="the balance (idle)")
        assert media_objects(w) == {}, media_objects(w)
        p = w.preview
        assert not p.has_media()
        # the transport's keys and the menu's play with nothing shown: nothing made
        p.setFocus()
        for key in (Qt.Key.Key_Space, Qt.Key.Key_Period, Qt.Key.Key_Comma, Qt.Key.Key_1,
                    Qt.Key.Key_0):
            QTest.keyClick(p, key)
        p.toggle_play()
        p.step(1)
        p.seek(500)
        assert media_objects(w) == {} and p.current_image().isNull()

        # a take rendered and shown: the players exist now, its first frame is on screen
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), "duration": 4, "resolution": "480p",
                            "prompt": "a lighthouse at dusk", "mock": True})
        await until(w.form.is_submittable, what="a submittable form")
        await w.render()
        job_id = w.queue_model.job_at(0).id
        await until(lambda: w.queue_model.job(job_id).result_path, timeout=30,
                    what="the mock take downloaded")
        w.queue.select(job_id)
        await until(lambda: p.result_path is not None, what="the take in the preview")
        assert p.has_media() and len(w.findChildren(QMediaPlayer)) == 2  # result and source
        assert p.stack.currentWidget() is p.video
        await until(lambda: not p.current_image().isNull(), what="its first frame")
        assert p.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
        assert p.player.position() < 2 * p.frame_ms()
        QTest.mouseClick(p.play_btn, Qt.MouseButton.LeftButton)
        await until(lambda: p.player.position() > 300, what="the take playing")
        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())


def test_choices_made_before_the_players_exist_are_theirs(qtbot, tmp_path):
    import mediafactory as mf

    clip = mf.video(tmp_path / "c.mp4", 320, 180, seconds=1.0)
    w = PreviewWidget()
    qtbot.addWidget(w)
    w.show()
    w.set_loop(True)
    w.set_rate(1.5)
    assert not w.mute_btn.isEnabled()  # nothing to mute yet
    assert not w.has_media() and media_objects(w) == {}
    w.load(str(clip))
    assert w.has_media()
    assert w.loop_btn.isChecked()
    for player in (w.player, w.source_player):
        assert player.loops() == QMediaPlayer.Loops.Infinite
        assert abs(player.playbackRate() - 1.5) < 1e-9
    assert w.player.audioOutput() is w.audio and not w.audio.isMuted()
    qtbot.waitUntil(lambda: not w.current_image().isNull(), timeout=10_000)
    QTest.mouseClick(w.mute_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.audio.isMuted, timeout=5_000)
    w.unload()
