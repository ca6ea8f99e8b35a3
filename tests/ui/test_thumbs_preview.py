"""Thumbnails (off the GUI thread, cached on disk) and the preview player, for real."""

from __future__ import annotations

import threading

import mediafactory as mf
from PySide6.QtCore import QSize
from PySide6.QtMultimedia import QMediaPlayer

from app.ui.preview import COMPARE_MODES, PreviewWidget
from app.ui.thumbs import ThumbnailCache


def test_thumbnail_decoded_once_off_gui_thread_then_read_from_disk(qtbot, tmp_path):
    clip = mf.video(tmp_path / "a.mp4", 320, 180, seconds=1.0)
    cache_dir = tmp_path / "thumbs"
    seen_threads: list[str] = []
    import app.ui.thumbs as thumbs_mod

    real = thumbs_mod.poster_frame

    def spy(path, size):
        seen_threads.append(threading.current_thread().name)
        return real(path, size)

    thumbs_mod.poster_frame = spy
    try:
        cache = ThumbnailCache(cache_dir, QSize(96, 54))
        assert cache.get(str(clip)) is None  # never blocks: queued
        with qtbot.waitSignal(cache.thumbnail_ready, timeout=10_000) as sig:
            pass
        assert sig.args == [str(clip)]
        pix = cache.get(str(clip))
        assert pix is not None and pix.width() == 96 and pix.height() == 54
        assert cache.decoded == 1
        assert all(name != threading.main_thread().name for name in seen_threads)
        assert len(list(cache_dir.glob("*.png"))) == 1
        cache.close()

        again = ThumbnailCache(cache_dir, QSize(96, 54))
        assert again.get(str(clip)) is None
        qtbot.waitSignal(again.thumbnail_ready, timeout=10_000).wait()
        assert again.get(str(clip)) is not None
        assert again.decoded == 0  # read back from the disk cache, not decoded again
        again.close()
    finally:
        thumbs_mod.poster_frame = real


def test_thumbnail_of_broken_file_fails_quietly(qtbot, tmp_path):
    bad = mf.not_media(tmp_path / "x.mp4")
    cache = ThumbnailCache(tmp_path / "t")
    assert cache.get(str(bad)) is None
    cache.wait_idle()
    qtbot.wait(50)
    assert cache.get(str(bad)) is None
    assert str(bad) not in cache._pending
    cache.close()


def test_preview_plays_steps_loops_and_compares(qtbot, tmp_path):
    src = mf.video(tmp_path / "src.mp4", 320, 240, seconds=2.0)
    res = mf.video(tmp_path / "res.mp4", 640, 480, seconds=2.0, audio=True)
    w = PreviewWidget()
    qtbot.addWidget(w)
    w.resize(640, 420)
    w.show()
    w.load(str(res), str(src), title="Upscale", mock=True)
    assert w.mock_badge.isVisibleTo(w)
    assert w.mode.isEnabled()
    qtbot.waitUntil(lambda: w.player.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                       QMediaPlayer.MediaStatus.BufferedMedia),
                    timeout=10_000)
    assert w.player.duration() > 1500
    assert w.slider.maximum() == w.player.duration()

    w.set_rate(4)
    w.play()
    qtbot.waitUntil(lambda: w.player.position() > 300, timeout=10_000)
    w.toggle_play()
    qtbot.waitUntil(lambda: w.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState,
                    timeout=5000)

    w.seek(1000)
    qtbot.waitUntil(lambda: abs(w.player.position() - 1000) < 60, timeout=5000)
    w.step(1)
    qtbot.waitUntil(lambda: w.player.position() > 1000, timeout=5000)
    assert w.player.position() - 1000 <= 2 * w.frame_ms()

    w.set_loop(True)
    assert w.player.loops() == QMediaPlayer.Loops.Infinite
    w.mute_btn.setChecked(True)
    qtbot.waitUntil(w.audio.isMuted, timeout=5000)

    w.set_compare_mode(COMPARE_MODES[1])
    assert w.comparing
    w.seek(500)
    qtbot.waitUntil(lambda: abs(w.source_player.position() - 500) < 60, timeout=5000)
    w.play()
    qtbot.waitUntil(w.compare.has_frames, timeout=10_000)
    w.set_compare_mode(COMPARE_MODES[2])
    assert w.compare.mode == "Wipe"
    w.pause()
    tile = w.grab()
    assert not tile.isNull()
    w.set_compare_mode(COMPARE_MODES[0])
    assert not w.comparing
    w.unload()


def test_preview_without_video_source_offers_no_compare(qtbot, tmp_path):
    res = mf.video(tmp_path / "res.mp4", seconds=1.0)
    img = mf.image(tmp_path / "start.png", 400, 300)
    w = PreviewWidget()
    qtbot.addWidget(w)
    w.load(str(res), str(img))
    assert not w.mode.isEnabled()
    assert not w.comparing
    w.show_message("Rendering 40%")
    assert w.message.text() == "Rendering 40%"
    assert not w.play_btn.isEnabled()


def test_play_asked_before_the_media_loaded_still_plays(qtbot, tmp_path):
    """Loading pauses on frame one, unless play was asked for meanwhile."""
    src = mf.video(tmp_path / "src.mp4", seconds=2.0)
    res = mf.video(tmp_path / "res.mp4", seconds=2.0)
    w = PreviewWidget()
    qtbot.addWidget(w)
    w.show()
    w.load(str(res), str(src))
    w.set_compare_mode(COMPARE_MODES[2])
    w.play()
    qtbot.waitUntil(lambda: w.player.position() > 300, timeout=10_000)
    assert w.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
    qtbot.waitUntil(w.compare.has_frames, timeout=10_000)
    w.unload()
