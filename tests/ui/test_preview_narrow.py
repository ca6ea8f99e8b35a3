"""The preview's transport in the real window: the scrub bar keeps a usable width at the
window's minimum size, and a take without a result (queued) shows no time of the take before."""

from __future__ import annotations

import mediafactory as mf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.ui.preview import NO_TIME, SCRUB_MIN_W
from app.ui.window import MainWindow

from .helpers import open_studio, until

LOADED = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia,
          QMediaPlayer.MediaStatus.EndOfMedia)


def test_scrub_bar_keeps_its_width_at_the_minimum_window_size(aloop, qtbot, tmp_path):
    clip = mf.video(tmp_path / "take.mp4", 320, 240, seconds=4.0)
    studio = open_studio(tmp_path / "data")

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        w.resize(1, 1)  # clamped to the window's minimum size
        await until(lambda: w.size() == w.minimumSize(), what="the minimum size")
        p = w.preview
        p.load(str(clip), title="A take")
        await until(lambda: p.player.mediaStatus() in LOADED and p.player.duration() > 3500,
                    what="the clip to load")
        await until(lambda: p.slider.maximum() == p.player.duration(), what="the range")
        bar = p.slider
        handle = bar.style().pixelMetric(bar.style().PixelMetric.PM_SliderLength, None, bar)
        assert bar.width() >= SCRUB_MIN_W, bar.width()
        assert bar.width() >= 4 * handle  # a bar to scrub along, not just its handle
        for b in (p.play_btn, p.back_btn, p.fwd_btn, p.loop_btn, p.mute_btn):
            assert b.text() == "" and not b.icon().isNull() and b.accessibleName()
            assert b.isVisibleTo(w) and b.width() > 0
        # a real click three quarters along the bar seeks there (not a 10 ms page step)
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(bar.width() * 3 // 4, bar.height() // 2))
        dur = p.player.duration()
        await until(lambda: abs(p.player.position() - 0.75 * dur) < 0.15 * dur,
                    what="the click to seek three quarters in")
        QTest.keyClick(bar, Qt.Key.Key_Home)  # keys on the focused bar seek too
        await until(lambda: p.player.position() < 0.1 * dur, what="Home to seek to the start")
        w.close()

    try:
        aloop.run_until_complete(scenario())
    finally:
        aloop.run_until_complete(studio.close())


def test_a_queued_take_clears_the_time_and_the_scrub_bar(aloop, qtbot, tmp_path):
    clip = mf.video(tmp_path / "before.mp4", 320, 240, seconds=3.0)
    studio = open_studio(tmp_path / "data")

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        p = w.preview
        p.load(str(clip), title="The take before")
        await until(lambda: p.player.mediaStatus() in LOADED and p.player.duration() > 2500,
                    what="the clip to load")
        QTest.mouseClick(p.play_btn, Qt.MouseButton.LeftButton)
        await until(lambda: p.player.position() > 200, what="playback")
        await until(lambda: p.time.text().endswith("0:03"), what="the duration shown")
        assert p.slider.maximum() > 2500 and p.slider.value() > 0

        p.show_message("Queued: waiting for the service", title="The new take")
        assert p.time.text() == NO_TIME
        assert (p.slider.minimum(), p.slider.maximum(), p.slider.value()) == (0, 0, 0)
        assert not p.slider.isEnabled()
        # the player's late word on the old clip (stop, empty source) does not bring it back
        await until(lambda: p.player.mediaStatus() == QMediaPlayer.MediaStatus.NoMedia,
                    what="the player to let the old clip go")
        for _ in range(10):
            await until(lambda: True)
        assert p.time.text() == NO_TIME
        assert p.slider.maximum() == 0
        assert p.message.text().startswith("Queued")
        # Space on the preview does nothing to a take that has no result
        QTest.keyClick(p, Qt.Key.Key_Space)
        assert p.time.text() == NO_TIME
        w.close()

    try:
        aloop.run_until_complete(scenario())
    finally:
        aloop.run_until_complete(studio.close())
